"""One phrase table per edition: ``en.toml`` and ``ru.toml`` beside this module.

Every label, caption, name and sentence template the library writes into the book lives there, by section
(the module that uses a section is named beside it). A module takes its section as ``{key: {"en": …, "ru": …}}``
with :func:`table`; both editions must have the same sections and keys (:func:`check`, and a test).
Templates use :meth:`str.format` fields; numbers, plurals and the Russian noun forms are filled in by
:mod:`tscompress.names`.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("en", "ru")
HERE = Path(__file__).resolve().parent


@cache
def edition(lang: str) -> dict[str, dict[str, str]]:
    """The whole phrase table of one edition, ``{section: {key: text}}``."""
    if lang not in LANGS:
        raise ValueError(f"unknown edition {lang!r}; editions: {', '.join(LANGS)}")
    with open(HERE / f"{lang}.toml", "rb") as fh:
        return tomllib.load(fh)


def _fields(text: str) -> set[str]:
    """The :meth:`str.format` fields a template fills (by name, without format spec)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def check() -> list[str]:
    """What differs between the editions' tables: sections or keys one lacks, templates that fill other fields,
    empty texts."""
    problems = []
    tables = {lang: edition(lang) for lang in LANGS}
    for section in sorted(set().union(*tables.values())):
        for lang in LANGS:
            for other in LANGS:
                missing = set(tables[other].get(section, {})) - set(tables[lang].get(section, {}))
                if other != lang and missing:
                    problems.append(f"{lang}.toml [{section}] lacks {', '.join(sorted(missing))}")
            if lang != LANGS[0]:
                for k, text in tables[lang].get(section, {}).items():
                    first = tables[LANGS[0]].get(section, {}).get(k)
                    if isinstance(first, str) and isinstance(text, str) and _fields(text) != _fields(first):
                        problems.append(f"[{section}] {k}: fields {sorted(_fields(first))} in {LANGS[0]}.toml, "
                                        f"{sorted(_fields(text))} in {lang}.toml")
            empty = [k for k, v in tables[lang].get(section, {}).items() if not isinstance(v, str) or not v.strip()]
            if empty:
                problems.append(f"{lang}.toml [{section}] has empty or non-text entries: {', '.join(empty)}")
    return problems


def table(section: str) -> dict[str, dict[str, str]]:
    """Section ``section`` of both editions as ``{key: {"en": text, "ru": text}}``, in the tables' order."""
    tables = {lang: edition(lang) for lang in LANGS}
    if any(section not in t for t in tables.values()):
        raise KeyError(f"no phrase section [{section}] in {', '.join(f'{lang}.toml' for lang in LANGS)}")
    keys = list(tables[LANGS[0]][section])
    for lang in LANGS[1:]:
        if set(tables[lang][section]) != set(keys):
            raise KeyError(f"phrase section [{section}] has other keys in {lang}.toml than in {LANGS[0]}.toml")
    return {k: {lang: tables[lang][section][k] for lang in LANGS} for k in keys}


@cache
def glossary() -> tuple[dict[str, Any], ...]:
    """The glossary (``glossary.toml``): one term per concept, its name in each edition, the words an edition
    avoids for it (``<lang>_avoid``) and its meaning in each edition (``<lang>_meaning``)."""
    with open(HERE / "glossary.toml", "rb") as fh:
        return tuple(tomllib.load(fh)["term"])


def avoided(lang: str) -> dict[str, str]:
    """Word an edition avoids -> the glossary term it uses instead."""
    return {word: term[lang] for term in glossary() for word in term.get(f"{lang}_avoid", [])}


def glossary_markdown(lang: str) -> str:
    """The glossary page's body in ``lang``: a definition list in the edition's alphabetical order, each term with
    the other edition's name for it."""
    other = next(x for x in LANGS if x != lang)
    lines = []
    for term in sorted(glossary(), key=lambda t: t[lang].lower().replace("ё", "е")):
        lines += [f"{term[lang]} ({term[other]})", f": {term[f'{lang}_meaning']}", ""]
    return "\n".join(lines)
