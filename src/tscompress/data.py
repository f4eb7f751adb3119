"""UEA/UCR classification datasets with honest evaluation protocols.

:func:`load_dataset` finds ``NAME_TRAIN.ts`` (and ``NAME_TEST.ts`` if present) locally or downloads the
official UEA archive once into a verified cache, reads the files with aeon's maintained ``.ts`` reader,
splits the labelled cases according to a *protocol*, standardizes every channel with statistics of the
``train`` part only, and returns a :class:`Dataset` of float32 tensors ``[n, length, channels]``.

Protocols (all stratified, seeded, deterministic):

``official``
    train/val = stratified split of TRAIN (``val_fraction``), test = TEST.
``resample``
    pool TRAIN (+ TEST if present); stratified test part (``test_fraction``), then val
    (``val_fraction`` of the remainder), train = rest. The usual UEA "resample" practice.
``tslib``
    train = TRAIN, val = test = TEST, as Time-Series-Library and the reproduced study did
    (model selection on the test set: optimistic, for comparison only).
``cv``
    stratified ``n_folds``-fold split of all pooled cases; ``fold`` is the test fold, val is a
    stratified ``val_fraction`` of the other folds. Over all folds every case is tested once.
``auto``
    ``official`` if a TEST file exists, else ``resample``.

Case ids (``Split.index``) are positions in the pooled array TRAIN followed by TEST.

Things to know about aeon's reader (``aeon.datasets.load_from_ts_file``): it returns
``[n, channels, length]`` float64 for equal-length data and a *list* of ``[channels, length_i]``
arrays for unequal length; it lower-cases every data line, so class labels come back lower-case
(``"Badminton"`` -> ``"badminton"``) and the substring ``nan`` inside a label becomes ``NaN``
(``"banana"`` -> ``"baNaNa"``; we map such labels back to the header's ``@classLabel`` values);
it silently returns zero cases for a file without ``@data``; and it rejects blank lines after
``@data`` (we then re-read a copy without them, with a note).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from . import __version__
from .errors import DataError

__all__ = [
    "DEFAULT_BASE_URL",
    "KNOWN_CHECKSUMS",
    "PROTOCOLS",
    "Dataset",
    "Split",
    "available",
    "cache_dir",
    "git_blob_sha1",
    "known_dataset_names",
    "load_dataset",
    "subsample",
]

#: Where the official UEA/UCR archive zips live (``<base>/<NAME>.zip``); env ``TSCOMPRESS_UEA_URL`` overrides.
DEFAULT_BASE_URL = "https://timeseriesclassification.com/aeon-toolkit/"

#: The protocols :func:`load_dataset` accepts.
PROTOCOLS: tuple[str, ...] = ("auto", "official", "resample", "tslib", "cv")

#: Expected digests of official files, ``"<algorithm>:<hex>"`` with algorithm ``git-sha1`` (git blob id,
#: ``sha1(b"blob <size>\\0" + data)``) or ``sha256``. Downloaded files with an entry must match one of the
#: listed digests; local files that do not match are used with a note (the user supplied them).
KNOWN_CHECKSUMS: dict[str, tuple[str, ...]] = {
    "Heartbeat_TRAIN.ts": ("git-sha1:f2dcd7f2c5bc9e3c751cf483d19e94f3031dfffa",),
}

#: Seconds before a silent connection or read gives up (no retries).
DOWNLOAD_TIMEOUT = 30.0

STD_FLOOR = 1e-8
MANIFEST_NAME = "manifest.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_CHUNK = 1 << 20
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------- containers
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


# ------------------------------------------------------------------------------------------------ names
def known_dataset_names() -> list[str]:
    """UEA multivariate and UCR univariate classification dataset names known to aeon."""
    from aeon.datasets import tsc_datasets

    names: set[str] = set()
    for attr in ("multivariate", "UEA", "multivariate_equal_length", "multivariate_unequal_length",
                 "univariate", "UCR2019", "univariate_equal_length", "univariate_variable_length",
                 "univariate_missing_values"):
        names.update(getattr(tsc_datasets, attr, []) or [])
    return sorted(names)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise DataError(f"dataset name must be a non-empty string, got {name!r}")
    if not _NAME_RE.match(name) or ".." in name:
        raise DataError(f"invalid dataset name {name!r}: use letters, digits, '_', '-' or '.' only (e.g. 'Heartbeat')")
    return name


def _unknown_name_error(name: str, looked_in: list[Path]) -> DataError:
    known = known_dataset_names()
    lower = {k.lower(): k for k in known}
    hint = ""
    if name.lower() in lower:
        hint = f"; did you mean {lower[name.lower()]!r}? (names are case-sensitive)"
    else:
        close = difflib.get_close_matches(name, known, n=3)
        if close:
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?"
    where = ", ".join(str(p) for p in looked_in) or "nowhere"
    return DataError(f"unknown dataset {name!r}: not a UEA/UCR classification dataset known to aeon and no "
                     f"{name}_TRAIN.ts found in {where}{hint}")


# ------------------------------------------------------------------------------------------------ files
def cache_dir() -> Path:
    """The download cache: ``$TSCOMPRESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/tscompress/uea``, else
    ``~/.cache/tscompress/uea``."""
    env = os.environ.get("TSCOMPRESS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tscompress" / "uea"


def _aeon_data_dir() -> Path | None:
    try:
        import aeon.datasets
    except ImportError:  # pragma: no cover - aeon is a dependency
        return None
    path = Path(aeon.datasets.__file__).resolve().parent / "data"
    return path if path.is_dir() else None


def _locations(data_dir: str | os.PathLike[str] | None) -> list[tuple[str, Path]]:
    """(source label, folder) in search order."""
    locs: list[tuple[str, Path]] = []
    if data_dir is not None:
        locs.append(("data_dir", Path(data_dir).expanduser()))
    env = os.environ.get("TSCOMPRESS_DATA_DIR")
    if env:
        locs.append(("TSCOMPRESS_DATA_DIR", Path(env).expanduser()))
    locs.append(("cache", cache_dir()))
    aeon_dir = _aeon_data_dir()
    if aeon_dir is not None:
        locs.append(("aeon", aeon_dir))
    return locs


def _find_in(directory: Path, name: str) -> tuple[Path | None, Path | None]:
    """TRAIN and TEST paths in ``directory/NAME/`` or ``directory/`` (TEST only from TRAIN's folder)."""
    for folder in (directory / name, directory):
        train = folder / f"{name}_TRAIN.ts"
        if train.is_file():
            test = folder / f"{name}_TEST.ts"
            return train, (test if test.is_file() else None)
    return None, None


def _base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("TSCOMPRESS_UEA_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str) or urllib.parse.urlparse(url).scheme not in ("http", "https", "file"):
        raise DataError(f"invalid base URL {url!r}: expected an http(s):// or file:// address")
    return url if url.endswith("/") else url + "/"


def _archive_url(name: str, base_url: str | None) -> str:
    return _base_url(base_url) + urllib.parse.quote(name) + ".zip"


def available(name: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Which ``NAME_TRAIN.ts`` / ``NAME_TEST.ts`` files are found where, in search order (never downloads).

    Returns ``{"name", "known", "found", "source", "train", "test", "locations": [...], "cache_dir", "url"}``
    where ``source``/``train``/``test`` describe the location :func:`load_dataset` would use.
    """
    _check_name(name)
    result: dict[str, Any] = {"name": name, "known": name in known_dataset_names(), "found": False,
                              "source": None, "train": None, "test": None, "locations": [],
                              "cache_dir": str(cache_dir() / name)}
    try:
        result["url"] = _archive_url(name, None)
    except DataError:
        result["url"] = None
    for source, directory in _locations(data_dir):
        train, test = _find_in(directory, name)
        result["locations"].append({"source": source, "dir": str(directory), "exists": directory.is_dir(),
                                    "train": str(train) if train else None, "test": str(test) if test else None})
        if train is not None and not result["found"]:
            result.update(found=True, source=source, train=str(train), test=str(test) if test else None)
    return result


# --------------------------------------------------------------------------------------------- checksums
def git_blob_sha1(data: bytes) -> str:
    """Git's blob id of ``data``: ``sha1(b"blob <len>\\0" + data)``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _file_digests(path: Path) -> dict[str, Any]:
    """sha256, git blob sha1 and size of a file, read once in chunks."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return {"sha256": sha256.hexdigest(), "git-sha1": sha1.hexdigest(), "bytes": size}


def _expected(filename: str) -> list[tuple[str, str]]:
    entry = KNOWN_CHECKSUMS.get(filename)
    if not entry:
        return []
    items = [entry] if isinstance(entry, str) else list(entry)
    out = []
    for item in items:
        algo, _, digest = str(item).partition(":")
        algo = algo.strip().lower().replace("_", "-")
        algo = {"gitsha1": "git-sha1", "git": "git-sha1", "git-blob": "git-sha1"}.get(algo, algo)
        if algo not in ("git-sha1", "sha256") or not digest:
            raise DataError(f"bad KNOWN_CHECKSUMS entry for {filename}: {item!r} "
                            "(use 'sha256:<hex>' or 'git-sha1:<hex>')")
        out.append((algo, digest.strip().lower()))
    return out


def _checksum_ok(filename: str, digests: Mapping[str, Any]) -> bool | None:
    """True/False if ``filename`` has a registry entry and matches/does not; None without an entry."""
    expected = _expected(filename)
    if not expected:
        return None
    return any(digests[algo] == digest for algo, digest in expected)


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
        raise DataError(f"cannot parse {path}: label {unknown[0]!r} of case {first} is not among the declared "
                        f"@classLabel values {declared} (corrupt or truncated file?); {hint}")
    return np.array([mapping[label] for label in labels.tolist()], dtype=object).astype(str)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# ----------------------------------------------------------------------------------------------- download
def _download(name: str, url: str, root: Path, timeout: float,
              validate: Callable[[Path, Path | None, str], _T]) -> tuple[Path, dict[str, Any], _T]:
    """Download ``url`` (the archive ``NAME.zip``) into ``root/NAME`` atomically; return (folder, manifest,
    ``validate(train, test, hint)``).

    The zip goes to a temporary folder inside ``root``; only ``NAME_TRAIN.ts``/``NAME_TEST.ts`` are kept,
    checked against :data:`KNOWN_CHECKSUMS`, parsed by ``validate``, and the folder is renamed into place.
    Any failure removes the temporary folder, so the cache never holds a partial or unreadable download.
    """
    target = root / name
    by_hand = (f"download it yourself and put {name}_TRAIN.ts and {name}_TEST.ts into {target} "
               "(or a folder passed as data_dir / TSCOMPRESS_DATA_DIR)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-download-", dir=root))
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {root} ({exc.strerror or exc}); set TSCOMPRESS_CACHE_DIR "
                        f"to a writable folder, or {by_hand}") from None
    try:
        zip_path = work / f"{name}.zip"
        zip_sha256, zip_bytes = _fetch(url, zip_path, timeout, by_hand)
        staged = work / name
        staged.mkdir()
        files = _extract(zip_path, name, staged, url, by_hand)
        test = staged / f"{name}_TEST.ts"
        parsed = validate(staged / f"{name}_TRAIN.ts", test if test.exists() else None,
                          f"the download from {url} was discarded; {by_hand}")
        manifest = {
            "tscompress_manifest": 1,
            "name": name,
            "url": url,
            "zip_sha256": zip_sha256,
            "zip_bytes": zip_bytes,
            "downloaded_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tscompress": __version__,
            "files": files,
        }
        (staged / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _commit(staged, target)
        return target, manifest, parsed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch(url: str, dest: Path, timeout: float, by_hand: str) -> tuple[str, int]:
    """Stream ``url`` into ``dest``; return (sha256, size). Network problems become DataError."""
    request = urllib.request.Request(url, headers={"User-Agent": f"tscompress/{__version__}"})
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as fh:
            expected = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}; {by_hand}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"cannot download {url} ({_short(exc.reason) if exc.reason else exc}); {by_hand}") from None
    except (OSError, http.client.HTTPException, socket.timeout, ValueError) as exc:
        raise DataError(f"cannot download {url} ({type(exc).__name__}: {_short(exc)}); {by_hand}") from None
    if expected is not None and expected.isdigit() and int(expected) != size:
        raise DataError(f"download of {url} was cut short ({size} of {expected} bytes); try again, or {by_hand}")
    return digest.hexdigest(), size


def _extract(zip_path: Path, name: str, staged: Path, url: str, by_hand: str) -> dict[str, Any]:
    """Copy ``NAME_TRAIN.ts`` (required) and ``NAME_TEST.ts`` out of the zip, verify them, return digests."""
    wanted = [f"{name}_TRAIN.ts", f"{name}_TEST.ts"]
    files: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in sorted(archive.infolist(), key=lambda i: (i.filename.startswith("__MACOSX"), len(i.filename))):
                base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
                if not info.is_dir() and base:
                    members.setdefault(base, info)
                    members.setdefault(base.lower(), info)
            if wanted[0] not in members and wanted[0].lower() not in members:
                raise DataError(f"{url} is not a valid archive for {name}: it contains no {wanted[0]}; {by_hand}")
            for filename in wanted:
                info = members.get(filename) or members.get(filename.lower())
                if info is None:
                    continue
                with archive.open(info) as src, open(staged / filename, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise DataError(f"{url} is not a valid zip archive ({_short(exc)}); {by_hand}") from None
    for filename in wanted:
        path = staged / filename
        if not path.exists():
            continue
        digests = _file_digests(path)
        if _checksum_ok(filename, digests) is False:
            expected = ", ".join(f"{a} {d}" for a, d in _expected(filename))
            raise DataError(f"checksum mismatch for {filename} from {url}: expected {expected}, got sha256 "
                            f"{digests['sha256']} / git-sha1 {digests['git-sha1']}; the download was discarded. "
                            f"If the archive changed upstream, {by_hand}")
        files[filename] = digests
    return files


def _commit(staged: Path, target: Path) -> None:
    """Move a complete staged folder into place atomically (TRAIN last when merging into an existing folder)."""
    try:
        os.rename(staged, target)
        return
    except OSError:
        if not target.is_dir():
            raise
    # target exists and is not empty: move file by file, each an atomic rename; TRAIN (what lookup keys on) last
    order = sorted(staged.iterdir(), key=lambda p: p.name.endswith("_TRAIN.ts"))
    for path in order:
        os.replace(path, target / path.name)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("tscompress_manifest") else None


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


# ------------------------------------------------------------------------------------------------ loading
@dataclass
class _Located:
    source: str
    train: Path
    test: Path | None
    manifest: dict[str, Any] | None
    parsed: tuple[_Raw, _Raw | None] | None = None


def _parse_pair(train: Path, test: Path | None, hint: str) -> tuple[_Raw, _Raw | None]:
    train_raw = _read_ts(train, hint)
    test_raw = _read_ts(test, hint) if test is not None else None
    if test_raw is not None and test_raw.n_channels != train_raw.n_channels:
        raise DataError(f"{train.name} has {train_raw.n_channels} channels but {test.name} has "
                        f"{test_raw.n_channels}: the files do not belong together; {hint}")
    return train_raw, test_raw


def _locate(name: str, data_dir: str | os.PathLike[str] | None, download: bool, base_url: str | None,
            notes: list[str]) -> _Located:
    """Find the files in search order, or download (and parse, before caching) them."""
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise DataError(f"data_dir must be a path, got {data_dir!r}")
        if not Path(data_dir).expanduser().is_dir():
            raise DataError(f"data_dir {data_dir} is not a folder")
    env = os.environ.get("TSCOMPRESS_DATA_DIR")
    if env and not Path(env).expanduser().is_dir():
        raise DataError(f"TSCOMPRESS_DATA_DIR={env} is not a folder; fix or unset it")
    searched: list[Path] = []
    for source, directory in _locations(data_dir):
        searched.append(directory)
        train, test = _find_in(directory, name)
        if train is not None:
            return _Located(source, train, test, _read_manifest(train.parent))
    if name not in known_dataset_names():
        raise _unknown_name_error(name, searched)
    root = cache_dir()
    url = _archive_url(name, base_url)
    if not download:
        raise DataError(f"dataset {name} not found locally (looked in {', '.join(map(str, searched))}); put "
                        f"{name}_TRAIN.ts and {name}_TEST.ts into {root / name} or pass data_dir, "
                        f"or allow download from {url}")
    folder, manifest, (train_raw, test_raw) = _download(name, url, root, DOWNLOAD_TIMEOUT, _parse_pair)
    notes.append(f"Downloaded {url} (zip sha256 {manifest['zip_sha256']}) into {folder}.")
    train, test = _find_in(root, name)
    if train is None:  # pragma: no cover - _download guarantees TRAIN
        raise DataError(f"download of {url} produced no {name}_TRAIN.ts in {folder}")
    train_raw.path = train
    if test_raw is not None and test is not None:
        test_raw.path = test
    return _Located("download", train, test, _read_manifest(train.parent) or manifest, (train_raw, test_raw))


def _file_record(path: Path, manifest: dict[str, Any] | None, notes: list[str]) -> dict[str, Any]:
    digests = _file_digests(path)
    if manifest is not None:
        recorded = (manifest.get("files") or {}).get(path.name)
        if isinstance(recorded, dict) and recorded.get("sha256") not in (None, digests["sha256"]):
            raise DataError(f"cached file {path} changed since it was downloaded (sha256 differs from "
                            f"{path.parent / MANIFEST_NAME}); delete the folder {path.parent} to download it again")
    official = _checksum_ok(path.name, digests)
    if official is False:
        notes.append(f"{path.name} at {path.parent} is not byte-identical to the official file (checksum differs); "
                     "it was supplied locally and is used as is.")
    return {"path": str(path), "sha256": digests["sha256"], "bytes": digests["bytes"], "official": official}


def _resolve_protocol(protocol: str, name: str, has_test: bool, train_path: Path, notes: list[str]) -> str:
    if protocol == "auto":
        if has_test:
            notes.append(f"Protocol auto -> official: {name}_TEST.ts was found, so the official TEST split is "
                         "the test set.")
            return "official"
        notes.append(f"Protocol auto -> resample: no {name}_TEST.ts next to {train_path}, so the labelled TRAIN "
                     "cases are re-split (stratified, seeded).")
        return "resample"
    if protocol in ("official", "tslib") and not has_test:
        raise DataError(f"protocol {protocol!r} needs {name}_TEST.ts, which is not next to {train_path}; add the "
                        "TEST file there or use protocol='resample' (stratified re-split of TRAIN)")
    return protocol


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


def _standardize(cases: np.ndarray | list[np.ndarray], train_ids: np.ndarray,
                 notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel train-only standardization, NaN -> 0, right zero-padding; returns (X [n, L, C], mean, std)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(cases, np.ndarray):
            flat = np.swapaxes(cases[train_ids], 0, 1).reshape(cases.shape[1], -1)
        else:
            flat = np.concatenate([cases[i] for i in train_ids], axis=1)
        flat = np.where(np.isfinite(flat), flat, np.nan)
        mean = np.nanmean(flat, axis=1)
        std = np.nanstd(flat, axis=1)
    empty = np.isnan(mean)
    if empty.any():
        notes.append(f"Channel(s) {np.flatnonzero(empty).tolist()} have no finite value in the train part; "
                     "they are set to 0.")
    mean = np.where(empty, 0.0, mean)
    std = np.maximum(np.where(np.isnan(std), 1.0, std), STD_FLOOR)
    n_channels = len(mean)
    if isinstance(cases, np.ndarray):
        z = (cases - mean[None, :, None]) / std[None, :, None]
        X = np.ascontiguousarray(np.swapaxes(z, 1, 2), dtype=np.float32)
        total_inf = int(np.isinf(cases).sum())
    else:
        lengths = [x.shape[1] for x in cases]
        longest = max(lengths)
        X = np.zeros((len(cases), longest, n_channels), dtype=np.float32)
        total_inf = 0
        for i, x in enumerate(cases):
            total_inf += int(np.isinf(x).sum())
            X[i, :x.shape[1]] = ((x - mean[:, None]) / std[:, None]).T
        if min(lengths) != longest:
            notes.append(f"Unequal lengths ({min(lengths)}..{longest} time steps): each series was standardized "
                         f"and then right-padded with zeros to the longest length, {longest}.")
    if total_inf:
        notes.append(f"{total_inf} infinite value(s) were treated as missing.")
    bad = ~np.isfinite(X)
    n_bad = int(bad.sum())
    if n_bad:
        X[bad] = 0.0
        notes.append(f"{n_bad} missing value(s) (NaN) were set to 0 after standardization (the train mean).")
    return X, mean, std


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    protocol: str = "auto",
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.3,
    fold: int = 0,
    n_folds: int = 5,
    download: bool = True,
    base_url: str | None = None,
) -> Dataset:
    """Load a UEA/UCR classification dataset, split it by ``protocol`` and standardize it.

    Args:
        name: dataset name as in the UEA/UCR archive (case-sensitive), e.g. ``"Heartbeat"``.
        data_dir: a folder searched first for ``NAME/NAME_TRAIN.ts`` or ``NAME_TRAIN.ts``; then
            ``$TSCOMPRESS_DATA_DIR``, the cache (:func:`cache_dir`), and the datasets bundled with aeon.
        protocol: ``auto`` | ``official`` | ``resample`` | ``tslib`` | ``cv`` (see the module docstring).
        seed: seeds every split (deterministic).
        val_fraction: share of the train pool used for validation.
        test_fraction: share of all cases used for testing under ``resample``.
        fold, n_folds: test fold and number of folds under ``cv``.
        download: download ``NAME.zip`` into the cache if no local files are found.
        base_url: where ``NAME.zip`` lives; default ``$TSCOMPRESS_UEA_URL`` or :data:`DEFAULT_BASE_URL`.

    Raises:
        DataError: unknown dataset, files missing offline, download/checksum failure, corrupt ``.ts``
            file, or invalid arguments.
    """
    name = _check_name(name)
    protocol_arg = protocol
    protocol, seed, val_fraction, test_fraction, fold, n_folds = _check_args(
        protocol, seed, val_fraction, test_fraction, fold, n_folds, download)
    if base_url is not None:
        _base_url(base_url)
    notes: list[str] = []
    found = _locate(name, data_dir, download, base_url, notes)
    source, train_path, test_path, manifest = found.source, found.train, found.test, found.manifest
    protocol = _resolve_protocol(protocol, name, test_path is not None, train_path, notes)
    if found.parsed is not None:
        train_raw, test_raw = found.parsed
    else:
        hint = (f"delete {train_path.parent} to download it again" if manifest is not None
                else f"replace the file with an intact copy (official archive: {_archive_url(name, base_url)})")
        train_raw, test_raw = _parse_pair(train_path, test_path, hint)
    notes.extend(train_raw.notes + (test_raw.notes if test_raw else []))

    files: dict[str, Any] = {"source": source, "dir": str(train_path.parent),
                             "train": _file_record(train_path, manifest, notes),
                             "test": _file_record(test_path, manifest, notes) if test_path else None}
    if manifest is not None:
        files.update(manifest=str(train_path.parent / MANIFEST_NAME), zip_sha256=manifest.get("zip_sha256"),
                     url=manifest.get("url"))

    # pool TRAIN then TEST; class ids by sorted class names
    parts = [train_raw] + ([test_raw] if test_raw is not None else [])
    labels = np.concatenate([p.labels for p in parts])
    if all(isinstance(p.cases, np.ndarray) for p in parts) and len({p.cases.shape[2] for p in parts}) == 1:
        cases: np.ndarray | list[np.ndarray] = np.concatenate([p.cases for p in parts])
    else:
        cases = [x for p in parts for x in p.cases]
    classes = sorted(set(labels.tolist()))
    y = np.searchsorted(np.array(classes), labels).astype(np.int64)
    if len(classes) < 2:
        raise DataError(f"{name} has a single class ({classes[0]!r}); classification needs at least two")

    train_ids, val_ids, test_ids = _protocol_indices(protocol, y, train_raw.n, seed, val_fraction, test_fraction,
                                                     fold, n_folds, notes)
    pool_parts = {"train": train_ids, "val": val_ids, "test": test_ids}
    _missing_class_notes(y, classes, pool_parts if protocol != "tslib" else {"train": train_ids, "test": test_ids},
                         notes)

    X, mean, std = _standardize(cases, train_ids, notes)
    X_t = torch.from_numpy(X)
    y_t = torch.from_numpy(y)

    def make(ids: np.ndarray) -> Split:
        ids = np.asarray(ids, dtype=np.int64)
        return Split(X=X_t[ids], y=y_t[ids], index=ids, classes=list(classes))

    params = {"requested_protocol": protocol_arg, "seed": seed, "val_fraction": val_fraction,
              "test_fraction": test_fraction, "fold": fold, "n_folds": n_folds,
              "n_train_file": train_raw.n, "n_test_file": test_raw.n if test_raw else 0}
    return Dataset(name=name, protocol=protocol, train=make(train_ids), val=make(val_ids), test=make(test_ids),
                   classes=list(classes), mean=mean, std=std, official_test=protocol in ("official", "tslib"),
                   notes=notes, files=files, params=params)


# ---------------------------------------------------------------------------------------------- subsample
def subsample(dataset: Dataset, max_train: int | None = None, max_eval: int | None = None,
              seed: int = 0) -> Dataset:
    """A smaller copy for quick runs: at most ``max_train`` train cases and ``max_eval`` val and test cases,
    each chosen stratified (seeded). Standardization statistics stay those of the full train part."""
    for value, what in ((max_train, "max_train"), (max_eval, "max_eval")):
        if value is not None and _check_int(value, what) < 1:
            raise DataError(f"{what} must be >= 1 or None, got {value}")
    seed = _check_int(seed, "seed")
    if seed < 0:
        raise DataError(f"seed must be >= 0, got {seed}")

    def shrink(split: Split, limit: int | None, stage: int) -> Split:
        if limit is None or len(split) <= limit:
            return split
        mask = _stratified_pick(split.y.numpy(), int(limit), _rng(seed, 10, stage))
        keep = np.flatnonzero(mask)
        return Split(X=split.X[keep], y=split.y[keep], index=split.index[keep], classes=list(split.classes))

    train = shrink(dataset.train, max_train, 0)
    val = shrink(dataset.val, max_eval, 1)
    same = np.array_equal(dataset.val.index, dataset.test.index)
    test = val if same else shrink(dataset.test, max_eval, 2)
    changed = [f"{part} {len(old)} -> {len(new)}" for part, old, new in
               (("train", dataset.train, train), ("val", dataset.val, val), ("test", dataset.test, test))
               if len(old) != len(new)]
    if not changed:
        return dataset
    notes = list(dataset.notes) + [
        f"Subsampled for a quick run (stratified, seed {seed}): {', '.join(changed)} cases; standardization "
        "statistics are those of the full train part."]
    params = dict(dataset.params, max_train=max_train, max_eval=max_eval, subsample_seed=seed)
    return dataclasses.replace(dataset, train=train, val=val, test=test, notes=notes, params=params,
                               files=dict(dataset.files))

