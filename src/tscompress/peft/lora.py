"""LoRA and DoRA adapters for ``nn.Linear`` and ``nn.Conv2d`` (QLoRA / QDoRA on a quantized base).

An adapted layer keeps its (possibly dequantized, frozen) weight ``Ŵ`` and learns a low-rank update

* LoRA (Hu et al., arXiv 2106.09685): ``W' = Ŵ + s·B·A`` with ``s = α / r``;
* DoRA (Liu et al., arXiv 2402.09353): ``W' = m · (Ŵ + s·B·A) / ‖Ŵ + s·B·A‖``, the norm taken per
  output unit (a row of a linear weight, one filter ``W[o]`` of a convolution — the "column" norm of
  the paper's ``d × k`` convention) and treated as a constant in backward, ``m`` initialised to
  ``‖Ŵ‖`` so that the adapted layer starts as the base layer.

Layout (as HuggingFace ``peft``, "LoRA for convolution layers"): for ``Linear(d_in, d_out)``,
``A = Linear(d_in, r)`` and ``B = Linear(r, d_out)``; for ``Conv2d(C_in, C_out, k, stride, padding,
dilation)``, ``A = Conv2d(C_in, r, k, stride, padding, dilation)`` and ``B = Conv2d(r, C_out, 1)``. ``B``
starts at zero (the adapted model is the base model at step 0), ``A`` with peft's Kaiming-uniform
initialisation. Per rank an adapter adds ``d_in + d_out`` (linear) or ``C_in·k_h·k_w + C_out``
(convolution) parameters.

Implementation: the adapter is a ``torch.nn.utils.parametrize`` parametrization of the layer's
``weight``. Because ``B(A(x)) = conv(x, B·A)`` exactly (``B`` is a 1×1 convolution, everything is
linear), the layer computes ``conv(x, Ŵ + s·B·A)``: the same map as peft's two-branch forward
(``base(x) + s·B(A(x))``, available as :meth:`LoraWeight.adapter_output` and checked against peft
in the tests), but the layer stays an ``nn.Conv2d`` — TimesNet's Inception block can still merge its
six kernels into one convolution, which keeps training about three times faster on the CPU.
:func:`merge` folds the update into the weight (``leave_parametrized``): inference then costs
exactly as much as the base model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["LoraConfig", "LoraWeight", "apply_lora", "merge", "lora_layers", "lora_parameters",
           "count_lora_parameters", "get_peft_model", "set_rank"]

TARGET_TYPES = (nn.Linear, nn.Conv2d)


@dataclass(frozen=True)
class LoraConfig:
    """``r``: rank; ``alpha``: scaling numerator (``s = alpha / r``; default ``alpha = r``, i.e. ``s = 1``);
    ``dora``: DoRA (magnitude + direction) instead of plain LoRA; ``targets``: layer types to adapt;
    ``exclude``: module-name prefixes left alone."""

    r: int = 8
    alpha: float | None = None
    dora: bool = False
    targets: tuple[type, ...] = TARGET_TYPES
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r < 1:
            raise ValueError(f"LoRA rank must be a positive integer, got {self.r!r}")
        for t in self.targets:
            if t not in TARGET_TYPES:
                raise ValueError(f"LoRA targets must be nn.Linear and/or nn.Conv2d, got {t!r}")

    @property
    def scaling(self) -> float:
        return (self.r if self.alpha is None else self.alpha) / self.r


class LoraWeight(nn.Module):
    """The parametrization ``Ŵ -> Ŵ + s·B·A`` (LoRA) or ``m·(Ŵ + s·B·A)/‖·‖`` (DoRA) of one layer's weight.

    Holds ``lora_A``, ``lora_B`` (modules with peft's shapes) and, for DoRA, ``magnitude`` (one value
    per output unit). ``active_rank`` (DyLoRA; ``None`` = all ``r``) truncates the update to the
    leading ``k`` factors, ``A[:k]`` and ``B[:, :k]``, with the same scaling ``s``: a truncated adapter is
    exactly a rank-``k`` adapter with ``alpha = s·k`` and those factors.
    """

    def __init__(self, layer: nn.Module, r: int, scaling: float, dora: bool = False) -> None:
        super().__init__()
        self.r, self.scaling, self.dora = int(r), float(scaling), bool(dora)
        self.active_rank: int | None = None
        weight = layer.weight.detach()
        self.kind = "conv" if isinstance(layer, nn.Conv2d) else "linear"
        if self.kind == "conv":
            if layer.groups != 1:
                raise ValueError("LoRA for grouped convolutions is not supported")
            self.lora_A = nn.Conv2d(layer.in_channels, r, layer.kernel_size, layer.stride, layer.padding,
                                    layer.dilation, bias=False)
            self.lora_B = nn.Conv2d(r, layer.out_channels, 1, bias=False)
        else:
            self.lora_A = nn.Linear(layer.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, layer.out_features, bias=False)
        self.lora_A.to(device=weight.device, dtype=weight.dtype)
        self.lora_B.to(device=weight.device, dtype=weight.dtype)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))  # peft's default init
        nn.init.zeros_(self.lora_B.weight)
        if dora:
            self.magnitude = nn.Parameter(self.weight_norm(weight))
        else:
            self.register_parameter("magnitude", None)

    @staticmethod
    def weight_norm(weight: torch.Tensor) -> torch.Tensor:
        """L2 norm per output unit (``weight[o]`` flattened): ``[d_out]``."""
        return weight.reshape(weight.shape[0], -1).norm(dim=1)

    def delta_weight(self) -> torch.Tensor:
        """``s·B·A`` in the layer's weight shape (for a convolution: ``[C_out, C_in, k_h, k_w]``); with
        ``active_rank = k`` only the leading factors ``A[:k]``, ``B[:, :k]`` (DyLoRA truncation)."""
        ### BEGIN SOLUTION
        k = self.r if self.active_rank is None else self.active_rank
        a = self.lora_A.weight[:k].reshape(k, -1)
        b = self.lora_B.weight[:, :k].reshape(-1, k)
        delta = (b @ a) * self.scaling
        if self.kind == "conv":
            return delta.reshape(b.shape[0], *self.lora_A.weight.shape[1:])
        return delta
        ### END SOLUTION

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """The adapted weight: ``Ŵ + s·B·A`` for LoRA; for DoRA ``m · V / ‖V‖`` with ``V = Ŵ + s·B·A``,
        the per-output-unit norm ``‖V‖`` detached (no gradient flows through it)."""
        ### BEGIN SOLUTION
        v = weight + self.delta_weight()
        if not self.dora:
            return v
        norm = self.weight_norm(v).detach()
        scale = (self.magnitude / norm).reshape(-1, *([1] * (v.dim() - 1)))
        return v * scale
        ### END SOLUTION

    def adapter_output(self, x: torch.Tensor) -> torch.Tensor:
        """peft's adapter branch ``s·B(A(x))`` (LoRA only: added to the base layer's output)."""
        return self.scaling * self.lora_B(self.lora_A(x))

    def extra_repr(self) -> str:
        return f"r={self.r}, scaling={self.scaling:g}, dora={self.dora}"


def _adapter(module: nn.Module) -> LoraWeight | None:
    if not parametrize.is_parametrized(module, "weight"):
        return None
    for p in module.parametrizations.weight:
        if isinstance(p, LoraWeight):
            return p
    return None


def lora_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module, LoraWeight]]:
    """``(name, layer, adapter)`` for every adapted layer."""
    for name, module in model.named_modules():
        a = _adapter(module)
        if a is not None:
            yield name, module, a


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The trainable adapter parameters (A, B and, for DoRA, the magnitudes)."""
    return [p for _, _, a in lora_layers(model) for p in a.parameters()]


