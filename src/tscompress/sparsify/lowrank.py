"""Low-rank factorization by truncated SVD (structured sparsification).

A Conv2d weight ``W ∈ R^{Co×Ci×Kh×Kw}`` is reshaped to ``Co × (Ci·Kh·Kw)`` and factorized
``W ≈ U_r S_r V_rᵀ``; the layer becomes two layers: a convolution with weight
``reshape(V_rᵀ) ∈ R^{r×Ci×Kh×Kw}`` and the original window, stride, padding, dilation and padding
mode, then a 1×1 convolution with weight ``U_r S_r ∈ R^{Co×r×1×1}`` that carries the bias. A Linear
``W ∈ R^{No×Ni}`` becomes ``Linear(Ni → r)`` with ``V_rᵀ`` and ``Linear(r → No)`` with ``U_r S_r``.
The layers are really replaced, so the parameter count falls.

Ranks (:func:`plan_ranks`): one global threshold τ on the *retained energy* — in every layer keep
the smallest r whose singular values hold at least τ of ``Σ σ²`` — with τ found by bisection so that
the Conv2d + Linear parameters removed reach the requested fraction. A layer is factorized only when
its two factors have fewer parameters than the original (``r·(Co + Ci·Kh·Kw) < Co·Ci·Kh·Kw``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from .common import set_submodule, target_layers, target_params

__all__ = ["lowrank", "plan_ranks", "factorize_layer", "LowRankPlan"]


def _matrix(module: nn.Module) -> torch.Tensor:
    w = module.weight.detach().float()
    return w.reshape(w.shape[0], -1)


@dataclass
class LowRankPlan:
    """Ranks chosen per layer (``None``: left as is), the threshold and the parameters removed."""

    ranks: dict[str, int | None]
    threshold: float
    removed: int
    total: int
    energy: dict[str, float] = field(default_factory=dict)
    density: float = 0.0

    @property
    def fraction(self) -> float:
        return self.removed / self.total if self.total else 0.0


def sparse_count(numel: int, density: float) -> int:
    """Entries of the sparse part at ``density`` (rounded, at least one when ``density > 0``)."""
    return 0 if density <= 0 else max(1, round(density * numel))


def _factor_params(module: nn.Module, r: int, density: float = 0.0) -> int:
    co, k = _matrix(module).shape
    return r * (co + k) + sparse_count(co * k, density)


def plan_ranks(model: nn.Module, fraction: float, tol: float = 1e-4, density: float = 0.0) -> LowRankPlan:
    """Ranks for a removed fraction ``fraction`` of the Conv2d + Linear parameters (module docstring).

    ``density > 0`` plans for :func:`tscompress.sparsify.sparse_lowrank`: every factorized layer also
    keeps ``density`` of its entries as a sparse part, and those values count against the budget."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    if not 0 <= density < 1:
        raise ValueError(f"density must be in [0, 1), got {density}")
    layers = target_layers(model)
    total = target_params(model)
    spectra = {}
    for name, m in layers:
        s = torch.linalg.svdvals(_matrix(m).double())
        spectra[name] = (torch.cumsum(s**2, 0) / (s**2).sum().clamp_min(1e-300)).tolist()

    def choose(tau: float) -> tuple[dict[str, int | None], int]:
        ranks, removed = {}, 0
        for name, m in layers:
            cum = spectra[name]
            r = next((i + 1 for i, c in enumerate(cum) if c >= tau - 1e-12), len(cum))
            dense = m.weight.numel()
            if _factor_params(m, r, density) < dense:
                ranks[name] = r
                removed += dense - _factor_params(m, r, density)
            else:
                ranks[name] = None
        return ranks, removed

    lo, hi = 0.0, 1.0  # tau = 1 keeps (nearly) everything; lower tau removes more
    for _ in range(60):
        mid = (lo + hi) / 2
        _, removed = choose(mid)
        if removed >= fraction * total:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    ranks, removed = choose(lo)
    energy = {n: spectra[n][r - 1] for n, r in ranks.items() if r}
    return LowRankPlan(ranks=ranks, threshold=lo, removed=removed, total=total, energy=energy, density=density)


@torch.no_grad()
def factorize_layer(module: nn.Module, rank: int) -> nn.Sequential:
    """The two-layer replacement of one Conv2d or Linear at ``rank`` (module docstring)."""
    ### BEGIN SOLUTION
    w = _matrix(module).double()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    first_w = vh[:rank]                       # r × (Ci·Kh·Kw)
    second_w = u[:, :rank] * s[:rank]         # Co × r
    bias = module.bias is not None
    if isinstance(module, nn.Conv2d):
        first = nn.Conv2d(module.in_channels, rank, module.kernel_size, stride=module.stride, padding=module.padding,
                          dilation=module.dilation, groups=1, bias=False, padding_mode=module.padding_mode)
        first.weight.copy_(first_w.reshape(rank, *module.weight.shape[1:]))
        second = nn.Conv2d(rank, module.out_channels, 1, bias=bias)
        second.weight.copy_(second_w.reshape(module.out_channels, rank, 1, 1))
    else:
        first = nn.Linear(module.in_features, rank, bias=False)
        first.weight.copy_(first_w)
        second = nn.Linear(rank, module.out_features, bias=bias)
        second.weight.copy_(second_w)
    if bias:
        second.bias.copy_(module.bias)
    dtype = module.weight.dtype
    return nn.Sequential(first, second).to(dtype=dtype, device=module.weight.device)
    ### END SOLUTION


def lowrank(model: nn.Module, fraction: float) -> tuple[nn.Module, LowRankPlan]:
    """A copy of ``model`` with its Conv2d/Linear layers factorized so that ``fraction`` of their
    parameters is removed; returns ``(model, plan)``. Grouped convolutions are left as they are."""
    plan = plan_ranks(model, fraction)
    out = copy.deepcopy(model)
    for name, r in plan.ranks.items():
        m = out.get_submodule(name)
        if r is not None and not (isinstance(m, nn.Conv2d) and m.groups != 1):
            set_submodule(out, name, factorize_layer(m, r))
    return out, plan
