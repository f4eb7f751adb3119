"""What the sparsification methods act on: the Conv2d and Linear layers (the study's choice)."""

from __future__ import annotations

from torch import nn

__all__ = ["target_layers", "target_params"]


def target_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every ``nn.Conv2d`` and ``nn.Linear`` in ``model``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def target_params(model: nn.Module) -> int:
    """Parameters (weights and biases) held by the Conv2d and Linear layers, and by the layers that replaced some of
    them and say so (``replaces_target_layer = True``, as :class:`~tscompress.sparsify.SparseLowRank` does)."""
    layers = [m for _, m in target_layers(model)] + [m for m in model.modules()
                                                      if getattr(type(m), "replaces_target_layer", False)]
    return sum(p.numel() for m in layers for p in m.parameters(recurse=False))


def set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new) if not child.isdigit() else parent.__setitem__(int(child), new)
