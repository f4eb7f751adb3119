"""Links between the editions: every page names its counterpart in the other language."""

from __future__ import annotations

import html
import os
from pathlib import Path

from ..results import atomic_write_text
from .localize import LANGS, NOTEBOOK_FOLDERS


def _counterpart(rel: str, lang: str, other: str) -> str:
    """The page of the ``other`` edition that shows what ``rel`` (a page of ``lang``) shows."""
    parts = rel.split("/")
    if parts[:2] == ["book", lang]:
        parts[1] = other
    elif len(parts) >= 3 and parts[:2] == ["book", "_generated"] and NOTEBOOK_FOLDERS[lang] in parts[2:-1]:
        i = parts.index(NOTEBOOK_FOLDERS[lang], 2)
        parts[i] = NOTEBOOK_FOLDERS[other]
    return "/".join(parts)


def link_editions(output: Path, langs: list[str]) -> int:
    """Point every page's edition switch (``a.tscompress-lang``) at the same page of the other edition,
    or at its first page where that edition has no such page, by a path relative to the page: it
    works without JavaScript, at any depth of the book. Returns the number of pages changed."""
    import re

    changed = 0
    for lang in langs:
        html_dir = output / lang / "_build" / "html"
        for other in (o for o in LANGS if o != lang):
            other_dir = output / other / "_build" / "html"
            pattern = re.compile(r'(<a class="tscompress-lang" href=")[^"]*(" data-other="' + other + '")')
            for page in html_dir.rglob("*.html"):
                text = page.read_text(encoding="utf-8")
                if "tscompress-lang" not in text:
                    continue
                target = other_dir / _counterpart(page.relative_to(html_dir).as_posix(), lang, other)
                if not target.is_file():
                    target = other_dir / "book" / other / "index.html"
                href = Path(os.path.relpath(target, page.parent)).as_posix()
                new = pattern.sub(lambda m: m.group(1) + html.escape(href) + m.group(2), text)
                if new != text:
                    atomic_write_text(page, new)
                    changed += 1
    return changed
