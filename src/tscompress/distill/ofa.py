"""One-for-All knowledge distillation (Hao et al., NeurIPS 2023).

The OFA loss as the authors' code defines it (``ofa_loss`` in their repository): with
``p_t = softmax(t/T)``, ``p_s = softmax(s/T)`` and ``m`` the one-hot target,

    OFA(s, t) = −Σ_c [(p_t + m)^γ − m]_c · log p_s,c      (averaged over the batch)

For the target class the weight is ``(p_t + 1)^γ − 1`` — with γ = 1 simply ``p_t`` — and for the
other classes ``p_t^γ``: at γ = 1 it is the cross-entropy of the student against the teacher's
softened distribution, and γ > 1 raises the target class's weight when the teacher is confident.
The study writes the loss as a KL divergence with this modulation; the code's form (a cross-entropy,
no ``T²`` factor) is what is implemented here — at γ = 1 the two differ by the teacher's entropy,
a constant, so their gradients agree up to the ``T²`` factor.

Every intermediate encoder layer of the student gets a projector to class logits: LayerNorm, GELU
and one Linear layer on the flattened layer output ``[B, tokens·d_model]`` (the study's choice); the
projectors exist only during training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ofa_loss", "StageProjectors"]


def ofa_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, gamma: float = 1.0,
             T: float = 2.0) -> torch.Tensor:
    """``−Σ_c [(p_t + m)^γ − m]_c · log p_s,c`` averaged over the batch, with ``p_t = softmax(t/T)``,
    ``p_s = softmax(s/T)`` and ``m`` the one-hot target (the OFA authors' code)."""
    ### BEGIN SOLUTION
    m = F.one_hot(y, student_logits.shape[1]).to(student_logits.dtype)
    p_t = F.softmax(teacher_logits / T, dim=1)
    log_p_s = F.log_softmax(student_logits / T, dim=1)
    weight = (p_t + m) ** gamma - m
    return -(weight * log_p_s).sum(dim=1).mean()
    ### END SOLUTION


class StageProjectors(nn.Module):
    """``LayerNorm → GELU → Linear`` from each given feature shape ``(tokens, d)`` to ``n_classes``."""

    def __init__(self, feature_dims: list[tuple[int, int]], n_classes: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(t * d), nn.GELU(), nn.Linear(t * d, n_classes)) for t, d in feature_dims)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [head(f.reshape(f.shape[0], -1)) for head, f in zip(self.heads, features)]
