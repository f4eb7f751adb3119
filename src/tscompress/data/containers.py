"""What :func:`~tscompress.data.load_dataset` returns: a :class:`Dataset` of :class:`Split` parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass
class Split:
    """One part of a dataset: inputs ``X`` ``[n, length, channels]`` (float32), labels ``y`` ``[n]`` (int64),
    and ``index``, the case ids (positions in the pooled TRAIN-then-TEST array)."""

    X: torch.Tensor
    y: torch.Tensor
    index: np.ndarray
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def class_counts(self) -> dict[str, int]:
        """Number of cases per class name (every class of the dataset, zeros included)."""
        labels = self.y.numpy()
        n = len(self.classes) if self.classes else (int(labels.max()) + 1 if labels.size else 0)
        counts = np.bincount(labels, minlength=n)
        names = self.classes or [str(i) for i in range(n)]
        return {names[i]: int(counts[i]) for i in range(n)}

    def majority_rate(self) -> float:
        """Fraction of the most frequent class in this split (the accuracy of always guessing it)."""
        if len(self) == 0:
            return float("nan")
        return float(np.bincount(self.y.numpy()).max() / len(self))


@dataclass
class Dataset:
    """A dataset split by a protocol and standardized with train-only statistics."""

    name: str
    protocol: str
    train: Split
    val: Split
    test: Split
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    official_test: bool
    notes: list[str] = field(default_factory=list)
    files: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return int(self.train.X.shape[2])

    @property
    def seq_len(self) -> int:
        return int(self.train.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary: sizes, class counts and majority rates per split, notes, files."""
        splits = {"train": self.train, "val": self.val, "test": self.test}

        def rate(s: Split) -> float | None:
            r = s.majority_rate()
            return None if np.isnan(r) else round(r, 6)

        out: dict[str, Any] = {
            "name": self.name,
            "protocol": self.protocol,
            "official_test": self.official_test,
            "n_channels": self.n_channels,
            "seq_len": self.seq_len,
            "n_classes": self.n_classes,
            "classes": list(self.classes),
            "sizes": {k: len(s) for k, s in splits.items()},
            "class_counts": {k: s.class_counts() for k, s in splits.items()},
            "majority_rate": {k: rate(s) for k, s in splits.items()},
            "notes": list(self.notes),
            "files": _jsonable(self.files),
            "params": _jsonable(self.params),
        }
        if self.protocol == "cv":
            out["n_folds"] = self.params.get("n_folds")
            out["fold"] = self.params.get("fold")
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value

