"""What the comparison chapter found: its recommendation, how many variants differ from the fp32 TimesNet, and the
spread of latency.

Every function reads rows of the chapter's comparison table (``compare.compare`` output: ``method``, ``setting``,
``base``, ``stored_bytes``, ``test_accuracy``, ``p_value``, ``significant``, ``latency_b1_rel``) and returns the
edition's sentence from the phrase table.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import phrases
from ..names import kib, number, p_value, plural, variant_name
from . import DIFFER

__all__ = ["recommendation_text", "recommendation_note", "significance_text", "latency_text"]

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings_comparison")


LISTED_AT_MOST = 4
"""Up to this many significant variants are named with their p-values; more are counted."""


def _p(key: str, lang: str, **values: object) -> str:
    return _PHRASES[key][lang].format(**values)


def recommendation_text(nothing_to_lose: bool, smallest_ok: Mapping[str, Any] | None, lang: str) -> str:
    """The chapter's recommendation, said once at its top: none when the fp32 TimesNet has no measured accuracy to
    lose (``compare.nothing_to_lose``); else the smallest variant at least as good as it on validation, or that
    there is none."""
    if nothing_to_lose:
        return _p("nothing_to_lose", lang)
    if smallest_ok is None:
        return _p("none_as_good", lang)
    return _p("smallest", lang, name=variant_name(smallest_ok, lang), base=smallest_ok["base"],
              size=kib(smallest_ok["stored_bytes"], lang), acc=number(smallest_ok["test_accuracy"], lang))


def recommendation_note(nothing_to_lose: bool, smallest_ok: Mapping[str, Any] | None, lang: str) -> str:
    """What the section of budget picks says about them: the top's recommendation once more when there is one, a
    pointer back to the top (not the same sentence twice) when there is nothing to recommend."""
    if nothing_to_lose:
        return _p("picks_not_recommended", lang)
    return recommendation_text(nothing_to_lose, smallest_ok, lang)


def significance_text(significant: Sequence[Mapping[str, Any]], lang: str) -> str:
    """Which variants differ significantly from the fp32 TimesNet on the test cases (exact McNemar): named with
    their p-values up to :data:`LISTED_AT_MOST`, counted beyond (the table of every variant marks them with *). The
    pages put it after "of the N variants tested against the fp32 TimesNet," / «из N вариантов, сравнённых …»."""
    k = len(significant)
    if k == 0:
        return _p("significant_none", lang)
    if k > LISTED_AT_MOST:
        return _p("significant_many", lang, k=k, verb=plural(k, DIFFER[lang], lang))
    listed = ", ".join(f"{variant_name(r, lang)} ({r['base']}, {p_value(r['p_value'], lang)})" for r in significant)
    return _p("significant_listed", lang, items=listed)


def latency_text(rows: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The span of relative latency at batch 1 over the saved TimesNet variants (fastest and slowest named)."""
    if not rows:
        return _p("latency_none", lang)
    ordered = sorted(rows, key=lambda r: r["latency_b1_rel"])
    fastest, slowest = ordered[0], ordered[-1]
    return _p("latency_span", lang, fast=number(fastest["latency_b1_rel"], lang, 2), fast_name=variant_name(fastest, lang),
              slow=number(slowest["latency_b1_rel"], lang, 2), slow_name=variant_name(slowest, lang))
