"""Sparse + low-rank (the SLTrain / RoSA idea): every layer's weight as ``W ≈ L + S``.

``L = U V`` is a rank-``r`` matrix (``U ∈ R^{Co×r}``, ``V ∈ R^{r×(Ci·Kh·Kw)}``, the layer's weight
reshaped as in :mod:`.lowrank`) and ``S`` a sparse matrix with a *fixed* support of ``density`` of the
entries (1–3% in SLTrain and RoSA) whose values are trained. Compressing a pretrained layer:

1. ``L`` is the truncated SVD at rank ``r`` (``U = U_r S_r``, ``V = V_rᵀ``), the best rank-``r``
   approximation;
2. the support of ``S`` is the ``density`` share of entries where the residual ``W − L`` is largest in
   absolute value (RoSA picks the support from the pretrained weight in the same spirit), and its values
   start as that residual.

Fine-tuning then trains ``U``, ``V``, the sparse values and the bias together; the support stays fixed.

Ranks come from :func:`.lowrank.plan_ranks` with the sparse values counted against the same
parameter budget: at a removed fraction ``f``, low-rank parameters + sparse values + biases equal
those of the other methods at ``f``. The sparse support is stored as a bitmask or as bit-packed flat
indices, whichever is smaller (:func:`sparse_lowrank_bytes`), next to float32 values and factors.

The layer runs as ONE dense layer with the reconstructed weight ``reshape(U V) + S`` (for a
convolution with the original window, stride, padding, dilation and padding mode), so TimesNet's
Inception blocks keep their merged-convolution fast path (a convolution reports ``dense_conv2d = True``,
which :meth:`tscompress.models.timesnet.InceptionBlock.merged_conv` honours): latency stays that of
the dense model, as it would for a dense GPU kernel; the savings are in parameters and bytes.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .common import set_submodule, target_layers
from .lowrank import LowRankPlan, plan_ranks, sparse_count

__all__ = ["SparseLowRank", "sparse_lowrank", "sparse_lowrank_bytes", "dense_weight", "relative_weight_error"]


class SparseLowRank(nn.Module):
    """A Conv2d or Linear whose weight is ``reshape(U @ V) + S`` (module docstring)."""

    #: counted by :func:`~tscompress.sparsify.target_params` as the Conv2d or Linear it replaced
    replaces_target_layer = True

    def __init__(self, layer: nn.Conv2d | nn.Linear, rank: int, density: float) -> None:
        """Split the layer's weight matrix ``W`` (``C_out × rest``) into the truncated SVD ``U V`` at ``rank``
        (``U`` carrying the singular values) and the sparse residual ``S``: the ``density`` share of entries of
        ``W − U V`` largest in absolute value, kept as trainable ``values`` at a fixed ``index`` buffer."""
        super().__init__()
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            raise TypeError(f"SparseLowRank replaces nn.Conv2d or nn.Linear, not {type(layer).__name__}")
        if isinstance(layer, nn.Conv2d) and layer.groups != 1:
            raise ValueError("grouped convolutions are not factorized")
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        w = layer.weight.detach()
        self.is_conv = isinstance(layer, nn.Conv2d)
        self.weight_shape = tuple(w.shape)
        if self.is_conv:
            for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                         "padding_mode"):
                setattr(self, attr, getattr(layer, attr))
            self._reversed_padding_repeated_twice = layer._reversed_padding_repeated_twice
        else:
            self.in_features, self.out_features = layer.in_features, layer.out_features
        matrix = w.reshape(w.shape[0], -1).double()
        rank = min(rank, *matrix.shape)
        ### BEGIN SOLUTION
        u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
        low = (u[:, :rank] * s[:rank]) @ vh[:rank]
        residual = (matrix - low).flatten()
        nnz = sparse_count(matrix.numel(), density)
        index = torch.topk(residual.abs(), nnz).indices.sort().values if nnz else torch.zeros(0, dtype=torch.long)
        self.U = nn.Parameter((u[:, :rank] * s[:rank]).to(w.dtype))
        self.V = nn.Parameter(vh[:rank].to(w.dtype))
        self.values = nn.Parameter(residual[index].to(w.dtype))
        self.register_buffer("index", index)
        ### END SOLUTION
        self.bias = None if layer.bias is None else nn.Parameter(layer.bias.detach().clone())

    @property
    def dense_conv2d(self) -> bool:
        """True for a convolution: forward is ``F.conv2d(x, self.weight, self.bias, <its geometry>)``."""
        return self.is_conv

    @property
    def rank(self) -> int:
        return self.U.shape[1]

    @property
    def weight(self) -> torch.Tensor:
        """The dense weight ``reshape(U V) + S`` (differentiable in U, V and the sparse values)."""
        flat = (self.U @ self.V).flatten()
        return flat.index_add(0, self.index, self.values).view(self.weight_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.is_conv:
            return F.linear(x, self.weight, self.bias)
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"shape={self.weight_shape}, rank={self.rank}, sparse={self.values.numel()}"


def sparse_lowrank(model: nn.Module, fraction: float, density: float = 0.02) -> tuple[nn.Module, LowRankPlan]:
    """A copy of ``model`` whose Conv2d/Linear layers become :class:`SparseLowRank` with ranks chosen
    (global energy threshold, as :func:`.lowrank.lowrank`) so that ``fraction`` of their parameters is
    removed counting the sparse values; returns ``(model, plan)``. Layers where a rank-1 factor plus
    the sparse part would not save parameters, and grouped convolutions, are left as they are."""
    plan = plan_ranks(model, fraction, density=density)
    out = copy.deepcopy(model)
    for name, r in plan.ranks.items():
        m = out.get_submodule(name)
        if r is not None and not (isinstance(m, nn.Conv2d) and m.groups != 1):
            set_submodule(out, name, SparseLowRank(m, r, density))
    return out, plan


def _index_bytes(numel: int, nnz: int) -> int:
    """A support of ``nnz`` entries among ``numel``: bitmask or bit-packed flat indices, the smaller."""
    if nnz == 0:
        return 0
    return min(math.ceil(numel / 8), math.ceil(nnz * max(1, math.ceil(math.log2(numel))) / 8))


def sparse_lowrank_bytes(model: nn.Module) -> int:
    """Stored bytes: every parameter in float32 (or its dtype), plus each :class:`SparseLowRank`'s
    support as in :func:`_index_bytes`."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, SparseLowRank):
            total += _index_bytes(math.prod(m.weight_shape), m.values.numel())
    return int(total)


