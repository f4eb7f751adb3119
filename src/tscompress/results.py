"""Where results go, and how they are written.

A chapter notebook writes everything it produces into one folder, ``<results_dir>/<chapter>/``
(``results/<profile>/<dataset>/00_models/`` by default): tables as CSV, figures as PNG and SVG, numbers as
JSON (and myst-nb ``glue`` for the book), checkpoints, and a ``manifest.json`` that records the
run (profile, dataset, protocol, seeds, device, versions, commit, wall time).

Every write is atomic (a temporary file in the same folder, then ``os.replace``), so an interrupted
run never leaves a half-written file where a reader or a later chapter would take it for a result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "read_json",
    "to_jsonable",
    "git_commit",
    "environment_info",
    "project_root",
    "sha256_file",
    "ChapterRun",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike):
    """Yield a binary file handle on a temporary file next to ``path``; on success it is synced and
    moved into place with ``os.replace`` (with the permissions a plain ``open`` would give it), on
    error it is deleted and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on success move it into place, on error delete it.

    For writers that insist on a file name (``torch.save``, ``matplotlib.savefig``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy / torch scalars and arrays, paths and tuples into plain JSON values (NaN → null)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return to_jsonable(obj.item())
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The repository root: ``TSCOMPRESS_ROOT``, else the nearest folder above ``start`` (default:
    the working directory, then this package's location) holding ``notebooks/`` and ``_toc.yml``."""
    env = os.environ.get("TSCOMPRESS_ROOT")
    if env:
        return Path(env).resolve()
    candidates = [Path(start).resolve()] if start else [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for base in candidates:
        for folder in [base, *base.parents]:
            if (folder / "notebooks").is_dir() and (folder / "_toc.yml").is_file():
                return folder
    return None


def git_commit(root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The commit the code was run from, and whether the work tree had uncommitted changes."""
    root = Path(root) if root else project_root() or Path.cwd()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def environment_info(device: str | None = None) -> dict[str, Any]:
    """Versions and hardware, for manifests."""
    import torch

    from . import __version__

    info: dict[str, Any] = {
        "tscompress": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    for name in ("aeon", "pandas", "matplotlib", "papermill"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", None)
        except ImportError:  # pragma: no cover - all are dependencies
            info[name] = None
    if device and device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    root = project_root()
    if root is not None:  # the lock's hash and the packages installed at other versions than it pins
        from .lock import status

        info["lock"] = status(root)
    return info


class _Plain:
    """A glued string that the book shows exactly as written.

    myst-nb's ``{glue:text}`` runs ``ast.literal_eval`` on the plain-text representation before
    formatting, so the representation must be a string literal: a bare ``3,498`` would come out as
    the tuple ``(3, 498)`` and ``0.70`` as ``0.7``."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return repr(self.text)


class ChapterRun:
    """The output folder of one chapter run, with atomic writers and the run manifest.

    ``out_dir`` defaults to ``<results_dir>/<chapter>``; the CLI passes a temporary folder instead
    and moves it into place only when the whole notebook succeeded.
    """

    def __init__(self, chapter: str, results_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                 profile: Any = None, parameters: Mapping[str, Any] | None = None):
        self.chapter = chapter
        self.results_dir = Path(results_dir)
        self.out_dir = Path(out_dir) if out_dir else self.results_dir / chapter
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self.parameters = dict(parameters or {})
        self.started = time.time()
        self.numbers: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.files: list[str] = []

    # -- paths ---------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        p = self.out_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def upstream(self, chapter: str, name: str = "") -> Path:
        """A file written by an earlier chapter of the same results folder."""
        return self.results_dir / chapter / name

    def _record(self, path: Path) -> None:
        rel = str(path.relative_to(self.out_dir))
        if rel not in self.files:
            self.files.append(rel)

    # -- writers -------------------------------------------------------------------------------
    def save_table(self, df, name: str, index: bool = False) -> Path:
        """A CSV table (``name`` without suffix)."""
        path = self.path(f"{name}.csv")
        atomic_write_text(path, df.to_csv(index=index, lineterminator="\n"))
        self._record(path)
        return path

    def save_tables(self, make: Callable[[str], Any], name: str, langs: Iterable[str] = ("ru", "en")) -> None:
        """A table once per language, ``make(lang)`` saved as ``name.<lang>.csv``. Inside a notebook
        the last language's table is shown once, tagged with ``TABLE_METADATA`` so that the book's
        Russian appendix shows the Russian table in its place (as :meth:`save_figures` does)."""
        langs = list(langs)
        shown = None
        for lang in langs:
            shown = make(lang)
            self.save_table(shown, f"{name}.{lang}")
        if shown is not None and _in_kernel():
            from IPython.display import display

            display(ShownTable(shown), metadata={TABLE_METADATA: {"name": name, "lang": langs[-1]}})

    def save_figure(self, fig, name: str, dpi: int = 150) -> tuple[Path, Path]:
        """A matplotlib figure as PNG (for HTML and PDF) and SVG (for readers who want vectors)."""
        out = []
        for ext in ("png", "svg"):
            path = self.path(f"{name}.{ext}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
            self._record(path)
            out.append(path)
        return out[0], out[1]

    def say(self, lines: Mapping[str, str]) -> None:
        """A line the executed notebook shows, in each edition's words (``{"en": ..., "ru": ...}``). Inside a
        notebook the English line is shown, tagged with ``SAY_METADATA`` holding the others, so that each edition's
        appendix shows its own (:func:`tscompress.book.localize.edition_notebook`); outside one it is printed."""
        if not _in_kernel():
            print(lines["en"])
            return
        from IPython.display import display

        display({"text/plain": lines["en"]}, raw=True,
                metadata={SAY_METADATA: {k: v for k, v in lines.items() if k != "en"}})

    def save_figures(self, make: Callable[[str], Any], name: str, langs: Iterable[str] = ("ru", "en")) -> None:
        """Draw a figure once per language with ``make(lang)`` and save each as ``name.<lang>``; all
        are closed. Inside a notebook the last language's PNG is shown once, tagged with
        ``FIGURE_METADATA`` so that the book's Russian appendix can show the Russian file instead."""
        import matplotlib.pyplot as plt

        langs = list(langs)
        shown = None
        from .plots import finish_figure

        for lang in langs:
            fig = finish_figure(make(lang), lang)
            shown, _ = self.save_figure(fig, f"{name}.{lang}")
            plt.close(fig)
        if shown is not None and _in_kernel():
            from IPython.display import Image, display

            display(Image(filename=str(shown)), metadata={FIGURE_METADATA: {"name": name, "lang": langs[-1]}})

    def save_json(self, obj: Any, name: str) -> Path:
        path = self.path(f"{name}.json")
        write_json(path, obj)
        self._record(path)
        return path

    def glue(self, key: str, value: Any, fmt: str | None = None) -> Any:
        """Record a number for the book: myst-nb ``glue`` (inside a notebook) and ``numbers.json``.

        With ``fmt`` the value is glued as preformatted text (``fmt.format(value)``), so the page
        shows exactly that; without it, numbers are glued as numbers (pages may format them)."""
        if key in self.numbers:  # myst-nb would refuse the page later, far from the cause
            raise ValueError(f"glue key {key!r} set twice in chapter {self.chapter}")
        shown = fmt.format(value) if fmt else value
        self.numbers[key] = to_jsonable(value if fmt is None else shown)
        try:
            from myst_nb import glue as nb_glue
        except ImportError:  # pragma: no cover - myst-nb comes with jupyter-book
            nb_glue = None
        if nb_glue is not None and _in_kernel():
            nb_glue(key, _Plain(shown) if isinstance(shown, str) else shown, display=False)
        write_json(self.path("numbers.json"), self.numbers)
        return shown

    def glue_counted(self, key: str, n: int, *nouns: str, fmt: str | None = None) -> None:
        """Glue the count ``n`` as ``key`` and, for each Russian noun of
        :data:`tscompress.names.RU_NOUNS` (``"case.prep"``), ``<key>_ru_<noun>`` holding the number
        with the noun in agreement (``key_ru_case_prep`` = «61 примере»), so that no page puts a
        fixed noun form after a glued number."""
        from .names import RU_NOUNS, counted

        self.glue(key, int(n), fmt)
        for noun in nouns:
            self.glue(f"{key}_ru_{noun.replace('.', '_')}", counted(int(n), RU_NOUNS[noun], "ru"))

    @contextlib.contextmanager
    def timed(self, name: str):
        """Measure a stage's wall time into the manifest."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """JSON result ``name`` from an earlier attempt of this run if present, else compute and save.

        Lets an interrupted chapter resume without recomputing finished pieces."""
        path = self.path(f"{name}.json")
        if path.exists():
            return read_json(path)
        value = compute()
        write_json(path, value)
        self._record(path)
        return value

    def finish(self, **extra: Any) -> Path:
        """Write ``manifest.json``: what ran, where, with which versions, and how long it took."""
        manifest = {
            "chapter": self.chapter,
            "profile": getattr(self.profile, "name", self.profile),
            "profile_settings": self.profile.to_dict() if hasattr(self.profile, "to_dict") else None,
            "parameters": self.parameters,
            "started": datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(time.time() - self.started, 2),
            "timings": self.timings,
            "git": git_commit(),
            "files": sorted(self.files),
            **extra,
        }
        manifest.setdefault("environment", environment_info(extra.get("device")))
        return write_json(self.path("manifest.json"), manifest)


FIGURE_METADATA = "tscompress_figure"
"""Output metadata key of a figure shown by :meth:`ChapterRun.save_figures` (its base name and language)."""


class ShownTable:
    """A table as a notebook shows it: HTML and plain text without the row index (the book's tables
    have none). The Russian appendix renders its own table through the same two methods."""

    def __init__(self, df):
        self.df = df

    def _repr_html_(self) -> str:
        return self.df.to_html(index=False, border=0, classes="dataframe", na_rep="")

    def __repr__(self) -> str:
        return self.df.to_string(index=False, na_rep="")


TABLE_METADATA = "tscompress_table"
"""Output metadata key of a table shown by :meth:`ChapterRun.save_tables` (its base name and language)."""

SAY_METADATA = "tscompress_say"
"""Output metadata of a line shown by :meth:`ChapterRun.say`: the line in the editions other than English."""


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None

