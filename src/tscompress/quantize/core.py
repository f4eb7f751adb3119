"""The container every quantization method in this package produces.

A :class:`QuantizedTensor` is one parameter in quantized form: ``codes`` (the ``bits``-bit
indices, one per weight, stored bit-packed on disk) plus the method's small side tables (a
codebook per group for quantile quantization, a scale and zero point per channel for uniform
quantization, block constants for NF4). A :class:`QuantizedModel` is an ``nn.Module`` that holds

* ``model`` — a plain float module of the original architecture whose quantized parameters hold
  the *dequantized* values (so ``forward`` is the original forward, nothing is re-decoded per call),
* ``qtensors`` — ``{parameter name: QuantizedTensor}``, the stored form,

and reports its size with :meth:`QuantizedModel.nbytes` (each method's own accounting, e.g. the
study's ``b`` bits per weight + ``min(2^b, n)`` float32 code values per group for quantile
quantization) and, once saved, the real file size (:mod:`tscompress.quantize.storage`).

Grouping (the study's choice for TimesNet, used by the quantile method): a convolution weight
(``Conv1d``/``Conv2d``, any ``_ConvNd``) is quantized per output filter (one flattened ``W[co]``
per group), every other parameter (linear matrices, 1-D biases and norms) as one group.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import nn

__all__ = ["QuantizedTensor", "QuantizedModel", "per_filter", "named_quantizable", "DEQUANTIZERS"]

DEQUANTIZERS: dict[str, Callable[["QuantizedTensor"], torch.Tensor]] = {}
"""method name -> function rebuilding the float tensor from a :class:`QuantizedTensor`."""


@dataclass
class QuantizedTensor:
    """One parameter in quantized form.

    ``codes``: uint8 tensor of the per-weight indices (values below ``2**bits``), in the
    parameter's element order, shaped ``[groups, n]`` (``groups = 1`` for a whole-tensor group);
    ``tables``: the method's side tables (float32 or int8 tensors); ``accounted_bits``: the
    method's size accounting for this parameter in bits.
    """

    method: str
    bits: int
    shape: tuple[int, ...]
    codes: torch.Tensor
    tables: dict[str, torch.Tensor] = field(default_factory=dict)
    accounted_bits: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def dequantize(self) -> torch.Tensor:
        """The float32 tensor of the parameter's shape that inference uses."""
        return DEQUANTIZERS[self.method](self).reshape(self.shape)


def per_filter(module: nn.Module, param: torch.Tensor) -> bool:
    """True when ``param`` is a convolution's weight (grouped per output filter)."""
    return isinstance(module, nn.modules.conv._ConvNd) and param.dim() > 1


def named_quantizable(model: nn.Module) -> Iterator[tuple[str, nn.Module, str, nn.Parameter]]:
    """``(full name, owning module, local name, parameter)`` for every parameter, shared ones once."""
    seen: set[int] = set()
    for mod_name, module in model.named_modules():
        for local, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            yield (f"{mod_name}.{local}" if mod_name else local), module, local, p


class QuantizedModel(nn.Module):
    """A model whose parameters were quantized: ``forward`` = the model with dequantized weights.

    Attributes: ``model`` (float module holding the dequantized values), ``qtensors`` (name ->
    :class:`QuantizedTensor`), ``method``, ``bits``. Parameters not in ``qtensors`` stay float32
    and count 32 bits each in :meth:`nbytes`.
    """

    def __init__(self, model: nn.Module, qtensors: dict[str, QuantizedTensor], method: str, bits: int) -> None:
        super().__init__()
        self.model = model
        self.qtensors = dict(qtensors)
        self.method = method
        self.bits = bits
        self.load_dequantized()

    @property
    def hparams(self) -> dict | None:
        return getattr(self.model, "hparams", None)

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    @torch.no_grad()
    def load_dequantized(self) -> None:
        """Write every quantized parameter's dequantized values into ``model``."""
        params = dict(self.model.named_parameters())
        for name, qt in self.qtensors.items():
            p = params[name]
            p.copy_(qt.dequantize().to(device=p.device, dtype=p.dtype))

    def float_parameter_names(self) -> list[str]:
        return [n for n, _, _, _ in named_quantizable(self.model) if n not in self.qtensors]

    def nbits(self) -> int:
        """Size by the method's accounting, in bits (unquantized parameters at 32 bits)."""
        total = sum(qt.accounted_bits for qt in self.qtensors.values())
        params = dict(self.model.named_parameters())
        total += sum(32 * params[n].numel() for n in self.float_parameter_names())
        return int(total)

    def nbytes(self) -> float:
        """Size by the method's accounting, in bytes (may be fractional: ``nbits() / 8``)."""
        return self.nbits() / 8

    def nbytes_fp32(self) -> int:
        """The same parameters stored as float32."""
        return 4 * sum(p.numel() for _, _, _, p in named_quantizable(self.model))

    def dequantized(self) -> nn.Module:
        """A plain float copy of the architecture holding the dequantized weights."""
        return copy.deepcopy(self.model)

    def error(self, reference: nn.Module) -> dict[str, float]:
        """Relative L2 error per parameter against the float model it came from."""
        ref = dict(reference.named_parameters())
        out = {}
        for name, qt in self.qtensors.items():
            w = ref[name].detach().float().cpu()
            out[name] = float((qt.dequantize() - w).norm() / w.norm().clamp_min(1e-12))
        return out

    def extra_repr(self) -> str:
        return f"method={self.method}, bits={self.bits}, quantized={len(self.qtensors)} tensors"