@torch.no_grad()
def dense_weight(module: nn.Module) -> torch.Tensor:
    """The dense weight a (possibly factorized) layer applies: an ``nn.Conv2d``/``nn.Linear``'s own,
    a :class:`SparseLowRank`'s ``reshape(UV) + S``, or a low-rank pair's ``second @ first``."""
    if isinstance(module, nn.Sequential) and len(module) == 2:
        first, second = module[0].weight, module[1].weight
        return (second.reshape(second.shape[0], -1) @ first.reshape(first.shape[0], -1)).reshape(
            second.shape[0], *first.shape[1:])
    return module.weight.detach()


@torch.no_grad()
def relative_weight_error(original: nn.Module, compressed: nn.Module) -> float:
    """``sqrt(Σ‖W − Ŵ‖² / Σ‖W‖²)`` over the Conv2d/Linear layers of ``original`` against the dense
    weights the same-named layers of ``compressed`` apply (:func:`dense_weight`)."""
    num = den = 0.0
    for name, m in target_layers(original):
        w = m.weight.detach().double()
        w_hat = dense_weight(compressed.get_submodule(name)).double().reshape(w.shape)
        num += float(((w - w_hat) ** 2).sum())
        den += float((w ** 2).sum())
    return math.sqrt(num / den) if den else 0.0
