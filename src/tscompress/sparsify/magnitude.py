"""Magnitude pruning (unstructured): zero the smallest-|w| fraction of every Conv2d and Linear weight.

Masks come from ``torch.nn.utils.prune.l1_unstructured``: the module keeps ``weight_orig`` and a
``weight_mask`` buffer, and a forward pre-hook recomputes ``weight = weight_orig * weight_mask``, so
the pruned entries stay zero through fine-tuning (their gradient is masked too). After fine-tuning
:func:`make_permanent` removes the re-parametrization (``prune.remove``) and leaves plain weights
with exact zeros.

Storage (:func:`sparse_bytes`): a pruned weight stored as a bitmask (1 bit per entry) plus its
non-zero values in float32; every other parameter dense in float32.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils import prune

from .common import target_layers

__all__ = ["magnitude_prune", "make_permanent", "sparse_bytes"]


def magnitude_prune(model: nn.Module, amount: float) -> nn.Module:
    """A copy of ``model`` with ``amount`` of the entries of every Conv2d/Linear weight masked to
    zero (smallest |w| per layer), masks kept for fine-tuning."""
    if not 0 <= amount < 1:
        raise ValueError(f"amount must be in [0, 1), got {amount}")
    out = copy.deepcopy(model)
    ### BEGIN SOLUTION
    for _, m in target_layers(out):
        prune.l1_unstructured(m, "weight", amount=amount)
    ### END SOLUTION
    return out


def make_permanent(model: nn.Module) -> nn.Module:
    """In place: fold every pruning mask into its weight (``prune.remove``). Returns ``model``."""
    for m in model.modules():
        for hook in list(m._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(m, hook._tensor_name)
    return model


def sparse_bytes(model: nn.Module) -> int:
    """Bytes with every Conv2d/Linear weight that has zeros stored as bitmask + float32 non-zeros
    (when that is smaller than dense), all other parameters dense float32."""
    total = 0
    sparse_ids = set()
    for _, m in target_layers(model):
        w = getattr(m, "weight")
        nnz = int(torch.count_nonzero(w.detach()))
        if nnz < w.numel():
            sparse = math.ceil(w.numel() / 8) + 4 * nnz
            if sparse < 4 * w.numel():
                total += sparse
                sparse_ids.add(id(m))
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if id(m) in sparse_ids and name in ("weight", "weight_orig"):
                continue
            total += p.numel() * p.element_size()
    return int(total)
