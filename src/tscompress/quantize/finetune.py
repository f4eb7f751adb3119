"""Fine-tuning a quantized model by moving the codes of the weights with the largest gradient.

The idea is PV-tuning's "V step" (Malinovskii et al., "PV-Tuning: Beyond Straight-Through
Estimation for Extreme LLM Compression", NeurIPS 2024): instead of keeping float shadow weights
(STE), update the discrete codes directly, and only for the small subset of weights where the loss
gradient is largest. Here, at every optimizer step:

1. the gradient ``g`` of the loss with respect to every quantized weight (the dequantized values
   the model computes with) is taken;
2. the ``fraction`` of weights with the largest ``|g|`` over the whole model is selected;
3. each selected weight moves to the neighbouring code value of its own group in the descent
   direction: code ``c → c − sign(g)`` (code values increase with the code in every format here:
   quantile part means, uniform affine levels, NormalFloat levels times a non-negative block scale),
   clamped to the codes the group has.

The codebooks and block constants are left exactly as the quantizer made them (PV-tuning's "P step",
which re-fits them, is not done), so the model stays in its format and its stored size does not
change — the comparison with plain PTQ is at equal bytes. The training loop is the package's own
(:func:`tscompress.train.fit` with :class:`CodeStep` as its optimizer); the epoch is chosen on
validation and the codes of that epoch are kept.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..train import FitResult, TrainConfig, fit
from .core import QuantizedModel, QuantizedTensor

__all__ = ["CodeStep", "max_codes", "code_finetune"]


def max_codes(qt: QuantizedTensor) -> int:
    """The largest code a weight of ``qt`` may take (a quantile group holds ``P <= 2^b`` parts)."""
    if qt.method == "quantile":
        return int(qt.tables["codebook"].shape[1]) - 1
    if "levels" in qt.tables:
        return int(qt.tables["levels"].numel()) - 1
    return 2 ** qt.bits - 1


class CodeStep(torch.optim.Optimizer):
    """An optimizer whose step moves the codes of the ``fraction`` of weights with the largest
    gradient by one code value against the gradient (module docstring). ``qtensors[i]`` is the
    quantized form of ``params[i]``; both are updated in place."""

    def __init__(self, params: Sequence[nn.Parameter], qtensors: Sequence[QuantizedTensor], fraction: float) -> None:
        params = list(params)
        if len(params) != len(qtensors):
            raise ValueError("one QuantizedTensor per parameter")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        for p, qt in zip(params, qtensors):
            if p.numel() != qt.codes.numel():
                raise ValueError(f"a parameter of {p.numel()} values cannot take {qt.codes.numel()} codes")
        super().__init__(params, {"fraction": fraction})
        self.qtensors = list(qtensors)
        self.moved = 0  # weights moved so far

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        """For the ``fraction`` of weights (over all parameters) with the largest |gradient|, move the code index one
        step against the sign of the gradient (clamped to the valid codes; code values ascend with the index),
        write the dequantized values into the parameters and count the moved weights in ``self.moved``. Weights
        with zero gradient never move."""
        ### BEGIN SOLUTION
        params = self.param_groups[0]["params"]
        fraction = self.param_groups[0]["fraction"]
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return None
        magnitudes = torch.cat([g.detach().abs().flatten() for g in grads])
        k = max(1, int(fraction * magnitudes.numel()))
        threshold = torch.topk(magnitudes, k).values[-1]
        if threshold <= 0:
            return None
        for p, qt in zip(params, self.qtensors):
            if p.grad is None:
                continue
            g = p.grad.detach().reshape(-1).cpu()
            selected = g.abs() >= threshold
            if not bool(selected.any()):  # nothing of this parameter moves: no re-decoding needed
                continue
            codes = qt.codes.reshape(-1).long()
            moved = (codes - torch.sign(g).long() * selected.long()).clamp(0, max_codes(qt))
            self.moved += int((moved != codes).sum())
            qt.codes = moved.to(qt.codes.dtype).reshape(qt.codes.shape)
            p.copy_(qt.dequantize().to(device=p.device, dtype=p.dtype))
        ### END SOLUTION
        return None


class _KeepBestCodes:
    """A fit callback: remember the codes of every epoch that fit marks as the best so far."""

    def __init__(self, qm: QuantizedModel) -> None:
        self.qm = qm
        self.best = {n: qt.codes.clone() for n, qt in qm.qtensors.items()}

    def on_epoch_end(self, model: nn.Module, record: dict) -> None:
        if record.get("best"):
            self.best = {n: qt.codes.clone() for n, qt in self.qm.qtensors.items()}


def code_finetune(qm: QuantizedModel, splits: Any, config: TrainConfig, fraction: float = 0.002,
                  **kwargs: Any) -> tuple[FitResult, int]:
    """In place: fine-tune the quantized model ``qm`` by :class:`CodeStep` (module docstring) on
    ``splits`` with ``config`` (epochs, batches, validation selection). Parameters ``qm`` keeps in
    float32 are not trained. Returns ``(fit result, weights moved over the whole run)``; ``qm``
    ends with the codes of the epoch chosen on validation."""
    named = dict(qm.model.named_parameters())
    names = list(qm.qtensors)
    flags = {n: p.requires_grad for n, p in named.items()}
    for n, p in named.items():
        p.requires_grad_(n in qm.qtensors)
    keeper = _KeepBestCodes(qm)
    box: dict[str, CodeStep] = {}

    def make(params: list[nn.Parameter]) -> CodeStep:
        box["opt"] = CodeStep(params, [qm.qtensors[n] for n in names], fraction)
        return box["opt"]

    try:
        result = fit(qm.model, splits, config, params=[named[n] for n in names], optimizer=make,
                     callbacks=[keeper, *kwargs.pop("callbacks", ())], **kwargs)
    finally:
        for n, p in named.items():
            p.requires_grad_(flags[n])
    for n, codes in keeper.best.items():
        qm.qtensors[n].codes = codes
    qm.load_dequantized()
    return result, box["opt"].moved if "opt" in box else 0
