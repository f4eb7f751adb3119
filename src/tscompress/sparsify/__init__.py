"""Sparsification of TimesNet's Conv2d and Linear layers, the study's three methods.

* :func:`lowrank` — structured: every layer's weight replaced by two smaller layers from its
  truncated SVD, ranks chosen by one global energy threshold (:mod:`.lowrank`);
* :func:`kernel_importance` / :func:`remove_kernels` — structured: whole Inception kernel branches
  ranked by accumulated gradient norms and removed (:mod:`.importance`);
* :func:`magnitude_prune` — unstructured: the smallest-|w| fraction of every layer zeroed with
  ``torch.nn.utils.prune`` masks that stay through fine-tuning, then :func:`make_permanent`
  (:mod:`.magnitude`);
* :func:`sparse_lowrank` — sparse + low-rank (SLTrain / RoSA): ``W ≈ UV + S`` with a fixed sparse support,
  at the same parameter budgets (:mod:`.sparse_lowrank`).

Each takes a model and returns a new one; the input is never modified.
"""

from .importance import kernel_importance, remove_kernels
from .lowrank import LowRankPlan, factorize_layer, lowrank, plan_ranks
from .magnitude import magnitude_prune, make_permanent, sparse_bytes
from .common import target_layers, target_params
from .sparse_lowrank import SparseLowRank, dense_weight, relative_weight_error, sparse_lowrank, sparse_lowrank_bytes

__all__ = ["lowrank", "plan_ranks", "factorize_layer", "LowRankPlan", "kernel_importance", "remove_kernels",
           "magnitude_prune", "make_permanent", "sparse_bytes", "target_layers", "target_params",
           "SparseLowRank", "sparse_lowrank", "sparse_lowrank_bytes", "dense_weight", "relative_weight_error"]
