"""Sphinx extension of the book's PDF edition: the executed notebooks stay in the HTML edition.

The chapters are the PDF; the appendix of executed notebooks (code listings and every printed line, about three
quarters of the pages) is read in the HTML edition, where it stays whole. The notebooks remain in the table of
contents, so both builders read them (their glued values reach the chapters) and references to them resolve;
only the LaTeX document drops them after references are resolved. Pages say where the notebooks are with
``{only} html`` / ``{only} latex`` blocks.
"""

from __future__ import annotations

from typing import Any

from sphinx import addnodes

#: Documents under this folder are the staged results: the executed notebooks of every dataset.
NOTEBOOKS = "book/_generated/"


def drop_notebooks(app: Any, doctree: Any, docname: str) -> None:
    """Remove the executed notebooks from the LaTeX builder's assembled document."""
    if app.builder.name != "latex":
        return
    for node in list(doctree.findall(addnodes.start_of_file)):
        if str(node.get("docname", "")).startswith(NOTEBOOKS) and node.parent is not None:
            node.parent.remove(node)


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-resolved", drop_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
