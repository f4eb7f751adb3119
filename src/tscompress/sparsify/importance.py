"""Gradient-based importance of convolutions and removal of whole Inception kernel branches.

Importance of a convolution (the study's definition): the norm of the gradient of the loss with
respect to each output filter's weights, accumulated (summed) over every batch of the training set,
then averaged over the output filters. Gradients are taken with dropout off (eval mode), so the
ranking is a deterministic function of the weights and the data. TimesNet's Inception blocks average their kernel branches,
so a removed branch leaves the block averaging over the branches that remain; :func:`remove_kernels`
removes the least important branches until a fraction of the Conv2d + Linear parameters is gone.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..models.timesnet import InceptionBlock
from .common import target_params

__all__ = ["kernel_importance", "remove_kernels"]


def _branches(model: nn.Module) -> list[tuple[str, InceptionBlock, int, nn.Module]]:
    out = []
    for name, m in model.named_modules():
        if isinstance(m, InceptionBlock):
            for i, k in enumerate(m.kernels):
                out.append((f"{name}.kernels.{i}", m, i, k))
    return out


def kernel_importance(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 16) -> dict[str, float]:
    """``{branch name: importance}`` for every Inception kernel branch (module docstring), over
    the cases ``X``/``y`` in fixed batches; the model's weights are not changed."""
    model = copy.deepcopy(model).eval()  # dropout off: the same data give the same importance
    branches = _branches(model)
    ### BEGIN SOLUTION
    acc = {name: torch.zeros(k.weight.shape[0], dtype=torch.float64) for name, _, _, k in branches}
    for start in range(0, len(X), batch_size):
        model.zero_grad(set_to_none=True)
        logits = model(X[start:start + batch_size])
        F.cross_entropy(logits, y[start:start + batch_size], reduction="sum").backward()
        for name, _, _, k in branches:
            g = k.weight.grad
            if g is not None:
                acc[name] += g.detach().double().reshape(g.shape[0], -1).norm(dim=1)
    return {name: float(v.mean()) for name, v in acc.items()}
    ### END SOLUTION


def remove_kernels(model: nn.Module, importance: dict[str, float], fraction: float) -> tuple[nn.Module, list[str]]:
    """A copy of ``model`` without its least important kernel branches, removed one by one until
    ``fraction`` of the Conv2d + Linear parameters is gone (every block keeps at least one branch).
    Returns ``(model, removed branch names)``."""
    out = copy.deepcopy(model)
    total = target_params(out)
    blocks = {name: (blk, i) for name, blk, i, _ in _branches(out)}
    removed, gone = [], 0
    left = {}
    for name, (blk, _) in blocks.items():
        left[id(blk)] = left.get(id(blk), 0) + 1
    for name in sorted(importance, key=importance.get):
        if gone >= fraction * total:
            break
        blk, _ = blocks[name]
        if left[id(blk)] <= 1:
            continue
        gone += sum(p.numel() for p in blk.kernels[int(name.rsplit(".", 1)[1])].parameters())
        left[id(blk)] -= 1
        removed.append(name)
    by_block: dict[int, list[int]] = {}
    for name in removed:
        blk, i = blocks[name]
        by_block.setdefault(id(blk), []).append(i)
    done = set()
    for blk, _ in blocks.values():
        if id(blk) in done:
            continue
        done.add(id(blk))
        drop = set(by_block.get(id(blk), []))
        if drop:
            blk.kernels = nn.ModuleList([k for i, k in enumerate(blk.kernels) if i not in drop])
    return out, removed
