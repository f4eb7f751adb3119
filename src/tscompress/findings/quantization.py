"""What the quantization chapter found: fine-tuning after PTQ, the study's QAT at its budget, QAT from a model.

Every function reads the chapter's tables (rows of ``ptq``, ``code_finetune`` and ``table6``) and the per-case
correctness the notebook kept, and returns the edition's sentence.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..metrics import mcnemar
from ..names import RU_NOUNS, counted, method_name, number, p_value
from . import ALPHA, Change, paired_changes

__all__ = ["tuning_changes", "codes_vs_ste", "budget_text", "fp32_match_text", "qat_pair_text", "epochs_words"]

_PHRASES: dict[str, dict[str, str]] = {
    "vs_item": {"en": "{name}: code fine-tuning {a}, STE fine-tuning {b} ({winner}; {ca} / {cb} cases, {p})",
                "ru": "{name}: дообучение кодов {a}, дообучение с STE {b} ({winner}; примеры, верные только у одного "
                      "способа: {ca} / {cb}; {p})"},
    "vs_ste": {"en": "STE better", "ru": "лучше STE"},
    "vs_codes": {"en": "codes better", "ru": "лучше коды"},
    "vs_none": {"en": "cannot be told apart", "ru": "неразличимы"},
    "vs_head": {"en": "at equal bytes, paired on the same test cases: {items}",
                "ru": "при равном числе байтов, в парах на тех же тестовых примерах: {items}"},
    "budget": {"en": "at most {epochs}, stopping after {patience} without improvement on validation",
               "ru": "не больше {epochs}, с остановкой после {patience} без улучшения на валидации"},
    "budget_nopatience": {"en": "{epochs}, the epoch chosen on validation",
                          "ru": "{epochs}, эпоха выбирается по валидации"},
    "fp32_same": {"en": "this budget is the models chapter's, so the fp32 column is the models chapter's TimesNet "
                        "itself (trained from the same seed exactly as the QAT models), {acc}",
                  "ru": "это бюджет главы о моделях, поэтому столбец fp32 — сама TimesNet из главы о моделях (обученная "
                        "с того же сида точно так же, как модели QAT), {acc}"},
    "fp32_inside": {"en": "this budget differs from the models chapter's, so fp32 was trained again with it: {acc}, "
                          "inside the interval of the models chapter's TimesNet {ref}",
                    "ru": "этот бюджет отличается от бюджета главы о моделях, поэтому fp32 обучена заново с ним: {acc}, "
                          "внутри интервала TimesNet из главы о моделях {ref}"},
    "fp32_outside": {"en": "this budget differs from the models chapter's, so fp32 was trained again with it: {acc}, "
                           "outside the interval of the models chapter's TimesNet {ref} — the budget, not quantization, "
                           "separates them",
                     "ru": "этот бюджет отличается от бюджета главы о моделях, поэтому fp32 обучена заново с ним: {acc}, "
                           "вне интервала TimesNet из главы о моделях {ref} — их разделяет бюджет, а не квантование"},
    "pair": {"en": "{a} {acc_a} against {b} {acc_b}: {ca} / {cb} cases right only for one of them, {p} — {verdict}",
             "ru": "{a} {acc_a} против {b} {acc_b}: примеры, верные только у одной из моделей: {ca} / {cb}; {p} — {verdict}"},
    "pair_sig": {"en": "a significant difference", "ru": "различие значимо"},
    "pair_not": {"en": "not a significant difference", "ru": "различие не значимо"},
}


def _p(key: str, lang: str, **values: object) -> str:
    return _PHRASES[key][lang].format(**values)


def epochs_words(n: int, lang: str, noun: str = "epoch") -> str:
    """``30 epochs`` / «30 эпох» (``noun="step"``: ``40 steps`` / «40 шагов»)."""
    if lang == "en":
        return f"{n} {noun}" + ("" if n == 1 else "s")
    return counted(n, RU_NOUNS[f"{noun}.gen" if f"{noun}.gen" in RU_NOUNS else f"{noun}.nom"], "ru")


def budget_text(epochs: int, patience: int | None, lang: str, noun: str = "epoch") -> str:
    """The training budget as the page states it: the cap and the patience."""
    if patience is None:
        return _p("budget_nopatience", lang, epochs=epochs_words(epochs, lang, noun))
    return _p("budget", lang, epochs=epochs_words(epochs, lang, noun), patience=epochs_words(patience, lang, noun))


def tuning_changes(rows: Sequence[Mapping], start: Mapping[tuple, Mapping], correct: Mapping[tuple, np.ndarray],
                   procedure: str, lang: str) -> str:
    """:func:`~tscompress.findings.paired_changes` of one fine-tuning procedure (``codes`` or ``ste_tune``): every
    fine-tuned model against its PTQ start. ``rows`` have ``method``, ``bits``, ``test_accuracy``; ``start[(method,
    bits)]`` is the PTQ row; ``correct[(method, bits)]`` / ``correct[(method+'+'+procedure, bits)]`` the per-case
    correctness before / after."""
    changes = [Change({lg: f"{method_name(r['method'], lg)} int{r['bits']}" for lg in ("en", "ru")},
                      float(start[(r["method"], r["bits"])]["test_accuracy"]), float(r["test_accuracy"]),
                      correct[(f"{r['method']}+{procedure}", r["bits"])], correct[(r["method"], r["bits"])])
               for r in rows]
    return paired_changes(changes, lang)


def codes_vs_ste(pairs: Sequence[tuple[str, int]], acc: Mapping[tuple, float], correct: Mapping[tuple, np.ndarray],
                 lang: str) -> str:
    """Code fine-tuning against STE fine-tuning of the same PTQ model (same format, same bytes), per pair."""
    items = []
    for method, bits in pairs:
        kc, ks = (f"{method}+codes", bits), (f"{method}+ste_tune", bits)
        if kc not in correct or ks not in correct:
            continue
        t = mcnemar(correct[kc], correct[ks])
        winner = ("vs_none" if t.p_value >= ALPHA else "vs_codes" if t.b > t.c else "vs_ste")
        items.append(_p("vs_item", lang, name=f"{method_name(method, lang)} int{bits}", a=number(acc[kc], lang),
                        b=number(acc[ks], lang), winner=_p(winner, lang), ca=t.b, cb=t.c, p=p_value(t.p_value, lang)))
    return _p("vs_head", lang, items="; ".join(items)) if items else ""


def fp32_match_text(reused: bool, value: float, shown: str, ref: Mapping, lang: str) -> str:
    """Is Table 6's fp32 column the models chapter's TimesNet, and if it was trained again, does its accuracy
    ``value`` (``shown``: as the page prints it) land inside that model's interval? ``ref`` has
    ``test_accuracy``, ``test_accuracy_lo``, ``test_accuracy_hi``."""
    from ..names import interval

    if reused:
        return _p("fp32_same", lang, acc=shown)
    inside = ref["test_accuracy_lo"] <= value <= ref["test_accuracy_hi"]
    return _p("fp32_inside" if inside else "fp32_outside", lang, acc=shown,
              ref=interval(ref["test_accuracy"], ref["test_accuracy_lo"], ref["test_accuracy_hi"], lang))


def qat_pair_text(a: str, b: str, acc_a: float, acc_b: float, correct_a: np.ndarray, correct_b: np.ndarray,
                  lang: str) -> str:
    """Two trained models on the same test cases: accuracies, discordant cases, exact McNemar verdict."""
    t = mcnemar(correct_a, correct_b)
    return _p("pair", lang, a=a, b=b, acc_a=number(acc_a, lang), acc_b=number(acc_b, lang), ca=t.b, cb=t.c,
              p=p_value(t.p_value, lang), verdict=_p("pair_sig" if t.p_value < ALPHA else "pair_not", lang))
