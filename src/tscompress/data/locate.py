"""Where a dataset's ``.ts`` files are: names, the folders searched, the download cache, the archive address and the
checksums of official files."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DataError

#: Where the official UEA/UCR archive zips live (``<base>/<NAME>.zip``); env ``TSCOMPRESS_UEA_URL`` overrides.
DEFAULT_BASE_URL = "https://timeseriesclassification.com/aeon-toolkit/"

#: Expected digests of official files, ``"<algorithm>:<hex>"`` with algorithm ``git-sha1`` (git blob id,
#: ``sha1(b"blob <size>\\0" + data)``) or ``sha256``. Downloaded files with an entry must match one of the
#: listed digests; local files that do not match are used with a note (the user supplied them).
KNOWN_CHECKSUMS: dict[str, tuple[str, ...]] = {
    "Heartbeat_TRAIN.ts": ("git-sha1:f2dcd7f2c5bc9e3c751cf483d19e94f3031dfffa",),
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_CHUNK = 1 << 20


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
