"""Downloading the official archive once into the cache, atomically and checked."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from .. import __version__
from ..errors import DataError
from .locate import _CHUNK, _checksum_ok, _expected, _file_digests
from .tsfile import _short

#: Seconds before a silent connection or read gives up (no retries).
DOWNLOAD_TIMEOUT = 30.0

MANIFEST_NAME = "manifest.json"
_T = TypeVar("_T")


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


