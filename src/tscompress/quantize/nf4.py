"""NormalFloat quantization with double quantization (QLoRA, Dettmers et al., arXiv 2305.14314).

Levels: NF4's 16 values are quantiles of N(0, 1) placed so that 0 is represented exactly — 8
positive ones ``Φ⁻¹(linspace(p, 0.5, 9)[:-1])``, 7 negative ones ``-Φ⁻¹(linspace(p, 0.5, 8)[:-1])``
and 0, all divided by the largest, with ``p = 1 - δ``, ``δ = ½(1/30 + 1/32)`` (bitsandbytes'
``create_normal_map``). :func:`nf_levels` generalises this to ``k`` bits
(``2^(k-1)`` positive, ``2^(k-1) - 1`` negative levels, ``δ = ½(1/(2(2^k-1)) + 1/2^(k+1))``), so the
bits curve can run NF2…NF8; ``k = 4`` gives NF4.

Per tensor (flattened, any shape: convolution and linear weights alike): blocks of 64 values;
each block is divided by its absolute maximum and every value stored as the index of the nearest
level. Double quantization (as torchao's ``NF4Tensor``): the block maxima minus their mean are
quantized to int8 in groups of 256 with one float32 factor ``128 / absmax`` per group, plus the
float32 mean. A tensor whose size is not a multiple of 64 (or whose block count is not a multiple
of 256) is padded with zeros for the computation; only real values are stored.

Accounting: ``k`` bits per weight + 8 bits per block + 32 bits per 256 blocks + 32 bits (the
mean): 4.127 bits per weight for NF4 on large tensors.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache

import torch
from torch import nn

from .core import DEQUANTIZERS, QuantizedModel, QuantizedTensor, named_quantizable

__all__ = ["nf_levels", "nf_tensor", "nf4_quantize", "double_quantize", "double_dequantize"]

BLOCK = 64
SCALER_BLOCK = 256


@lru_cache(maxsize=None)
def _levels(bits: int) -> tuple[float, ...]:
    half = 2 ** (bits - 1)
    delta = 0.5 * (1 / (2 * (2**bits - 1)) + 1 / (2 * 2**bits))
    offset = 1 - delta
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    pos = normal.icdf(torch.linspace(offset, 0.5, half + 1, dtype=torch.float64)[:-1])
    neg = -normal.icdf(torch.linspace(offset, 0.5, half, dtype=torch.float64)[:-1])
    v = torch.cat([pos, neg, torch.zeros(1, dtype=torch.float64)]).sort().values
    return tuple((v / v.max()).tolist())


def nf_levels(bits: int = 4) -> torch.Tensor:
    """The ``2^bits`` NormalFloat levels in increasing order (float32), from -1 to 1 with an exact 0."""
    if not 2 <= bits <= 8:
        raise ValueError(f"NormalFloat needs 2..8 bits, got {bits}")
    return torch.tensor(_levels(bits), dtype=torch.float32)


@torch.no_grad()
def double_quantize(absmax: torch.Tensor, scaler_block: int = SCALER_BLOCK) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Block maxima -> ``(int8 codes [n], float32 factors [ceil(n/scaler_block)], float32 mean [1])``."""
    n = absmax.numel()
    mean = absmax.mean()
    centered = absmax - mean
    n_groups = math.ceil(n / scaler_block)
    padded = torch.zeros(n_groups * scaler_block, dtype=absmax.dtype)
    padded[:n] = centered
    groups = padded.view(n_groups, scaler_block)
    amax = groups.abs().max(dim=1).values
    factor = torch.where(amax > 0, 256 / (2 * amax), torch.ones_like(amax))
    q = torch.clamp(torch.round(groups * factor[:, None]), -128, 127).to(torch.int8).flatten()[:n]
    return q, factor.float(), mean.reshape(1).float()


