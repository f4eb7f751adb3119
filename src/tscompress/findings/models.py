"""What the models chapter found about its cross-validation: which model falls below the majority-class rate, and
why, read from its pooled accuracy and balanced accuracy."""

from __future__ import annotations

from typing import Mapping, Sequence

from .. import phrases
from ..names import counted, interval, noun_forms, number, plural
from ..report import majority_position

__all__ = ["below_majority_text", "models_finding"]

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings_models")

_ABOVE = {"en": {"one": "lies", "other": "lie"}, "ru": {"one": "превосходит", "other": "превосходят"}}


def below_majority_text(rows: Sequence[Mapping], n_classes: int, lang: str) -> str:
    """``rows``: one per model, with ``model``, ``test_accuracy``, its ``_lo``/``_hi``, ``test_majority_rate`` and
    ``test_balanced_accuracy`` with its ``_lo``/``_hi`` (pooled over the folds). A model is below the rate when its
    whole interval lies under it; why is read from its balanced accuracy against chance (``1 / n_classes``). One
    sentence, without its full stop."""
    chance = 1.0 / n_classes
    items, maj = [], None
    for r in rows:
        if not r["test_accuracy_hi"] < r["test_majority_rate"]:
            continue
        maj = r["test_majority_rate"]
        acc = interval(r["test_accuracy"], r["test_accuracy_lo"], r["test_accuracy_hi"], lang)
        bacc = interval(r["test_balanced_accuracy"], r["test_balanced_accuracy_lo"], r["test_balanced_accuracy_hi"], lang)
        key = "traded" if r["test_balanced_accuracy_lo"] > chance else "nothing"
        items.append(_PHRASES[key][lang].format(model=r["model"], acc=acc, bacc=bacc, chance=number(chance, lang)))
    if not items:
        return _PHRASES["none"][lang]
    return _PHRASES["below"][lang].format(maj=number(maj, lang), items="; ".join(items))


def models_finding(rows: Sequence[Mapping], reference: Mapping | None, lang: str, where: str = "test") -> str:
    """Which of the models lie above the majority-class rate (their whole interval above it), which is the most
    accurate, and how it stands against the reference classifier (``reference``: its row on the same cases, or
    None). ``where``: ``test`` (the test split) or ``cv`` (pooled over the cross-validation folds)."""
    above = [r["model"] for r in rows if majority_position(r) == "above"]
    best = max(rows, key=lambda r: r["test_accuracy"])
    values = dict(where=_PHRASES[f"where_{where}"][lang], maj=number(rows[0]["test_majority_rate"], lang),
                  n=counted(len(rows), noun_forms("model.gen", lang), lang), names=", ".join(above), k=len(above),
                  n_nom=counted(len(rows), noun_forms("model.nom", lang), lang),
                  verb=plural(len(above), _ABOVE[lang], lang))
    text = _PHRASES["finding_none" if not above else "finding_all" if len(above) == len(rows) else
                    "finding_some"][lang].format(**values)
    text += _PHRASES["finding_best"][lang].format(model=best["model"], acc=interval(
        best["test_accuracy"], best["test_accuracy_lo"], best["test_accuracy_hi"], lang))
    if reference is not None:
        text += _PHRASES["finding_ref"][lang].format(ref=reference["model"], acc=number(reference["test_accuracy"], lang))
    return text + "."
