"""``tscompress book``: run the chapters, stage their results, build both editions (HTML, PDF).

The build never writes into the repository's own ``book/`` folder. It assembles a source tree in
``<output>/src`` — the two configs and tables of contents, the narrative pages, and under
``book/_generated/`` the computed tables, figures, numbers and executed notebooks of the chosen
profile plus the run manifest — and builds each edition from it with Jupyter Book 1.x into
``<output>/<lang>/_build/{html,latex}``. A landing page ``<output>/index.html`` links the
editions and the PDFs. Sphinx warnings fail the build (a missing figure, table or glue key is a
warning), so a book that builds is a book with nothing missing.
"""


from ..preflight import jupyter_book_command
from .build import build_book
from .links import link_editions
from .localize import LANGS, NOTEBOOK_FOLDERS, edition_notebook, localize_table, path_replacements, scrub_paths
from .manifest import manifest_markdown
from .stage import stage_sources

__all__ = ["LANGS", "NOTEBOOK_FOLDERS", "build_book", "edition_notebook", "jupyter_book_command", "link_editions", "localize_table",
           "manifest_markdown", "path_replacements", "scrub_paths", "stage_sources"]
