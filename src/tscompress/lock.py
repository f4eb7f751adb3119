"""The locked environment: ``requirements.lock`` holds the exact version of every package tscompress needs
(its dependencies, the ``dev`` and ``ray`` extras, and theirs), as installed where the CI build ran.

:func:`closure` walks the installed distributions from tscompress's own requirements; :func:`render` writes the
lock (``scripts/lock.py`` calls both); :func:`status` compares the lock with what is installed, for the first page
of the book (the lock's hash, and whether this build ran on it)."""

from __future__ import annotations

import hashlib
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["EXTRAS", "LOCK_NAME", "closure", "read_lock", "render", "status"]

LOCK_NAME = "requirements.lock"
#: the extras the lock covers: the test tools and the distributed executor (what CI installs)
EXTRAS = ("dev", "ray")


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution, extras: tuple[str, ...]) -> list[str]:
    from packaging.requirements import Requirement

    names = []
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
            continue
        names.append(req.name)
    return names


def closure(root: str = "tscompress", extras: tuple[str, ...] = EXTRAS) -> dict[str, str]:
    """Canonical name -> installed version of every distribution ``root[extras]`` needs, transitively (``root``
    itself left out). A requirement that is not installed is an error: the lock would not be complete."""
    seen: dict[str, str] = {}
    todo = _requirements(metadata.distribution(root), extras)
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{name} is required but not installed: install tscompress[{','.join(extras)}] "
                               "first") from None
        seen[name] = dist.version
        todo.extend(_requirements(dist, ()))
    seen.pop(canonical(root), None)
    return dict(sorted(seen.items()))


def direct(root: str = "tscompress", extras: tuple[str, ...] = EXTRAS) -> list[str]:
    """Canonical names of ``root``'s own requirements with ``extras`` (what pyproject.toml lists)."""
    return sorted({canonical(n) for n in _requirements(metadata.distribution(root), extras)})


def _pin(version: str) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: a local build label is the wheel's, not the release's (pip's ``==2.13.0``
    accepts ``2.13.0+cpu``; setup.sh chooses the torch build)."""
    return version.split("+", 1)[0]


def render(pins: dict[str, str], top: list[str]) -> str:
    """The lock file's text: a header saying where it came from, then ``name==version`` lines, the packages
    pyproject.toml names marked ``# direct``."""
    lines = [
        "# requirements.lock: the exact versions tscompress[dev,ray] ran with in the CI build (every package,",
        "# transitively). Written by `python scripts/lock.py` from the environment it runs in; installed by",
        "# `bash scripts/setup.sh` (torch first, its build from TORCH_SPEC). Refresh: see README, 'The lock'.",
        f"# python {platform.python_version()} on {platform.system()} {platform.machine()}",
    ]
    for name, version in pins.items():
        lines.append(f"{name}=={_pin(version)}" + ("  # direct" if name in top else ""))
    return "\n".join(lines) + "\n"


def read_lock(path: str | Path) -> dict[str, str]:
    """Canonical name -> pinned version of a lock file."""
    pins: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            name, _, version = text.partition("==")
            pins[canonical(name)] = version.strip()
    return pins


def status(root: Path) -> dict[str, Any]:
    """The lock's sha256 (first 12 hex digits) and the installed packages whose version differs from it
    (``{name: [locked, installed]}``; a package the lock names but this Python lacks shows ``None``)."""
    path = Path(root) / LOCK_NAME
    if not path.is_file():
        return {"lock": None, "differs": {}}
    differs: dict[str, list[str | None]] = {}
    for name, version in read_lock(path).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or _pin(installed) != version:
            differs[name] = [version, installed]
    return {"lock": hashlib.sha256(path.read_bytes()).hexdigest()[:12], "differs": differs}
