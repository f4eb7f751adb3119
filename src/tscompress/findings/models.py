"""What the models chapter found about its cross-validation: which model falls below the majority-class rate, and
why, read from its pooled accuracy and balanced accuracy."""

from __future__ import annotations

from typing import Mapping, Sequence

from .. import phrases
from ..names import interval, number

__all__ = ["below_majority_text"]

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings_models")


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
