"""What the models chapter found about its cross-validation: which model falls below the majority-class rate, and
why, read from its pooled accuracy and balanced accuracy."""

from __future__ import annotations

from typing import Mapping, Sequence

from ..names import interval, number

__all__ = ["below_majority_text"]

_PHRASES: dict[str, dict[str, str]] = {
    "none": {"en": "Every model reaches at least the majority-class rate in cross-validation",
             "ru": "При кросс-валидации каждая модель достигает хотя бы доли мажоритарного класса"},
    "below": {"en": "Below the majority-class rate {maj} in cross-validation: {items}",
              "ru": "Ниже доли мажоритарного класса {maj} при кросс-валидации: {items}"},
    "traded": {"en": "{model} ({acc}; its balanced accuracy {bacc} lies above the {chance} of a classifier that ignores "
                     "its input, so it learned something and gave up accuracy on the majority class for recall of the "
                     "others — what the recipe's class-weighted loss asks of it)",
               "ru": "{model} ({acc}; её сбалансированная точность {bacc} выше {chance} у классификатора, не смотрящего "
                     "на вход, то есть она чему-то научилась и уступила точность на мажоритарном классе ради полноты на "
                     "остальных — чего и требуют взвешенные по классам потери рецепта)"},
    "nothing": {"en": "{model} ({acc}; its balanced accuracy {bacc} cannot be told apart from the {chance} of a "
                      "classifier that ignores its input: on these folds it did not learn)",
                "ru": "{model} ({acc}; её сбалансированная точность {bacc} неотличима от {chance} у классификатора, "
                      "не смотрящего на вход: на этих фолдах она не научилась)"},
}


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
