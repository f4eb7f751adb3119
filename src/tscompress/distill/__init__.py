"""Knowledge distillation from TimesNet into Transformer and iTransformer students.

* :func:`kl_loss` — Hinton et al.: ``(1 − α)·CE + α·T²·KL(softmax(t/T) ‖ softmax(s/T))`` (:mod:`.kl`);
* :func:`ofa_loss`, :class:`StageProjectors` — One-for-All (Hao et al., NeurIPS 2023) with a
  projector from every intermediate encoder layer to class logits (:mod:`.ofa`);
* :class:`Distiller` — the loss hook for :func:`tscompress.train.fit` that combines them with
  teacher logits computed once per training case (:mod:`.hook`).
"""

from .hook import Distiller, teacher_logits
from .kl import kl_loss
from .ofa import StageProjectors, ofa_loss

__all__ = ["kl_loss", "ofa_loss", "StageProjectors", "Distiller", "teacher_logits"]
