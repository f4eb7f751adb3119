"""Every check that can fail a run, made before its first chapter: the chapters' parameters, the tools a build
needs (TeX for the PDF, Ray for the ray executor, Jupyter Book) and the data of every dataset."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .data import load_dataset
from .errors import BookError, ConfigError, DataError
from .graph import ray_module
from .runner import check_common, coerce_parameters, notebook_parameters

__all__ = ["jupyter_book_command", "preflight"]


def jupyter_book_command() -> list[str]:
    """The ``jupyter-book`` command of this Python, else the one on the PATH (one line if there is none)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if not found:
        raise BookError("jupyter-book is not installed: pip install 'jupyter-book<2'")
    return [found]


def preflight(chapters: list[str], datasets: list[str], params: Mapping[str, Any], *, root: Path,
              executor: str = "local", pdf: bool = False, book: bool = False) -> None:
    """Every check that can fail a run, before its first chapter (one line each): each chapter's parameters on
    each dataset, TeX for ``pdf``, Ray for the ray executor, the Jupyter Book binary for ``book``, and every
    dataset's files — found (or downloaded) and read — so that a bad parameter, a missing tool or a corrupt file is
    reported in seconds, not after an hour of chapters."""
    for chapter in chapters:
        defaults = notebook_parameters(root / "notebooks" / f"{chapter}.ipynb")
        for dataset in datasets:
            checked, _ = coerce_parameters(defaults, {**params, "dataset": dataset}, chapter)
            check_common(checked, defaults, chapter)
    if pdf and not (shutil.which("xelatex") and shutil.which("latexmk")):
        raise ConfigError("--pdf needs xelatex and latexmk (Debian: texlive-xetex texlive-latex-extra "
                          "texlive-lang-cyrillic fonts-freefont-otf latexmk texlive-fonts-recommended)")
    if executor == "ray":
        ray_module()
    if book:
        jupyter_book_command()
    protocol = params.get("protocol", "auto")
    for name in datasets:
        try:  # reads and checks the files; downloads a known dataset once, as the first chapter would
            load_dataset(name, params.get("data_dir"), protocol=protocol if isinstance(protocol, str) else "auto")
        except DataError as exc:
            raise DataError(f"dataset {name}: {exc}") from None
