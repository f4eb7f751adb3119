"""What a chapter found, computed from its tables and phrased from one phrase table per edition.

A chapter's notebook computes its tables; the functions here read them and return the sentences a page
states — which procedure helped, which hurt, which curves were cut at their cap, what could not be told
apart — so no page and no notebook types a verdict. Each chapter has its module
(:mod:`.quantization`, …); what every chapter needs lives here:

* :func:`stops_text` — how the training curves of a figure or table ended (patience, cap, convergence);
* :func:`paired_changes` — a procedure applied to several models, each paired with the model it started
  from on the same test cases (exact McNemar): how many got significantly better or worse, and which.

Numbers go through :mod:`tscompress.names` (Babel formats, Russian plural agreement), p-values through
:func:`tscompress.names.p_value` (``p < 0.001``, never ``p = 0.000``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from .. import phrases
from ..metrics import mcnemar
from ..names import RU_NOUNS, counted, number, p_value, percent, plural
from ..report import majority_position

__all__ = ["phrase", "stops", "stops_text", "Change", "paired_changes", "ALPHA", "at_majority", "majority_count_text", "DIFFER",
           "significant_count_text", "pair_by_level_text"]

ALPHA = 0.05

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings")


def phrase(key: str, lang: str, **values: object) -> str:
    """The edition's sentence ``key`` of a phrase table, filled in."""
    return _PHRASES[key][lang].format(**values)


def stops(histories: Mapping[str, Sequence[Mapping]]) -> dict[str, str]:
    """name → how the run ended (``patience``, ``cap``, ``converged``, ``fixed``), read from the last record of
    each history (:func:`tscompress.train.fit` writes ``stopped_by`` there)."""
    return {name: str(h[-1].get("stopped_by", "cap")) for name, h in histories.items() if len(h)}


def stops_text(histories: Mapping[str, Sequence[Mapping]], lang: str, cap: str = "",
               names: Mapping[str, str] | None = None) -> str:
    """One sentence: did the runs stop by patience, converge, or were some cut at their cap (named)? ``cap`` is the
    cap as the page words it («30 эпох»); ``names`` maps a history's key to its display name."""
    ended = stops(histories)
    n = len(ended)
    if not n:
        return ""
    count = {kind: [k for k, v in ended.items() if v == kind] for kind in ("patience", "converged", "cap", "fixed")}
    if len(count["fixed"]) == n:
        return phrase("stops_fixed", lang)
    if len(count["patience"]) == n:
        return (phrase("stops_one_patience", lang) if n == 1 else
                phrase("stops_all_patience", lang, n=n if lang == "en" else counted(n, RU_NOUNS["run.nom"], "ru")))
    if n == 1 and count["cap"]:
        return phrase("stops_capped_one", lang, cap=cap)
    if len(count["cap"]) == n:  # no name list: every run is cut
        return phrase("stops_all_capped", lang, cap=cap, n=n if lang == "en" else counted(n, RU_NOUNS["run.nom"], "ru"))
    parts = []
    if count["patience"]:
        parts.append(phrase("stops_patience", lang, k=number(len(count["patience"]), lang, 0)))
    if count["converged"]:
        parts.append(phrase("stops_converged", lang, k=number(len(count["converged"]), lang, 0)))
    if count["cap"]:
        shown = ", ".join((names or {}).get(k, str(k)) for k in count["cap"])
        parts.append(phrase("stops_capped", lang, cap=cap, k=number(len(count["cap"]), lang, 0), names=shown))
    head = phrase("stops_head", lang, n=n if lang == "en" else counted(n, RU_NOUNS["run.gen_plain"], "ru"))
    return head + ", " + "; ".join(parts) if lang == "en" else head + " " + "; ".join(parts)


@dataclass
class Change:
    """A model after a procedure, paired with the model it started from (same test cases)."""

    name: dict[str, str]
    before: float
    after: float
    correct_after: np.ndarray
    correct_before: np.ndarray

    @property
    def test(self):
        return mcnemar(self.correct_after, self.correct_before)

    @property
    def direction(self) -> int:
        """+1 significantly better, -1 significantly worse, 0 neither."""
        t = self.test
        if t.p_value >= ALPHA:
            return 0
        return 1 if t.b > t.c else -1


def _item(c: Change, lang: str) -> str:
    t = c.test
    return phrase("change_item", lang, name=c.name[lang], before=number(c.before, lang), after=number(c.after, lang),
                  b=t.b, c=t.c, p=p_value(t.p_value, lang))


