"""A strong simple reference: MiniRocket features + a ridge classifier, on the book's own splits.

A time-series practitioner's first try on a small UEA dataset is not a 900k-parameter network but
ROCKET-family features with a linear classifier. This module puts that reference beside the three
study models, trained and tested on exactly the same parts (the same :class:`~tscompress.data.Dataset`
objects, hence the same train-only standardization and the same cross-validation folds):

* aeon's :class:`~aeon.transformations.collection.convolution_based.MiniRocket` transform
  (Dempster et al., 2021; 10,000 features by default), then scikit-learn's ``StandardScaler``
  (without centring) and ``RidgeClassifierCV`` over ``alphas = 10^[-3..3]`` (10 values) — the
  same pipeline as aeon's ``MiniRocketClassifier``, untuned;
* it is fitted on the training **and** validation parts together: the ridge penalty is chosen by
  its own leave-one-out cross-validation, so the reference needs no separate validation part, and
  it sees exactly the labelled cases the networks see (never the test part).

It is a reference line, not a compressed model: it appears in the models chapter's tables and as
a horizontal line in the comparison chapter's plots.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch

from .errors import ConfigError
from .train import EvalResult, evaluate_predictions

__all__ = ["MiniRocketReference", "ReferenceResult", "fit_reference", "cross_validate_reference", "REFERENCE_NAME"]

REFERENCE_NAME = "MiniRocket"


def _panel(X: torch.Tensor) -> np.ndarray:
    """``[n, L, C]`` tensor -> aeon's ``[n, C, L]`` float64 array."""
    return np.ascontiguousarray(torch.as_tensor(X).permute(0, 2, 1).cpu().numpy(), dtype=np.float64)


@contextlib.contextmanager
def _torch_threads_kept():
    """Torch's thread count as it was: aeon's MiniRocket runs numba, which resets the process's OpenMP threads to
    the machine's cores. Measured: a Ray task's kernel (one thread) came out with two, and two such tasks on two
    cores then slowed each other's training down 50 times."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


class MiniRocketReference:
    """MiniRocket → StandardScaler(with_mean=False) → RidgeClassifierCV, seeded."""

    def __init__(self, n_kernels: int = 10_000, seed: int = 0) -> None:
        if isinstance(n_kernels, bool) or not isinstance(n_kernels, int) or n_kernels < 84:
            raise ConfigError(f"MiniRocket needs n_kernels >= 84 (an integer), got {n_kernels!r}")
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.n_kernels, self.seed = n_kernels, seed
        self.pipeline = make_pipeline(MiniRocket(n_kernels=n_kernels, random_state=seed),
                                      StandardScaler(with_mean=False),
                                      RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))

    def fit(self, X: torch.Tensor, y: torch.Tensor) -> "MiniRocketReference":
        with _torch_threads_kept():
            self.pipeline.fit(_panel(X), torch.as_tensor(y).cpu().numpy())
        return self

    def predict(self, X: torch.Tensor) -> np.ndarray:
        with _torch_threads_kept():
            return np.asarray(self.pipeline.predict(_panel(X)), dtype=np.int64)

    @property
    def alpha(self) -> float:
        return float(self.pipeline[-1].alpha_)


@dataclass
class ReferenceResult:
    """The reference's test evaluation and its wall time (fit + predict)."""

    evaluation: EvalResult
    seconds: float
    alpha: float


def fit_reference(dataset: Any, n_kernels: int = 10_000, seed: int = 0, n_boot: int = 2000) -> ReferenceResult:
    """Fit the reference on ``dataset.train`` ∪ ``dataset.val`` and evaluate it on ``dataset.test``."""
    t0 = time.perf_counter()
    X = torch.cat([dataset.train.X, dataset.val.X])
    y = torch.cat([dataset.train.y, dataset.val.y])
    ref = MiniRocketReference(n_kernels=n_kernels, seed=seed).fit(X, y)
    preds = ref.predict(dataset.test.X)
    seconds = time.perf_counter() - t0
    ev = evaluate_predictions(dataset.test.y.numpy(), preds, n_boot=n_boot, seed=seed)
    return ReferenceResult(evaluation=ev, seconds=seconds, alpha=ref.alpha)


@dataclass
class ReferenceCV:
    """The reference over cross-validation folds: pooled test predictions (every case once)."""

    pooled: EvalResult
    folds: list[ReferenceResult]
    case_index: np.ndarray

    @property
    def seconds(self) -> float:
        return float(sum(f.seconds for f in self.folds))


def cross_validate_reference(folds: Iterable[Any], n_kernels: int = 10_000, seed: int = 0,
                             n_boot: int = 2000) -> ReferenceCV:
    """:func:`fit_reference` on every fold; the folds' test predictions pooled in case order."""
    per_fold, labels, preds, index = [], [], [], []
    seen: set[int] = set()
    for dataset in folds:
        ids = np.asarray(dataset.test.index).tolist()
        if seen.intersection(ids):
            raise ConfigError("cross_validate_reference: the folds' test parts overlap")
        seen.update(ids)
        res = fit_reference(dataset, n_kernels=n_kernels, seed=seed, n_boot=0)
        per_fold.append(res)
        labels.append(res.evaluation.labels)
        preds.append(res.evaluation.preds)
        index.append(np.asarray(dataset.test.index))
    if not per_fold:
        raise ConfigError("cross_validate_reference needs at least one fold")
    case_index = np.concatenate(index)
    order = np.argsort(case_index, kind="stable")
    pooled = evaluate_predictions(np.concatenate(labels)[order], np.concatenate(preds)[order],
                                  n_boot=n_boot, seed=seed)
    return ReferenceCV(pooled=pooled, folds=per_fold, case_index=case_index[order])
