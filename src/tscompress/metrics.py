"""Classification metrics with the uncertainty a small test set deserves.

Heartbeat's official test split has 205 cases (one case = 0.49 accuracy points); the offline
re-split used on machines without the TEST file has fewer still. Every accuracy this project
reports therefore travels with its number of cases, a 95% bootstrap interval, the majority-class
rate of the same cases and the balanced accuracy (Heartbeat is about 72% "abnormal", so a model
that always says "abnormal" already scores 0.72).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "balanced_accuracy",
    "majority_rate",
    "bootstrap_ci",
    "mcnemar",
    "McNemarResult",
]


def balanced_accuracy(labels: np.ndarray, preds: np.ndarray, n_classes: int | None = None) -> float:
    """Mean of per-class recalls over the classes present in ``labels`` (scikit-learn's
    ``balanced_accuracy_score``; a class only predicted, never true, has no recall and does not count).
    ``n_classes`` is accepted for the callers that know it; it does not change the result."""
    from sklearn.metrics import balanced_accuracy_score

    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": those are left out, as documented
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(labels, np.asarray(preds)))


def majority_rate(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent class of ``labels`` (the trivial baseline)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    return float(np.bincount(labels).max() / labels.size)


def bootstrap_ci(
    labels: np.ndarray,
    preds: np.ndarray,
    metric: str = "accuracy",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of accuracy or balanced accuracy over test cases.

    Cases are resampled with replacement ``n_boot`` times with a fixed seed, so the interval is
    reproducible. For balanced accuracy a resample that misses a class uses the classes present, as
    :func:`balanced_accuracy` does; the per-class recalls of all resamples are counted at once (a test checks
    each resample against scikit-learn).
    ``n_boot=0`` skips the bootstrap and returns ``(nan, nan)`` (used for per-epoch validation).
    """
    labels = np.asarray(labels)
    preds = np.asarray(preds)
    n = labels.size
    if n == 0 or n_boot <= 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    if metric == "accuracy":
        stats = (labels[idx] == preds[idx]).mean(axis=1)
    elif metric == "balanced_accuracy":
        lab, prd = labels[idx], preds[idx]
        stats = np.empty(n_boot)
        classes = np.unique(labels)
        hits = np.zeros((n_boot, len(classes)))
        counts = np.zeros((n_boot, len(classes)))
        for j, c in enumerate(classes):
            mask = lab == c
            counts[:, j] = mask.sum(axis=1)
            hits[:, j] = (mask & (prd == c)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rec = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
        stats = np.nanmean(rec, axis=1)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test of two classifiers on the same cases.

    ``b`` = cases only the first classifier got right, ``c`` = cases only the second got right.
    """

    b: int
    c: int
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """Exact (binomial) McNemar test on paired per-case correctness vectors."""
    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError("McNemar needs the two classifiers' results on the same cases")
    b = int(np.sum(a & ~b_))
    c = int(np.sum(~a & b_))
    if b + c == 0:
        return McNemarResult(b, c, 1.0)
    from scipy.stats import binomtest

    # the exact test: under "no difference" each discordant case goes either way with probability 1/2
    return McNemarResult(b, c, float(binomtest(min(b, c), b + c, 0.5).pvalue))
