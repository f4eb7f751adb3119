"""What the quantization chapter found: fine-tuning after PTQ, the study's QAT at its budget, QAT from a model.

Every function reads the chapter's tables (rows of ``ptq``, ``code_finetune`` and ``table6``) and the per-case
correctness the notebook kept, and returns the edition's sentence.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .. import phrases
from ..metrics import mcnemar
from ..names import RU_NOUNS, counted, method_name, number, p_value
from ..names import plural
from . import ALPHA, DIFFER, Change, majority_count_text, paired_changes

__all__ = ["ptq_summary", "ste_vs_qat_text", "tuning_changes", "codes_vs_ste", "budget_text", "fp32_match_text", "qat_pair_text", "epochs_words"]

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings_quantization")


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




def ptq_summary(rows: Sequence[Mapping], n_significant: int, lang: str) -> str:
    """The PTQ models at a glance: how many cannot be told apart from the majority-class rate, and how many differ
    significantly from the fp32 model on the same test cases."""
    return majority_count_text(rows, lang, "ptq_model") + _p(
        "ptq_significant", lang, k=n_significant, verb=plural(n_significant, DIFFER[lang], lang))


def ste_vs_qat_text(fits: Sequence[tuple[int, float, float, float, float]], fp32_loss: float, lang: str) -> str:
    """The study's QAT variant against STE at each bit width, by the training loss at the selected epoch and the wall
    time: ``(bits, variant_loss, ste_loss, variant_seconds, ste_seconds)``; then the same loss trained normally."""
    parts = [_p("ste_vs_qat", lang, bits=b, loss_v=number(lv, lang, 2), loss_s=number(ls, lang, 2),
                sec_v=number(sv, lang, 0), sec_s=number(ss, lang, 0)) for b, lv, ls, sv, ss in fits]
    return "; ".join(parts) + _p("ste_vs_qat_fp32", lang, loss=number(fp32_loss, lang, 2))
