"""The protocols' stratified, seeded splits of the pooled cases, and the checks of their arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DataError

#: The protocols :func:`~tscompress.data.load_dataset` accepts.
PROTOCOLS: tuple[str, ...] = ("auto", "official", "resample", "tslib", "cv")


# ---------------------------------------------------------------------------------------------- splitting
def _rng(seed: int, *stage: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stage]))


def _stratified_pick(labels: np.ndarray, n_part: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask choosing ``n_part`` positions with each class's share within one case of proportional.

    When there is room, every class with >= 2 cases keeps at least one case on each side, and a class with a
    single case stays on the unpicked side; when there is not, the size wins.
    """
    n = len(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    ideal = counts * (n_part / n)
    lo = np.zeros_like(counts)
    hi = counts.copy()
    multi = counts >= 2
    if multi.sum() <= n_part:
        lo[multi] = 1
    if multi.sum() <= n - n_part:
        hi[multi] = counts[multi] - 1
    hi[counts == 1] = 0
    if hi.sum() < n_part:
        hi = counts.copy()
    k = np.clip(np.floor(ideal).astype(int), lo, hi)
    tie = rng.random(len(counts))
    while k.sum() < n_part:
        score = np.where(k < hi, ideal - k, -np.inf)
        k[np.lexsort((tie, -score))[0]] += 1
    while k.sum() > n_part:
        score = np.where(k > lo, k - ideal, -np.inf)
        k[np.lexsort((tie, -score))[0]] -= 1
    mask = np.zeros(n, dtype=bool)
    for c, kc in enumerate(k):
        members = np.flatnonzero(inverse == c)
        mask[rng.permutation(members)[:kc]] = True
    return mask


def _part_size(n: int, fraction: float) -> int:
    return int(min(max(np.floor(fraction * n + 0.5), 1), n - 1))


def _split(idx: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator,
           what: str) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of case ids ``idx`` into (rest, part) with about ``fraction`` of them in part."""
    if len(idx) < 2:
        raise DataError(f"too few cases ({len(idx)}) to split off a {what} part; use a larger dataset")
    mask = _stratified_pick(y[idx], _part_size(len(idx), fraction), rng)
    return np.sort(idx[~mask]), np.sort(idx[mask])


def _stratified_folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number of every case: each class dealt round-robin (shuffled) so folds differ by <= 1 per class."""
    fold_of = np.empty(len(y), dtype=np.int64)
    offset = 0
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        fold_of[members] = (offset + np.arange(len(members))) % n_folds
        offset += len(members)
    return fold_of


# --------------------------------------------------------------------------------------------- validation
def _check_fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"{what} must be a number in (0, 1), got {value!r}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise DataError(f"{what} must be in (0, 1), got {value}")
    return value


def _check_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _check_args(protocol: Any, seed: Any, val_fraction: Any, test_fraction: Any, fold: Any, n_folds: Any,
                download: Any) -> tuple[str, int, float, float, int, int]:
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        raise DataError(f"unknown protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    seed = _check_int(seed, "seed")
    if seed < 0:
        raise DataError(f"seed must be >= 0, got {seed}")
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1.0:
        raise DataError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    n_folds = _check_int(n_folds, "n_folds")
    fold = _check_int(fold, "fold")
    if n_folds < 2:
        raise DataError(f"n_folds must be >= 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise DataError(f"fold must be in 0..{n_folds - 1} for n_folds={n_folds}, got {fold}")
    if not isinstance(download, bool):
        raise DataError(f"download must be True or False, got {download!r}")
    return protocol, seed, val_fraction, test_fraction, fold, n_folds




def _protocol_indices(protocol: str, y: np.ndarray, n_train: int, seed: int, val_fraction: float,
                      test_fraction: float, fold: int, n_folds: int,
                      notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Case ids of train, val and test under ``protocol`` (resolved, not auto)."""
    n = len(y)
    all_ids = np.arange(n)
    if protocol == "official":
        train, val = _split(all_ids[:n_train], y, val_fraction, _rng(seed, 1), "validation")
        test = all_ids[n_train:]
        notes.append(f"Protocol official: test = the official TEST split ({len(test)} cases); validation = a "
                     f"stratified {val_fraction:g} of TRAIN (seed {seed}).")
    elif protocol == "tslib":
        train, val, test = all_ids[:n_train], all_ids[n_train:], all_ids[n_train:]
        notes.append("Protocol tslib: validation = test = the official TEST split, as in Time-Series-Library and "
                     "the original study; selecting epochs or models on the test set makes test scores "
                     "optimistic. Use it only to compare with that study.")
    elif protocol == "resample":
        if n < 3:
            raise DataError(f"too few cases ({n}) for protocol resample: need at least 3")
        rest, test = _split(all_ids, y, test_fraction, _rng(seed, 2), "test")
        train, val = _split(rest, y, val_fraction, _rng(seed, 3), "validation")
        source = "TRAIN + TEST" if n > n_train else "TRAIN only"
        notes.append(f"Protocol resample: a stratified re-split (seed {seed}) of all {n} labelled cases ({source}); "
                     f"this is NOT the official UEA train/test split, so accuracies are not directly comparable "
                     f"with published results. The test part has {len(test)} cases: one case = "
                     f"{100 / len(test):.2f} accuracy points.")
    elif protocol == "cv":
        if n_folds > n:
            raise DataError(f"n_folds={n_folds} is larger than the number of cases ({n})")
        fold_of = _stratified_folds(y, n_folds, _rng(seed, 4))
        test = np.flatnonzero(fold_of == fold)
        train, val = _split(np.flatnonzero(fold_of != fold), y, val_fraction, _rng(seed, 5, fold), "validation")
        notes.append(f"Protocol cv: fold {fold} of {n_folds} stratified folds (seed {seed}) over all {n} labelled "
                     f"cases is the test part ({len(test)} cases: one case = {100 / len(test):.2f} accuracy points); "
                     "this is not the official split. Pooling the test predictions of all folds tests every case "
                     "exactly once.")
    else:  # pragma: no cover - validated earlier
        raise DataError(f"unknown protocol {protocol!r}")
    return train, val, test


def _missing_class_notes(y: np.ndarray, classes: list[str], parts: Mapping[str, np.ndarray],
                         notes: list[str]) -> None:
    counts = np.bincount(y, minlength=len(classes))
    for part, ids in parts.items():
        present = set(np.unique(y[ids]).tolist())
        missing = [classes[c] for c in range(len(classes)) if c not in present and counts[c] > 0]
        if missing:
            few = ", ".join(f"{classes[c]!r} ({counts[c]} case{'s' if counts[c] != 1 else ''})"
                            for c in range(len(classes)) if classes[c] in missing)
            notes.append(f"The {part} part has no case of class {few}: too few cases to stratify.")

