"""Reading one ``.ts`` file with aeon's reader, checked to be a sane classification file."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError


# ------------------------------------------------------------------------------------------------ reading
@dataclass
class _Raw:
    """One parsed .ts file: cases as ``[channels, length]`` float64 arrays and string labels."""

    cases: np.ndarray | list[np.ndarray]
    labels: np.ndarray
    path: Path
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def n_channels(self) -> int:
        return int(self.cases[0].shape[0])


def _without_blank_data_lines(path: Path) -> tuple[str, int] | None:
    """The file's text without blank lines after ``@data``, and how many were dropped (None if none)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == "@data"), None)
    if start is None:
        return None
    body = lines[start + 1:]
    kept = [line for line in body if line.strip()]
    dropped = len(body) - len(kept)
    if not dropped:
        return None
    return "".join(lines[:start + 1]) + "".join(line if line.endswith("\n") else line + "\n" for line in kept), dropped


def _aeon_read(path: Path) -> tuple[Any, np.ndarray, dict[str, Any]]:
    from aeon.datasets import load_from_ts_file

    return load_from_ts_file(str(path), return_meta_data=True)


def _read_ts(path: Path, hint: str) -> _Raw:
    """Read one .ts file with aeon and check it is a sane classification file; ``hint`` says what to do."""
    notes: list[str] = []
    bad = (OSError, ValueError, IndexError, KeyError, TypeError)
    try:
        X, y, meta = _aeon_read(path)
    except UnicodeDecodeError:
        raise DataError(f"cannot read {path}: not a UTF-8 text .ts file (corrupt or binary?); {hint}") from None
    except bad as exc:
        cleaned = _without_blank_data_lines(path)
        if cleaned is None:
            raise DataError(f"cannot parse {path}: {_short(exc)} (corrupt or truncated .ts file?); {hint}") from None
        text, dropped = cleaned
        with tempfile.TemporaryDirectory(prefix="tscompress-ts-") as tmp:
            copy = Path(tmp) / path.name
            copy.write_text(text, encoding="utf-8")
            try:
                X, y, meta = _aeon_read(copy)
            except bad as exc2:
                raise DataError(f"cannot parse {path}: {_short(exc2)} (corrupt or truncated .ts file?); "
                                f"{hint}") from None
        notes.append(f"{path.name}: skipped {dropped} blank line(s) after @data, which aeon's reader rejects.")
    if meta.get("targetlabel") or not meta.get("classlabel"):
        raise DataError(f"{path} has no class labels (@classLabel false or @targetLabel true): "
                        "not a classification dataset")
    n = len(y)
    if n == 0:
        raise DataError(f"{path} holds no cases (missing '@data' line, empty or truncated file); {hint}")
    if len(X) != n:
        raise DataError(f"cannot parse {path}: {len(X)} series but {n} labels; {hint}")
    if isinstance(X, np.ndarray):
        if X.ndim != 3 or X.shape[1] == 0 or X.shape[2] == 0:
            raise DataError(f"cannot parse {path}: unexpected data shape {X.shape}; {hint}")
        X = X.astype(np.float64, copy=False)
    else:
        X = [np.asarray(x, dtype=np.float64) for x in X]
        if any(x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0 for x in X):
            raise DataError(f"cannot parse {path}: a case has no channels or no time steps; {hint}")
    labels = _restore_labels(np.asarray(y).astype(str), meta.get("class_values") or [], path, hint)
    return _Raw(cases=X, labels=labels, path=path, notes=notes)


def _restore_labels(labels: np.ndarray, declared: list[str], path: Path, hint: str) -> np.ndarray:
    """Check labels against the header's @classLabel values, undoing aeon's ``nan``/``?`` -> ``NaN`` rewrite."""
    if not declared:
        return labels
    mapping = {d.replace("nan", "NaN").replace("?", "NaN"): d for d in declared}
    mapping.update({d: d for d in declared})
    unknown = sorted(set(labels.tolist()) - set(mapping))
    if unknown:
        first = int(np.flatnonzero(labels == unknown[0])[0]) + 1
        line = _case_line(path, first)
        where = f"case {first}" + (f" (line {line})" if line else "")
        raise DataError(f"cannot parse {path}: {where} has label {_clip(unknown[0], 30)}, not one of the "
                        f"{len(declared)} declared classes; corrupt or truncated? {hint}")
    return np.array([mapping[label] for label in labels.tolist()], dtype=object).astype(str)


def _short(exc: BaseException) -> str:
    return _clip(" ".join(str(exc).split()) or type(exc).__name__, 90)


def _clip(value: str, limit: int = 40) -> str:
    """``value`` quoted, cut to about ``limit`` characters with its full length said (a bad "label" can be kilobytes
    of numbers)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(value)} characters)"


def _case_line(path: Path, case: int) -> int | None:
    """The line number of data case ``case`` (1-based) in the file: blank and ``#`` lines after ``@data`` skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            seen = None
            for number, line in enumerate(fh, start=1):
                text = line.strip()
                if seen is None:
                    seen = 0 if text.lower() == "@data" else None
                elif text and not text.startswith("#"):
                    seen += 1
                    if seen == case:
                        return number
    except OSError:
        return None
    return None