def double_dequantize(q: torch.Tensor, factor: torch.Tensor, mean: torch.Tensor, scaler_block: int = SCALER_BLOCK) -> torch.Tensor:
    n = q.numel()
    n_groups = factor.numel()
    padded = torch.zeros(n_groups * scaler_block, dtype=torch.float32)
    padded[:n] = q.float()
    return (padded.view(n_groups, scaler_block) / factor[:, None]).flatten()[:n] + mean


@torch.no_grad()
def nf_tensor(w: torch.Tensor, bits: int = 4, block: int = BLOCK, scaler_block: int = SCALER_BLOCK,
              double_quant: bool = True, levels: torch.Tensor | None = None) -> QuantizedTensor:
    """One tensor in NormalFloat form. ``levels`` overrides the code values (e.g. torchao's rounded
    NF4 table, for comparison); otherwise :func:`nf_levels` ``(bits)``."""
    custom = levels is not None
    levels = (nf_levels(bits) if levels is None else levels.float().cpu())
    if levels.numel() != 2**bits:
        raise ValueError(f"{bits}-bit NormalFloat needs {2**bits} levels, got {levels.numel()}")
    flat = w.detach().float().cpu().flatten()
    n = flat.numel()
    n_blocks = math.ceil(n / block)
    padded = torch.zeros(n_blocks * block)
    padded[:n] = flat
    blocks = padded.view(n_blocks, block)
    absmax = blocks.abs().max(dim=1).values
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    scaled = (blocks / safe[:, None]).flatten()[:n]
    codes = torch.empty(n, dtype=torch.uint8)
    for start in range(0, n, 1 << 16):  # nearest level; ties go to the lower level, as torchao
        chunk = scaled[start : start + (1 << 16)]
        codes[start : start + chunk.numel()] = (chunk[:, None] - levels[None, :]).abs().argmin(dim=1).to(torch.uint8)
    tables: dict[str, torch.Tensor] = {}
    if double_quant:
        q, factor, mean = double_quantize(absmax, scaler_block)
        tables.update(absmax_q=q, absmax_factor=factor, absmax_mean=mean)
        side = 8 * n_blocks + 32 * factor.numel() + 32
    else:
        tables["absmax"] = absmax.float()
        side = 32 * n_blocks
    if custom:
        tables["levels"] = levels.clone()
    return QuantizedTensor(method="nf", bits=bits, shape=tuple(w.shape), codes=codes.reshape(1, n), tables=tables,
                           accounted_bits=n * bits + side,
                           meta={"block": block, "scaler_block": scaler_block, "double_quant": double_quant})


def _block_scales(qt: QuantizedTensor) -> torch.Tensor:
    t = qt.tables
    if "absmax" in t:
        return t["absmax"].float()
    return double_dequantize(t["absmax_q"], t["absmax_factor"], t["absmax_mean"], qt.meta["scaler_block"])


def _dequantize(qt: QuantizedTensor) -> torch.Tensor:
    levels = qt.tables["levels"] if "levels" in qt.tables else nf_levels(qt.bits)
    n = qt.numel
    block = qt.meta["block"]
    values = levels[qt.codes.reshape(-1).long()]
    scales = _block_scales(qt).repeat_interleave(block)[:n]
    return values * scales


DEQUANTIZERS["nf"] = _dequantize


def nf4_quantize(model: nn.Module, bits: int = 4, skip: tuple[str, ...] = (), double_quant: bool = True,
                 block: int = BLOCK) -> QuantizedModel:
    """NormalFloat (``bits``; NF4 by default) with double quantization for every parameter of a
    copy of ``model``, convolution and linear weights alike (blocks over the flattened tensor)."""
    model = copy.deepcopy(model)
    qts = {name: nf_tensor(p, bits, block=block, double_quant=double_quant)
           for name, _, _, p in named_quantizable(model) if not any(name.startswith(s) for s in skip)}
    return QuantizedModel(model, qts, method="nf", bits=bits)
