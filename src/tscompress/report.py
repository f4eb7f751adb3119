"""Sentences the book builds from numbers, so that no verdict is typed by hand.

A page must say plainly when a result cannot be told apart from the majority-class rate or from
another result; these functions decide that from the intervals and return the sentence in the
edition's language.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["majority_verdict", "seeds_text"]


def majority_verdict(row: Mapping, lang: str) -> str:
    """Compare a test accuracy (with its 95% interval) to the majority-class rate of the same cases.

    ``row`` has ``test_accuracy``, ``test_accuracy_lo``, ``test_accuracy_hi``,
    ``test_majority_rate`` and ``test_single_class``.
    """
    acc, lo, hi = row["test_accuracy"], row["test_accuracy_lo"], row["test_accuracy_hi"]
    maj = row["test_majority_rate"]
    if row.get("test_single_class"):
        return {
            "en": f"predicts one class for every test case: its accuracy {acc:.3f} is just the majority-class rate",
            "ru": f"предсказывает один класс для всех тестовых примеров: его точность {acc:.3f} — это просто доля мажоритарного класса",
        }[lang]
    if lo <= maj <= hi:
        return {
            "en": f"cannot be told apart from always predicting the majority class: the rate {maj:.3f} lies inside its interval [{lo:.3f}, {hi:.3f}]",
            "ru": f"неотличима от константного ответа «мажоритарный класс»: доля {maj:.3f} лежит внутри интервала [{lo:.3f}, {hi:.3f}]",
        }[lang]
    if lo > maj:
        return {
            "en": f"is above the majority-class rate {maj:.3f}: its whole interval [{lo:.3f}, {hi:.3f}] lies higher",
            "ru": f"выше доли мажоритарного класса {maj:.3f}: весь интервал [{lo:.3f}, {hi:.3f}] лежит выше",
        }[lang]
    return {
        "en": f"is below the majority-class rate {maj:.3f}: its whole interval [{lo:.3f}, {hi:.3f}] lies lower",
        "ru": f"ниже доли мажоритарного класса {maj:.3f}: весь интервал [{lo:.3f}, {hi:.3f}] лежит ниже",
    }[lang]


def seeds_text(values: np.ndarray, lang: str) -> str:
    """"0.762" for one seed; "0.750 (mean of 3 seeds, 0.71–0.78)" for several."""
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.3f}"
    word = {"en": "mean of {n} seeds", "ru": "среднее по {n} сидам"}[lang].format(n=values.size)
    return f"{values.mean():.3f} ({word}, {values.min():.3f}–{values.max():.3f})"


def ru_plural(n: int, one: str, few: str, many: str) -> str:
    """Russian noun form after a number: 1 пример, 2 примера, 5 примеров, 21 пример, 11 примеров."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def pairwise_text(correct: Mapping[str, np.ndarray], lang: str) -> str:
    """Exact McNemar tests between every pair of models evaluated on the same test cases."""
    from .metrics import mcnemar

    names = list(correct)
    parts = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            res = mcnemar(correct[a], correct[b])
            if lang == "en":
                verdict = "a significant difference" if res.significant else "not a significant difference"
                cases = "case" if res.b == 1 else "cases"
                parts.append(f"{a} vs {b}: {res.b} {cases} only {a} got right, {res.c} only {b}, "
                             f"exact McNemar p = {res.p_value:.2f} — {verdict}")
            else:
                verdict = "различие значимо" if res.significant else "различие не значимо"
                cases = ru_plural(res.b, "пример", "примера", "примеров")
                parts.append(f"{a} и {b}: {res.b} {cases} верно только у {a}, {res.c} — только у {b}, "
                             f"точный критерий Макнемара p = {res.p_value:.2f} — {verdict}")
    return "; ".join(parts) if parts else ""