def paired_changes(changes: Iterable[Change], lang: str) -> str:
    """How many models a procedure made significantly better / worse than their start, and which."""
    changes = list(changes)
    better = [c for c in changes if c.direction > 0]
    worse = [c for c in changes if c.direction < 0]
    n = len(changes)
    head = phrase("changes", lang, n=n if lang == "en" else counted(n, RU_NOUNS["model.gen"], "ru"),
                  better=number(len(better), lang, 0), worse=number(len(worse), lang, 0),
                  alpha=number(ALPHA, lang, 2))
    tail = []
    if better:
        tail.append(phrase("better_list", lang, items="; ".join(_item(c, lang) for c in better)))
    if worse:
        tail.append(phrase("worse_list", lang, items="; ".join(_item(c, lang) for c in worse)))
    return head + (": " + "; ".join(tail) if tail else "")


def at_majority(row: Mapping) -> bool:
    """A model that predicts one class on the test set, or whose test-accuracy interval holds the majority-class
    rate (:func:`tscompress.report.majority_position`): it cannot be told apart from always answering the majority
    class."""
    return majority_position(row) in ("one_class", "inside")


DIFFER: dict[str, dict[str, str]] = {"en": {"one": "differs", "other": "differ"},
                                     "ru": {"one": "отличается", "other": "отличаются"}}
"""The verb after a count («1 из 5 отличается», "3 of 5 differ"), for :func:`tscompress.names.plural`."""


_MAJORITY_NOUNS = {  # who is counted: the English noun, the tail after it, the Russian noun and its gender
    "model": ("model", "", "model", "f", ""),
    "model_with_base": ("model", " (the uncompressed one included)", "model", "f", " (включая несжатую)"),
    "ptq_model": ("PTQ model", "", "model", "f", " после PTQ"),
    "student": ("student", "", "student", "m", ""),
}


def majority_count_text(rows: Iterable[Mapping], lang: str, who: str = "model") -> str:
    """How many of a chapter's models cannot be told apart from the majority-class rate (:func:`at_majority`), in
    the edition's words: «3 из 21 модели неотличимы …», «1 из 6 учеников неотличим …», "all 6 students can be told
    apart …"."""
    near = [at_majority(r) for r in rows]
    k, n = sum(near), len(near)
    en_noun, en_tail, ru_noun, gender, ru_tail = _MAJORITY_NOUNS[who]
    if lang == "en":
        counted_n = counted(n, {"one": en_noun, "other": en_noun + "s"}, "en") + en_tail
        if k == 0:
            return phrase("majority_none", lang, n=counted_n)
        return phrase("majority_some", lang, k=k, n=counted_n, adj="cannot be told apart")
    if k == 0:
        return phrase("majority_none", lang, n=counted(n, RU_NOUNS[f"{ru_noun}.nom"], "ru") + ru_tail)
    one = "неотличима" if gender == "f" else "неотличим"
    return phrase("majority_some", lang, k=k, n=counted(n, RU_NOUNS[f"{ru_noun}.gen"], "ru") + ru_tail,
                  adj=plural(k, {"one": one, "other": "неотличимы"}, lang))


def significant_count_text(k: int, n: int, lang: str) -> str:
    """How many of ``n`` paired differences are significant at :data:`ALPHA` (exact McNemar)."""
    verb = plural(k, {"one": "is", "other": "are"}, lang) if lang == "en" else ""  # the Russian phrase has no verb
    return phrase("significant_count", lang, k=k, n=n, verb=verb, alpha=number(ALPHA, lang, 2))


def pair_by_level_text(pairs: Sequence[tuple[float, Mapping, Mapping, object]], lang: str) -> str:
    """Two methods at each level, on the same test cases: ``(fraction, a, b, mcnemar result)`` with rows ``a`` and
    ``b`` holding ``weight_error`` and ``test_accuracy``; one clause per level."""
    return "; ".join(phrase("pair_by_level", lang, level=percent(fraction, lang), err_a=number(a["weight_error"], lang, 2),
                            err_b=number(b["weight_error"], lang, 2), acc_a=number(a["test_accuracy"], lang),
                            acc_b=number(b["test_accuracy"], lang), p=p_value(res.p_value, lang))
                     for fraction, a, b, res in pairs)
