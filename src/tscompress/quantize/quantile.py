"""Quantile (equal-frequency) quantization — the study's post-training method.

For one group of ``n`` weights and ``b`` bits: sort the values; cut the sorted list into parts of
``s = ceil(n / 2^b)`` consecutive values (the last part may be shorter; so there are
``ceil(n / s) <= 2^b`` parts); when ``n <= 2^b`` every value is its own part. Each part's mean is
its code value, each weight is stored as the index of its part, and inference replaces each index
by that mean. Ties are split by position in a stable sort.

Grouping (the study's, for TimesNet): convolution weights per output filter, every other
parameter (linear matrices, 1-D biases and norms) as a whole.

Size accounting (reproduces the study's Table 5 exactly): ``b`` bits per weight plus
``min(2^b, n)`` float32 code values per group of ``n`` weights.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .core import DEQUANTIZERS, QuantizedModel, QuantizedTensor, named_quantizable, per_filter

__all__ = ["quantile_codebook", "dequantize", "quantile_quantize", "quantile_tensor", "part_size", "study_bits"]


def part_size(n: int, bits: int) -> int:
    """Values per part for a group of ``n``: ``ceil(n / 2^b)``, or 1 when ``n <= 2^b``."""
    return 1 if n <= 2**bits else math.ceil(n / 2**bits)


def _check_bits(bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
        raise ValueError(f"bits must be an integer from 1 to 8, got {bits!r}")


@torch.no_grad()
def quantile_codebook(w: torch.Tensor, bits: int, per_row: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Equal-frequency quantization of ``w`` (the study's quantile method).

    Sort each group's values; split the sorted values into parts of ``part_size(n, bits)``
    consecutive values (the last part may be shorter; a group of at most ``2^b`` values gets one
    part per value); a part's code value is the mean of its values, and each weight's index is the
    number of its part.

    Returns ``(indices, codebook)``: with ``per_row=False`` the whole tensor is one group,
    ``indices`` (uint8) has ``w``'s shape and ``codebook`` is 1-D (``P <= 2^b`` part means, in
    increasing order); with ``per_row=True`` every ``w[i]`` (flattened) is a group, ``indices`` has
    ``w``'s shape and ``codebook`` is ``[rows, P]``. Code values are computed in float64 and
    returned as float32.
    """
    _check_bits(bits)
    ### BEGIN SOLUTION
    w = w.detach()
    shape = w.shape
    rows = w.reshape(shape[0], -1) if per_row and w.dim() > 0 else w.reshape(1, -1)
    g, n = rows.shape
    if n == 0:
        raise ValueError("cannot quantize an empty tensor")
    s = part_size(n, bits)
    n_parts = math.ceil(n / s)
    vals, order = torch.sort(rows.double().cpu(), dim=1, stable=True)
    part = torch.arange(n) // s  # part of each sorted position
    idx = torch.empty((g, n), dtype=torch.uint8)
    idx.scatter_(1, order, part.to(torch.uint8).expand(g, n).contiguous())
    sums = torch.zeros(g, n_parts, dtype=torch.float64).index_add_(1, part, vals)
    counts = torch.bincount(part, minlength=n_parts).double()
    codebook = (sums / counts).float()
    idx = idx.reshape(shape).to(w.device)
    codebook = codebook.to(w.device)
    return idx, (codebook if per_row and w.dim() > 0 else codebook[0])
    ### END SOLUTION


def dequantize(indices: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Replace each index by its code value: ``codebook[indices]`` (1-D codebook) or, per row,
    ``codebook[i, indices[i]]`` (2-D codebook ``[rows, P]``). Returns ``indices``' shape."""
    idx = indices.long()
    if codebook.dim() == 1:
        return codebook[idx]
    flat = idx.reshape(codebook.shape[0], -1)
    return torch.gather(codebook, 1, flat).reshape(indices.shape)


def study_bits(n_per_group: int, groups: int, bits: int) -> int:
    """The study's accounting for ``groups`` groups of ``n`` weights, in bits."""
    return groups * (n_per_group * bits + 32 * min(2**bits, n_per_group))


def quantile_tensor(w: torch.Tensor, bits: int, per_row: bool) -> QuantizedTensor:
    """One parameter as a :class:`QuantizedTensor` (method ``"quantile"``)."""
    idx, cb = quantile_codebook(w, bits, per_row=per_row)
    groups = w.shape[0] if per_row and w.dim() > 0 else 1
    n = w.numel() // groups
    return QuantizedTensor(
        method="quantile", bits=bits, shape=tuple(w.shape), codes=idx.reshape(groups, n).cpu(),
        tables={"codebook": cb.reshape(groups, -1).cpu()}, accounted_bits=study_bits(n, groups, bits),
        meta={"per_row": bool(per_row)},
    )


def _dequantize_qt(qt: QuantizedTensor) -> torch.Tensor:
    return dequantize(qt.codes, qt.tables["codebook"])


DEQUANTIZERS["quantile"] = _dequantize_qt


def quantile_quantize(model: nn.Module, bits: int, skip: tuple[str, ...] = ()) -> QuantizedModel:
    """Quantile-quantize every parameter of ``model`` (a copy; the original is untouched).

    Convolution weights are grouped per output filter, all other parameters as a whole (the
    study's scheme). Parameters whose name starts with one of ``skip`` stay float32.
    Returns a :class:`~tscompress.quantize.core.QuantizedModel` (``.nbytes()`` = the study's
    accounting, ``.dequantized()``; :func:`~tscompress.quantize.save_quantized` stores it).
    """
    _check_bits(bits)
    model = copy.deepcopy(model)
    qts = {}
    for name, module, _, p in named_quantizable(model):
        if any(name.startswith(s) for s in skip):
            continue
        qts[name] = quantile_tensor(p.detach(), bits, per_row=per_filter(module, p))
    return QuantizedModel(model, qts, method="quantile", bits=bits)
