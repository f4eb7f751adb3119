"""The bit-budget rank: how large may a float32 adapter on a ``b``-bit base be before the pair is as
big as the model stored at ``t`` bits?

The study's accounting ("float32-equivalent parameters"): a model of ``N`` parameters at ``b`` bits
counts ``N·b/32``; a float32 adapter parameter counts 1. The bit-budget rank is the smallest ``r``
with ``N·b/32 + P(r) ≥ N·t/32``, where ``P(r) = r·p`` is the adapters' parameter count (``p`` per rank;
plus ``d_out`` magnitudes per layer for DoRA, which do not depend on ``r``).

``p`` depends on the adapter layout (:func:`adapter_params_per_rank`):

* ``"peft"`` — this package's (and HuggingFace peft's) layout: a ``Linear(d_in, d_out)`` adds
  ``d_in + d_out`` per rank, a ``Conv2d(C_in, C_out, k_h × k_w)`` adds ``C_in·k_h·k_w + C_out`` (``A``
  is a convolution with the layer's own kernel);
* ``"channel"`` — ``A ∈ R^{r×C_in}``, ``B ∈ R^{C_out×r}`` for a convolution as well (a 1×1, channel-
  only factorisation): ``C_in + C_out`` per rank.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from torch import nn

from .lora import TARGET_TYPES

__all__ = ["LAYOUTS", "BitBudget", "adapter_params_per_rank", "magnitude_params", "bit_budget_rank"]

LAYOUTS = ("peft", "channel")


def _targets(model: nn.Module, targets: tuple[type, ...]):
    return [m for m in model.modules() if isinstance(m, targets)]


def adapter_params_per_rank(model: nn.Module, layout: str = "peft", targets: tuple[type, ...] = TARGET_TYPES) -> int:
    """Adapter parameters added per unit of rank over all target layers of ``model`` (see the module
    docstring for the layouts)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown adapter layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    ### BEGIN SOLUTION
    total = 0
    for m in _targets(model, targets):
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total += (m.in_channels * kh * kw if layout == "peft" else m.in_channels) + m.out_channels
        else:
            total += m.in_features + m.out_features
    return total
    ### END SOLUTION


def magnitude_params(model: nn.Module, targets: tuple[type, ...] = TARGET_TYPES) -> int:
    """DoRA's magnitude vectors: one value per output unit of every target layer."""
    return sum(m.weight.shape[0] for m in _targets(model, targets))


@dataclass
class BitBudget:
    """The arithmetic of :func:`bit_budget_rank` (all sizes in float32-equivalent parameters)."""

    rank: int
    n_params: int
    base_bits: int
    target_bits: int
    layout: str
    per_rank: int
    fixed: int  # rank-independent adapter parameters (DoRA magnitudes), 0 for LoRA
    base_size: float  # N * base_bits / 32
    target_size: float  # N * target_bits / 32

    @property
    def adapter_params(self) -> int:
        return self.rank * self.per_rank + self.fixed

    @property
    def total_size(self) -> float:
        """Base plus adapters at the bit-budget rank."""
        return self.base_size + self.adapter_params

    @property
    def below_size(self) -> float:
        """Base plus adapters one rank lower (below the target unless ``rank == 1``)."""
        return self.base_size + (self.rank - 1) * self.per_rank + self.fixed

    def to_dict(self) -> dict:
        return {**asdict(self), "adapter_params": self.adapter_params, "total_size": self.total_size}

    def __int__(self) -> int:
        return self.rank


def bit_budget_rank(model: nn.Module, base_bits: int = 4, target_bits: int = 8, layout: str = "peft",
                    dora: bool = False, targets: tuple[type, ...] = TARGET_TYPES) -> BitBudget:
    """The smallest rank ``r ≥ 1`` whose ``base_bits`` model plus float32 adapters (``layout``; DoRA
    magnitudes included when ``dora``) carries at least as many bits as the model at ``target_bits``:
    ``N·base_bits/32 + r·p (+ magnitudes) ≥ N·target_bits/32``, ``N`` = all parameters of ``model``."""
    if not 1 <= base_bits < target_bits <= 32:
        raise ValueError(f"need 1 <= base_bits < target_bits <= 32, got {base_bits}, {target_bits}")
    n = sum(p.numel() for p in model.parameters())
    per_rank = adapter_params_per_rank(model, layout, targets)
    fixed = magnitude_params(model, targets) if dora else 0
    base_size, target_size = n * base_bits / 32, n * target_bits / 32
    ### BEGIN SOLUTION
    rank = max(1, math.ceil((target_size - base_size - fixed) / per_rank))
    ### END SOLUTION
    return BitBudget(rank=rank, n_params=n, base_bits=base_bits, target_bits=target_bits, layout=layout,
                     per_rank=per_rank, fixed=fixed, base_size=base_size, target_size=target_size)
