"""One edition's view of what a chapter wrote: its language's cells and tables, no path of the build machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import phrases
from ..names import localize_numbers
from ..results import FIGURE_METADATA, SAY_METADATA, TABLE_METADATA, ShownTable

LANGS = {"ru": ("_config.yml", "_toc.yml"), "en": ("_config.en.yml", "_toc.en.yml")}
STAGED_SUFFIXES = {".csv", ".png", ".svg", ".json", ".ipynb"}


def path_replacements(root: Path, results_dir: Path) -> list[tuple[str, str]]:
    """Absolute paths of the build machine and what the rendered book shows instead, longest first:
    the results folder and the project relative to the project root, a folder beside the project
    (the data) as ``../<name>``, installed packages as ``site-packages``, the Python installation as
    ``PYTHON``, the home folder as ``~``."""
    import site
    import sysconfig

    root = root.resolve()
    results = results_dir.resolve()
    pairs = {str(results): os.path.relpath(results, root) if results.is_relative_to(root) else results.name,
             str(root): ".", str(root.parent): ".."}
    for prefix in {sysconfig.get_paths()["purelib"], *site.getsitepackages()}:
        pairs[str(Path(prefix).resolve())] = pairs[str(prefix)] = "site-packages"
    for prefix in {sys.prefix, sys.base_prefix}:
        pairs[str(Path(prefix).resolve())] = pairs[str(prefix)] = "PYTHON"
    home = str(Path.home())
    if home not in ("/", ""):
        pairs[home] = "~"
    return sorted(((k, v) for k, v in pairs.items() if k and k != "/"), key=lambda kv: -len(kv[0]))


def scrub_paths(text: str, replacements: list[tuple[str, str]]) -> str:
    """``text`` with every absolute path of :func:`path_replacements` replaced (longest first; a path
    matches only whole: ``/work`` is not replaced inside ``/workspace``)."""
    import re

    for old, new in replacements:
        text = re.sub(re.escape(old) + r"(?![\w.-])", lambda _: new, text)
    return text


NOTEBOOK_FOLDERS = {"en": "nb", "ru": "nb_ru"}
"""Where each edition's copy of the executed chapter notebooks is staged (under ``book/_generated``)."""


def localize_table(text: str, lang: str) -> str:
    """A CSV table's cells with their numbers in the edition's format (cell by cell: a decimal comma
    never splits a column)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[localize_numbers(cell, lang) for cell in row] for row in rows])
    return buf.getvalue()


def _cell_lang(cell: dict) -> str | None:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return next((t[len("lang-"):] for t in tags if t.startswith("lang-")), None)


def _edition_cells(cells: list[dict], lang: str) -> list[dict]:
    """The cells an edition shows: markdown cells tagged ``lang-<xx>`` only in that edition, and an
    untagged (English) markdown cell only where no cell in the edition's language follows it."""
    out = []
    for i, cell in enumerate(cells):
        own = _cell_lang(cell)
        if own is not None:
            if own == lang:
                out.append(cell)
            continue
        following = cells[i + 1] if i + 1 < len(cells) else None
        if cell.get("cell_type") == "markdown" and lang != "en" and following is not None \
                and _cell_lang(following) == lang:
            continue
        out.append(cell)
    return out


def _read_shown_csv(text: str):
    """A staged table as text cells (nothing re-parsed as a number: it is shown as written)."""
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def edition_notebook(text: str, lang: str, folder: Path) -> str:
    """An executed notebook (JSON text) as the ``lang`` edition shows it: glued values and their
    numbers in the edition's format (:func:`tscompress.names.localize_numbers`), and every figure
    that :meth:`~tscompress.results.ChapterRun.save_figures` showed replaced by the edition's own
    file from the chapter's ``folder``."""
    import base64
    import json

    nb = json.loads(text)
    nb["cells"] = _edition_cells(nb.get("cells", []), lang)
    if lang == "en":
        return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) or []:
            meta, data = out.get("metadata") or {}, out.get("data") or {}
            if "scrapbook" in meta:  # a glued value: stored as "<mime_prefix>text/plain" (papermill's record)
                for mime in list(data):
                    if mime.endswith(("text/plain", "text/markdown", "text/html")):
                        value = data[mime]
                        data[mime] = ([localize_numbers(v, lang) for v in value] if isinstance(value, list)
                                      else localize_numbers(value, lang))
            said = meta.get(SAY_METADATA)
            if said and lang in said and "text/plain" in data:  # a line of ChapterRun.say, in this edition
                data["text/plain"] = said[lang]
            figure = meta.get(FIGURE_METADATA)
            if figure and "image/png" in data:
                own = folder / f"{figure['name']}.{lang}.png"
                if own.is_file():
                    data["image/png"] = base64.b64encode(own.read_bytes()).decode("ascii")
                    meta[FIGURE_METADATA] = {**figure, "lang": lang}
            table = meta.get(TABLE_METADATA)
            if table and "text/html" in data:
                own = folder / f"{table['name']}.{lang}.csv"
                if own.is_file():
                    shown = ShownTable(_read_shown_csv(localize_table(own.read_text(encoding="utf-8"), lang)))
                    data["text/html"] = shown._repr_html_()
                    data["text/plain"] = repr(shown)
                    meta[TABLE_METADATA] = {**table, "lang": lang}
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


APPENDIX_CAPTION = phrases.table("appendix")
"""The table of contents' appendix parts: ``root`` as the root ``_toc`` names it, ``dataset`` as a built book names
each dataset's part (the first dataset's included)."""
