"""Combined pipelines of the comparison chapter: compress, then quantize.

The study's closing suggestion is to sparsify first and quantize afterwards. Quantizing a pruned
model naively wastes the codebook: half of a 50%-pruned filter is exact zeros, which then occupy
whole parts of the equal-frequency codebook, and a part that mixes zeros with small weights
turns the zeros into non-zeros. :func:`sparse_quantile_quantize` therefore quantizes only the
non-zero weights of each group (the study's groups: a convolution per output filter, any other
parameter as a whole) and stores where they are as a bitmask:

    bits = n (mask) + nnz * b (indices of the non-zeros) + 32 * parts (float32 code values)

with ``parts = ceil(nnz / ceil(nnz / 2^b))`` per group, exactly as the quantile method counts
them. A parameter for which the mask does not pay (dense, or nearly so) is quantized by the plain
quantile method. Zeros stay exact zeros.

:func:`quantize_variant` turns a saved model into the quantized variant the comparison table
records, with the size of the real bit-packed file (:mod:`tscompress.quantize.storage`).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .quantize import QuantizedModel, QuantizedTensor, named_quantizable, per_filter, quantile_tensor, save_quantized
from .quantize.core import DEQUANTIZERS
from .quantize.quantile import part_size, quantile_codebook

__all__ = ["sparse_quantile_tensor", "sparse_quantile_quantize", "quantize_variant", "SPARSE_METHOD"]

SPARSE_METHOD = "sparse_quantile"


def _parts(nnz: int, bits: int) -> int:
    return 0 if nnz == 0 else math.ceil(nnz / part_size(nnz, bits))


def sparse_bits(mask_rows: torch.Tensor, bits: int) -> int:
    """The accounting above for a ``[groups, n]`` boolean mask of non-zeros."""
    nnz = mask_rows.sum(dim=1).tolist()
    return int(mask_rows.numel() + sum(nnz) * bits + 32 * sum(_parts(int(k), bits) for k in nnz))


@torch.no_grad()
def sparse_quantile_tensor(w: torch.Tensor, bits: int, per_row: bool) -> QuantizedTensor:
    """Quantile-quantize the non-zeros of ``w`` per group; zeros are kept by a bitmask."""
    w = w.detach().float().cpu()
    rows = w.reshape(w.shape[0], -1) if per_row and w.dim() > 0 else w.reshape(1, -1)
    mask = rows != 0
    codes, books = [], []
    for r, m in zip(rows, mask):
        values = r[m]
        if values.numel():
            idx, cb = quantile_codebook(values, bits)
            codes.append(idx.reshape(-1))
            books.append(cb.reshape(-1))
    codes_t = torch.cat(codes) if codes else torch.zeros(0, dtype=torch.uint8)
    packed = torch.from_numpy(np.packbits(mask.reshape(-1).numpy().astype(np.uint8)))
    return QuantizedTensor(
        method=SPARSE_METHOD, bits=bits, shape=tuple(w.shape), codes=codes_t.reshape(1, -1),
        tables={"mask": packed, "codebook": torch.cat(books) if books else torch.zeros(0)},
        accounted_bits=sparse_bits(mask, bits), meta={"per_row": bool(per_row), "groups": int(rows.shape[0])})


def _dequantize_sparse(qt: QuantizedTensor) -> torch.Tensor:
    n_total = qt.numel
    groups = int(qt.meta["groups"])
    mask = torch.from_numpy(np.unpackbits(qt.tables["mask"].numpy())[:n_total].astype(bool)).reshape(groups, -1)
    out = torch.zeros(groups, n_total // groups)
    codes = qt.codes.reshape(-1).long()
    book = qt.tables["codebook"]
    c_at = b_at = 0
    for g in range(groups):
        nnz = int(mask[g].sum())
        if nnz == 0:
            continue
        parts = _parts(nnz, qt.bits)
        out[g, mask[g]] = book[b_at:b_at + parts][codes[c_at:c_at + nnz]]
        c_at += nnz
        b_at += parts
    return out


DEQUANTIZERS[SPARSE_METHOD] = _dequantize_sparse


def sparse_quantile_quantize(model: nn.Module, bits: int) -> QuantizedModel:
    """Quantize every parameter of ``model`` (a copy) with the quantile method, storing the zeros of
    sparse parameters by a bitmask (see the module docstring); per parameter, whichever of the two
    encodings is smaller by the accounting is kept."""
    model = _copy(model)
    for module in model.modules():  # pruning masks, if any, become plain weights
        for hook in list(getattr(module, "_forward_pre_hooks", {}).values()):
            if hasattr(hook, "_tensor_name"):
                torch.nn.utils.prune.remove(module, hook._tensor_name)
    qts = {}
    for name, module, _, p in named_quantizable(model):
        per_row = per_filter(module, p)
        dense = quantile_tensor(p.detach(), bits, per_row=per_row)
        sparse = sparse_quantile_tensor(p, bits, per_row=per_row) if bool((p == 0).any()) else None
        qts[name] = sparse if sparse is not None and sparse.accounted_bits < dense.accounted_bits else dense
    return QuantizedModel(model, qts, method="quantile", bits=bits)


def _copy(model: nn.Module) -> nn.Module:
    """``deepcopy`` that also copies modules pruned with ``torch.nn.utils.prune`` (their masked
    weight is a computed, non-leaf tensor, which ``deepcopy`` refuses)."""
    memo = {}
    for module in model.modules():
        for hook in getattr(module, "_forward_pre_hooks", {}).values():
            t = getattr(module, getattr(hook, "_tensor_name", ""), None)
            if isinstance(t, torch.Tensor) and not t.is_leaf:
                memo[id(t)] = t.detach().clone()
    return copy.deepcopy(model, memo)


def quantize_variant(model: nn.Module, bits: int, path: str | os.PathLike, sparse: bool = True) -> tuple[QuantizedModel, int]:
    """Quantize ``model`` to ``bits`` (sparse-aware when ``sparse``), save the bit-packed file to
    ``path``; returns the quantized model and the file's size in bytes."""
    qm = sparse_quantile_quantize(model, bits) if sparse else _plain(model, bits)
    saved = save_quantized(qm, Path(path))
    return qm, Path(saved).stat().st_size


def _plain(model: nn.Module, bits: int) -> QuantizedModel:
    from .quantize import quantile_quantize

    return quantile_quantize(model, bits)