def count_lora_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in lora_parameters(model))


def apply_lora(model: nn.Module, config: LoraConfig) -> nn.Module:
    """Freeze every parameter of ``model`` and attach a LoRA/DoRA adapter to each target layer (in place).

    Returns ``model``; only :func:`lora_parameters` require gradients afterwards. The base weights
    are whatever the model holds (dequantized values for QLoRA/QDoRA).
    """
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, config.targets) and not any(n.startswith(e) for e in config.exclude if e)]
    if not targets:
        raise ValueError("no layer to adapt: the model has no target layers")
    for name, module in targets:
        if _adapter(module) is not None:
            raise ValueError(f"layer {name} already has an adapter")
        adapter = LoraWeight(module, config.r, config.scaling, config.dora)
        parametrize.register_parametrization(module, "weight", adapter)
        module.parametrizations.weight.original.requires_grad_(False)
    for p in lora_parameters(model):
        p.requires_grad_(True)
    return model


get_peft_model = apply_lora


def set_rank(model: nn.Module, rank: int | None) -> nn.Module:
    """DyLoRA: use only the leading ``rank`` factors of every adapter (``None``: all of them)."""
    for _, _, a in lora_layers(model):
        if rank is not None and not 1 <= rank <= a.r:
            raise ValueError(f"rank {rank} outside 1..{a.r}")
        a.active_rank = rank
    return model


@torch.no_grad()
def merge(model: nn.Module) -> nn.Module:
    """Fold every adapter into its layer's weight (in place): the model becomes plain layers whose
    weights are the adapted ones, with the same outputs and no extra inference cost."""
    ### BEGIN SOLUTION
    for _, module, _ in list(lora_layers(model)):
        _own_class(module)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    ### END SOLUTION
    return model


def _own_class(module: nn.Module) -> None:
    """Give a parametrized module a class of its own before its parametrization is removed.

    ``torch.nn.utils.parametrize`` injects one ``Parametrized<Cls>`` class per module, and
    ``copy.deepcopy`` of the module shares that class; removing the parametrization deletes the
    ``weight`` property *from the class*, which would break every other copy (e.g. the adapted model a
    merged copy was made from)."""
    cls = module.__class__
    body = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    module.__class__ = type(cls.__name__, cls.__bases__, body)
