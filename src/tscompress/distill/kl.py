"""Hinton et al. (arXiv 1503.02531): distillation with a temperature.

``L = (1 − α)·CE(s, y) + α·T²·KL(softmax(t/T) ‖ softmax(s/T))``. The ``T²`` factor is Hinton's: the
gradient of the softened term scales as ``1/T²``, so multiplying by ``T²`` keeps the two terms'
gradients comparable when ``T`` changes (the study's formula omits it; with its fixed ``T = 2`` this
only rescales α's effect). ``α = 0`` is plain training, ``α = 1`` ignores the labels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["kl_loss"]


def kl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, alpha: float,
            T: float = 2.0) -> torch.Tensor:
    """``(1 − α)·CE(s, y) + α·T²·KL(softmax(t/T) ‖ softmax(s/T))`` for student logits ``s``, teacher
    logits ``t`` and labels ``y``; cross-entropy averaged over the batch, KL summed over classes and
    averaged over the batch."""
    ### BEGIN SOLUTION
    ce = F.cross_entropy(student_logits, y)
    if alpha == 0:
        return ce
    kd = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                  reduction="batchmean") * T * T
    return (1 - alpha) * ce + alpha * kd
    ### END SOLUTION
