"""Uniform affine quantization per output channel — the standard baseline (PyTorch's
``per_channel_affine`` with a min/max observer, as ``torch.ao.quantization`` and torchao's
weight-only configs do it).

For a group with minimum ``lo`` and maximum ``hi`` (both widened to include 0) and
``q_max = 2^b - 1``: ``scale = (hi - lo) / q_max``, ``zero = clamp(-round(lo / scale), 0, q_max)``,
``q = clamp(round(w / scale) + zero, 0, q_max)``, and inference uses ``(q - zero) * scale``.
Groups: every output channel (row ``W[co]``) of a weight with two or more dimensions — linear and
convolution weights alike — and 1-D parameters as a whole.

Accounting: ``b`` bits per weight plus a float32 scale and an 8-bit zero point per group (what the
file stores).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .core import DEQUANTIZERS, QuantizedModel, QuantizedTensor, named_quantizable

__all__ = ["uniform_params", "uniform_tensor", "uniform_quantize"]

_EPS = torch.finfo(torch.float32).eps


@torch.no_grad()
def uniform_params(rows: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row ``(scale [G] float32, zero_point [G] int64)`` of a ``[G, n]`` tensor, computed as
    ``torch.ao.quantization.PerChannelMinMaxObserver`` does (affine, quant range ``0..2^b-1``)."""
    q_max = 2**bits - 1
    lo = torch.clamp(rows.min(dim=1).values, max=0.0)
    hi = torch.clamp(rows.max(dim=1).values, min=0.0)
    scale = ((hi - lo) / float(q_max)).clamp_min(_EPS)
    zero = (-torch.round(lo / scale)).to(torch.int64).clamp(0, q_max)
    return scale.float(), zero


@torch.no_grad()
def uniform_tensor(w: torch.Tensor, bits: int, per_row: bool | None = None) -> QuantizedTensor:
    """One parameter quantized uniformly (per output channel when it has two or more dimensions)."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    w = w.detach().float().cpu()
    per_row = w.dim() > 1 if per_row is None else per_row
    rows = w.reshape(w.shape[0], -1) if per_row else w.reshape(1, -1)
    scale, zero = uniform_params(rows, bits)
    inv = 1.0 / scale
    q = torch.clamp(torch.round(rows * inv[:, None]) + zero[:, None], 0, 2**bits - 1).to(torch.uint8)
    g, n = rows.shape
    return QuantizedTensor(method="uniform", bits=bits, shape=tuple(w.shape), codes=q,
                           tables={"scale": scale, "zero": zero.to(torch.uint8)},
                           accounted_bits=g * (n * bits + 32 + 8), meta={"per_row": bool(per_row)})


def _dequantize(qt: QuantizedTensor) -> torch.Tensor:
    scale = qt.tables["scale"].float()
    zero = qt.tables["zero"].to(torch.float32)
    return (qt.codes.float() - zero[:, None]) * scale[:, None]


DEQUANTIZERS["uniform"] = _dequantize


def uniform_quantize(model: nn.Module, bits: int, skip: tuple[str, ...] = ()) -> QuantizedModel:
    """Uniform per-channel affine quantization of every parameter of a copy of ``model``."""
    model = copy.deepcopy(model)
    qts = {name: uniform_tensor(p, bits) for name, _, _, p in named_quantizable(model)
           if not any(name.startswith(s) for s in skip)}
    return QuantizedModel(model, qts, method="uniform", bits=bits)
