"""Sphinx extension of the book's PDF edition: the executed notebooks stay in the HTML edition.

The chapters are the PDF; the appendix of executed notebooks (code listings and every printed line, about three
quarters of the pages) is read in the HTML edition, where it stays whole. The notebooks remain in the table of
contents, so both builders read them (their glued values reach the chapters) and references to them resolve;
only the LaTeX document drops them after references are resolved. Pages say where the notebooks are with
``{only} html`` / ``{only} latex`` blocks.

LaTeX numbers every chapter; the reference pages after the chapters (the glossary) are not a seventh chapter of the
study, so ``\\appendix`` goes before the first of them and the PDF letters them (Appendix A, Приложение А).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes

#: Documents under this folder are the staged results: the executed notebooks of every dataset.
NOTEBOOKS = "book/_generated/"

#: The reference pages after the chapters, by their name in either edition's folder.
REFERENCE_PAGES = ("glossary",)


def drop_notebooks(app: Any, doctree: Any, docname: str) -> None:
    """Remove the executed notebooks from the LaTeX builder's assembled document, and start LaTeX's appendix
    before the first reference page."""
    if app.builder.name != "latex":
        return
    appendix = False
    for node in list(doctree.findall(addnodes.start_of_file)):
        name = str(node.get("docname", ""))
        if name.startswith(NOTEBOOKS) and node.parent is not None:
            node.parent.remove(node)
        elif not appendix and name.rsplit("/", 1)[-1] in REFERENCE_PAGES and node.parent is not None:
            node.parent.insert(node.parent.index(node), nodes.raw("", "\\appendix\n", format="latex"))
            appendix = True


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-resolved", drop_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
