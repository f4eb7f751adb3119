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
from .nf4 import nf_tensor
from .quantile import dequantize, quantile_codebook
from .uniform import uniform_tensor

__all__ = ["project_", "QuantileProjection", "qat_fit", "FakeQuantile", "FakeQuant", "ste_fit", "STE_METHODS"]


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
    The model is quantized before the first step, so it never holds unquantized weights. From random
    weights this is the study's experiment; from a trained model (with ``start_candidate=True``, passed to
    :func:`~tscompress.train.fit`) it is the common practice, whose epoch 0 is the quantile PTQ model."""
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


class FakeQuant(nn.Module):
    """:class:`FakeQuantile` for the baselines' formats: forward ``R(Q(W))`` with ``Q`` the uniform
    per-channel (``"uniform"``) or NormalFloat (``"nf"``) quantizer of this package, grouped as
    :func:`~tscompress.quantize.uniform_quantize` / :func:`~tscompress.quantize.nf4_quantize` group a
    parameter; backward straight through to the latent ``W``."""

    def __init__(self, method: str, bits: int) -> None:
        super().__init__()
        if method not in ("uniform", "nf"):
            raise ValueError(f"FakeQuant takes uniform or nf, got {method!r} (quantile: FakeQuantile)")
        self.method, self.bits = method, bits

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            tensor = uniform_tensor if self.method == "uniform" else nf_tensor
            q = tensor(w, self.bits).dequantize().reshape(w.shape).to(device=w.device, dtype=w.dtype)
        return _StraightThrough.apply(w, q)


class _CachedParametrizations(nn.Module):
    """Runs ``module``'s forward inside ``torch.nn.utils.parametrize.cached()``: each fake-quantized weight is
    computed once per forward pass instead of at every access (TimesNet reads each Inception kernel once per
    period, ``top_k`` times). Same values, same gradients; the parameters are ``module``'s own."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with parametrize.cached():
            return self.module(*args, **kwargs)


STE_METHODS = ("quantile", "uniform", "nf")
"""The formats :func:`ste_fit` can train in (the package's three quantizers)."""


def ste_fit(model: nn.Module, splits: Any, config: TrainConfig, bits: int, method: str = "quantile",
            **kwargs: Any) -> FitResult:
    """Train ``model`` with the classic STE at ``bits`` bits: float32 latent weights are kept and
    updated by the optimizer, every forward pass (training and validation) uses their quantized values
    in ``method``'s format (:class:`FakeQuantile` for the study's quantile quantizer, grouped as
    :func:`~tscompress.quantize.quantile_quantize` groups them; :class:`FakeQuant` for uniform and NF). At
    the end the latent weights are dropped: ``model`` holds the quantized values of the epoch chosen on
    validation. Started from a trained model with ``start_candidate=True`` (passed to
    :func:`~tscompress.train.fit`) it is STE fine-tuning, whose epoch 0 is the PTQ model of that format."""
    if method not in STE_METHODS:
        raise ValueError(f"unknown quantization method {method!r} for STE; methods: {', '.join(STE_METHODS)}")
    targets = [(module, local, per_filter(module, p)) for _, module, local, p in named_quantizable(model)]
    for module, local, per_row in targets:
        fake = FakeQuantile(bits, per_row) if method == "quantile" else FakeQuant(method, bits)
        parametrize.register_parametrization(module, local, fake)
    try:
        return fit(_CachedParametrizations(model), splits, config, **kwargs)
    finally:
        for module, local, _ in targets:
            parametrize.remove_parametrizations(module, local, leave_parametrized=True)
