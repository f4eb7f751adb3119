"""Build a chapter notebook from its py-percent source in ``notebooks/src``.

Usage: ``python scripts/nb_from_py.py notebooks/src/01_sparsification.py`` writes
``notebooks/01_sparsification.ipynb`` (no outputs). Cells are separated by ``# %%`` lines;
``# %% [markdown]`` starts a markdown cell (``# `` prefixes are stripped), ``# %% [markdown] lang=ru`` the
Russian version of the markdown cell before it (tagged ``lang-ru``: the book shows each edition its own
language); ``# %% tags=parameters`` marks papermill's parameters cell. ``tests/test_notebooks.py`` checks that every committed
notebook equals what this script makes from its source, so edit the source, not the notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def build(source: str) -> nbformat.NotebookNode:
    cells = []
    # text before the first "# %%" line is not a cell (the file may or may not start with a blank line)
    for chunk in ("\n" + source).split("\n# %%")[1:]:
        header, _, body = chunk.partition("\n")
        body = body.strip("\n")
        if header.strip().startswith("[markdown]"):
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
            if "lang=" in header:
                cell.metadata["tags"] = [f"lang-{header.split('lang=', 1)[1].split()[0]}"]
            cells.append(cell)
        else:
            cell = nbformat.v4.new_code_cell(body)
            if "parameters" in header:
                cell.metadata["tags"] = ["parameters"]
            cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    for name in argv:
        src = Path(name)
        out = src.parent.parent / f"{src.stem}.ipynb"
        nbformat.write(build(src.read_text(encoding="utf-8")), out)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
