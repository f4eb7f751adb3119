"""The protocols' stratified, seeded splits of the pooled cases, and the checks of their arguments."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from ..errors import DataError

#: The protocols :func:`~tscompress.data.load_dataset` accepts.
PROTOCOLS: tuple[str, ...] = ("auto", "official", "resample", "tslib", "cv")


# ---------------------------------------------------------------------------------------------- splitting
def _rng(seed: int, *stage: int) -> int:
    """The ``random_state`` scikit-learn gets for one stage of the splits of ``seed``: independent per stage."""
    return int(np.random.SeedSequence([seed, *stage]).generate_state(1)[0])


def _stratified_pick(labels: np.ndarray, n_part: int, random_state: int) -> np.ndarray:
    """Boolean mask choosing ``n_part`` positions with each class's share within one case of proportional
    (scikit-learn's stratified ``train_test_split``).

    A class with a single case cannot be stratified and stays on the unpicked side; when a side has no room for
    one case of every class, the pick is unstratified (the size wins).
    """
    n = len(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    pool = np.flatnonzero(counts[inverse] >= 2)
    n_classes = int((counts >= 2).sum())
    stratify = labels[pool] if n_classes <= n_part <= len(pool) - n_classes else None
    if stratify is None:
        pool = np.arange(n)
    _, picked = train_test_split(pool, test_size=n_part, stratify=stratify, random_state=random_state)
    mask = np.zeros(n, dtype=bool)
    mask[picked] = True
    return mask


def _part_size(n: int, fraction: float) -> int:
    return int(min(max(np.floor(fraction * n + 0.5), 1), n - 1))


def _split(idx: np.ndarray, y: np.ndarray, fraction: float, random_state: int,
           what: str) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of case ids ``idx`` into (rest, part) with about ``fraction`` of them in part."""
    if len(idx) < 2:
        raise DataError(f"too few cases ({len(idx)}) to split off a {what} part; use a larger dataset")
    mask = _stratified_pick(y[idx], _part_size(len(idx), fraction), random_state)
    return np.sort(idx[~mask]), np.sort(idx[mask])


def _stratified_folds(y: np.ndarray, n_folds: int, random_state: int) -> np.ndarray:
    """Fold number of every case: scikit-learn's shuffled ``StratifiedKFold`` (folds differ by <= 1 per class);
    plain shuffled ``KFold`` when every class has fewer cases than folds."""
    _, counts = np.unique(y, return_counts=True)
    splitter = (StratifiedKFold if counts.max() >= n_folds else KFold)(n_folds, shuffle=True,
                                                                       random_state=random_state)
    fold_of = np.empty(len(y), dtype=np.int64)
    with warnings.catch_warnings():  # a class with fewer cases than folds: the notes say which part misses it
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold_of[test] = fold
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

