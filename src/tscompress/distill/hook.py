"""The distillation loss hook for :func:`tscompress.train.fit` (no training loop of its own)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..train import Batch, predict_logits
from .kl import kl_loss
from .ofa import StageProjectors, ofa_loss

__all__ = ["Distiller", "teacher_logits"]


@torch.no_grad()
def teacher_logits(teacher: nn.Module, X: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """The teacher's logits for every case of a split, once, in fixed eval-mode batches (TimesNet's
    output depends on the batch it is in, so the batches are the evaluation's, never the shuffled
    training batches)."""
    return predict_logits(teacher, X, batch_size=batch_size).detach()


class Distiller(nn.Module):
    """``loss(model, batch) -> (loss, logits)`` for ``fit``.

    ``method="kl"``: :func:`kl_loss` with ``alpha``. ``method="ofa"``:
    ``(1 − w_ofa − w_kd)·CE + w_kd·OFA(final) + w_ofa·Σ_stages OFA(stage)`` with a projector per
    intermediate encoder layer (its parameters train with the student; ``fit`` optimises an
    ``nn.Module`` hook's parameters). ``ce_weight`` weights the cross-entropy term per class (the
    book's class-weighted recipe, :func:`tscompress.train.class_weights`); the distillation terms
    are unweighted. ``teacher`` holds the cached teacher logits of the training
    split, indexed by ``batch.index``.
    """

    def __init__(self, teacher: torch.Tensor, method: str = "kl", alpha: float = 0.5, w_ofa: float = 0.0,
                 w_kd: float = 0.0, T: float = 2.0, gamma: float = 1.0,
                 feature_dims: list[tuple[int, int]] | None = None, n_classes: int | None = None,
                 ce_weight: torch.Tensor | None = None) -> None:
        super().__init__()
        if method not in ("kl", "ofa"):
            raise ValueError(f"unknown distillation method {method!r}; methods: kl, ofa")
        if method == "kl" and not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if method == "ofa" and not (w_ofa >= 0 and w_kd >= 0 and w_ofa + w_kd <= 1 + 1e-9):
            raise ValueError(f"OFA weights must lie on the simplex, got w_ofa={w_ofa}, w_kd={w_kd}")
        self.register_buffer("teacher", teacher.detach().float())
        # per-class weights of the cross-entropy term (the book's class-weighted recipe); None = plain CE
        self.register_buffer("ce_weight", None if ce_weight is None else torch.as_tensor(ce_weight).float())
        self.method, self.alpha, self.w_ofa, self.w_kd, self.T, self.gamma = method, alpha, w_ofa, w_kd, T, gamma
        self.projectors = None
        if method == "ofa":
            if feature_dims is None or n_classes is None:
                raise ValueError("OFA needs the student's feature_dims and n_classes")
            self.projectors = StageProjectors(list(feature_dims)[:-1], n_classes)  # intermediate layers

    def forward(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.teacher[batch.index]
        if self.method == "kl":
            logits = model(batch.x)
            if self.ce_weight is None:
                return kl_loss(logits, t, batch.y, self.alpha, self.T), logits
            # (1 − α)·weighted CE + α·T²·KL: kl_loss at α = 1 is exactly the second term
            loss = (1 - self.alpha) * F.cross_entropy(logits, batch.y, weight=self.ce_weight)
            if self.alpha > 0:
                loss = loss + self.alpha * kl_loss(logits, t, batch.y, 1.0, self.T)
            return loss, logits
        logits, features = model(batch.x, return_features=True)
        w_ce = 1 - self.w_ofa - self.w_kd
        loss = (w_ce * F.cross_entropy(logits, batch.y, weight=self.ce_weight) if w_ce > 0
                else logits.new_zeros(()))
        if self.w_kd > 0:
            loss = loss + self.w_kd * ofa_loss(logits, t, batch.y, self.gamma, self.T)
        if self.w_ofa > 0:
            stages = self.projectors(features[:-1])
            loss = loss + self.w_ofa * sum(ofa_loss(s, t, batch.y, self.gamma, self.T) for s in stages)
        return loss, logits
