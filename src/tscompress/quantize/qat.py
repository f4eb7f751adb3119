"""Quantization-aware training, the study's variant: the model only ever holds quantized weights.

With ``Q`` the quantile quantizer and ``R`` its dequantizer (:mod:`.quantile`):

    W̄ₙ = R(Wₙ),   y = F(x, W̄ₙ),   Wₙ₊₁ = Q(W̄ₙ − α ∂L/∂W̄ₙ)

Starting from a random initialisation that is quantized at once, every optimizer step is taken on
the dequantized weights and its result is quantized again; nothing else is kept (no float "shadow"
weights as in the straight-through estimator), so weight changes smaller than the distance to the
neighbouring code value are lost unless they move a weight into another part. In code: the
training loop of :func:`tscompress.train.fit`, with :class:`QuantileProjection` as a callback that
replaces every parameter by ``R(Q(W))`` after each step.

For comparison, :func:`ste_fit` is the classic straight-through estimator (Bengio et al. 2013;
Jacob et al. 2018): float32 latent weights are kept, the forward pass uses their quantized values,
and the gradient with respect to the quantized weight is applied to the latent one unchanged, so
small updates accumulate until a weight crosses into another part.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..train import FitResult, TrainConfig, fit
from .core import named_quantizable, per_filter
from .quantile import dequantize, quantile_codebook

__all__ = ["project_", "QuantileProjection", "qat_fit", "FakeQuantile", "ste_fit"]


@torch.no_grad()
def project_(model: nn.Module, bits: int) -> nn.Module:
    """In place: every parameter ``W`` of ``model`` becomes ``R(Q(W))`` — its quantile-quantized
    value at ``bits`` bits (convolutions per output filter, other parameters as a whole, as
    :func:`~tscompress.quantize.quantile_quantize` groups them). Returns ``model``."""
    ### BEGIN SOLUTION
    for _, module, _, p in named_quantizable(model):
        idx, codebook = quantile_codebook(p, bits, per_row=per_filter(module, p))
        p.copy_(dequantize(idx, codebook).to(p.dtype))
    ### END SOLUTION
    return model


class QuantileProjection:
    """A :func:`tscompress.train.fit` callback: after every optimizer step, quantize the weights."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def on_step_end(self, model: nn.Module, step: int) -> None:
        project_(model, self.bits)


def qat_fit(model: nn.Module, splits: Any, config: TrainConfig, bits: int | None, **kwargs: Any) -> FitResult:
    """Train ``model`` the study's QAT way at ``bits`` bits (``None``: ordinary float32 training).
    The model is quantized before the first step, so it never holds unquantized weights."""
    if bits is None:
        return fit(model, splits, config, **kwargs)
    project_(model, bits)
    callbacks = [QuantileProjection(bits), *kwargs.pop("callbacks", ())]  # others see quantized weights
    return fit(model, splits, config, callbacks=callbacks, **kwargs)


class _StraightThrough(torch.autograd.Function):
    """Forward: the quantized tensor, exactly; backward: the gradient passed to the latent one."""

    @staticmethod
    def forward(ctx: Any, latent: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
        return quantized.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class FakeQuantile(nn.Module):
    """A ``torch.nn.utils.parametrize`` parametrization: the classic straight-through estimator.

    Forward: ``R(Q(W))``, the quantile-quantized weight exactly; backward: the gradient with
    respect to it is passed to the latent float32 ``W`` unchanged (∂/∂W taken as the identity)."""

    def __init__(self, bits: int, per_row: bool) -> None:
        super().__init__()
        self.bits, self.per_row = bits, per_row

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """``R(Q(w))`` at ``self.bits`` bits (per row when ``self.per_row``) in the forward pass, with the
        gradient passed to the latent ``w`` unchanged (straight-through)."""
        ### BEGIN SOLUTION
        with torch.no_grad():
            idx, codebook = quantile_codebook(w, self.bits, per_row=self.per_row)
            q = dequantize(idx, codebook).to(w.dtype)
        return _StraightThrough.apply(w, q)
        ### END SOLUTION


def ste_fit(model: nn.Module, splits: Any, config: TrainConfig, bits: int, **kwargs: Any) -> FitResult:
    """Train ``model`` with the classic STE at ``bits`` bits: float32 latent weights are kept and
    updated by the optimizer, every forward pass (training and validation) uses their quantile-
    quantized values (:class:`FakeQuantile` on every parameter, grouped as
    :func:`~tscompress.quantize.quantile_quantize` groups them). At the end the latent weights are
    dropped: ``model`` holds the quantized values of the epoch chosen on validation."""
    targets = [(module, local, per_filter(module, p)) for _, module, local, p in named_quantizable(model)]
    for module, local, per_row in targets:
        parametrize.register_parametrization(module, local, FakeQuantile(bits, per_row))
    try:
        return fit(model, splits, config, **kwargs)
    finally:
        for module, local, _ in targets:
            parametrize.remove_parametrizations(module, local, leave_parametrized=True)
