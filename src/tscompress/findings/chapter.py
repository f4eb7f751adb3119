"""What a method chapter found, up front and at its end: every model it compressed against its own fp32 model.

A method chapter (sparsification, distillation, quantization, PEFT) records each model it evaluates as a variant
(:class:`tscompress.variants.VariantLog`); the models chapter records the fp32 models they start from or are
compared with. :func:`against_fp32` pairs each variant with the fp32 model of its base and seed on the same test
cases (exact McNemar test, :func:`tscompress.compare.paired_tests`); :func:`finding_text` is the page's opening
finding — how many differ significantly, in which direction, and the smallest that is not significantly worse —
and :func:`summary_text` its closing summary, the same reading per method: where each method's curve leaves its fp32
model. "Not significantly worse" is read on the test cases (the paired test is a test-set statistic) and the
sentences say so; nothing here selects a model.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..compare import BASELINE_METHOD, paired_tests
from ..names import counted, kib, method_name, noun_forms, number, percent, plural, setting_name, variant_name
from ..report import majority_position
from . import ALPHA, DIFFER, phrase

__all__ = ["against_fp32", "finding_text", "summary_text"]


def against_fp32(own: pd.DataFrame, own_predictions: pd.DataFrame, fp32: pd.DataFrame,
                 fp32_predictions: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The chapter's variants of ``seed`` (``own``), each paired with the fp32 model of its base (the models chapter's
    ``baseline`` rows, ``fp32``) on the same test cases: the columns of :func:`~tscompress.compare.paired_tests` and
    ``fp32_bytes``, ``fp32_accuracy``, ``fp32_position`` (:func:`~tscompress.report.majority_position` of the fp32
    model). A variant whose base has no fp32 model of that seed is left out."""
    own = own[own["seed"] == seed]
    base_rows = fp32[(fp32["method"] == BASELINE_METHOD) & (fp32["seed"] == seed)]
    parts = []
    for base, rows in own.groupby("base", sort=False):
        ref = base_rows[base_rows["base"] == base]
        if ref.empty:
            continue
        table = pd.concat([ref, rows], ignore_index=True)
        preds = pd.concat([fp32_predictions[fp32_predictions["id"].isin(ref["id"])],
                           own_predictions[own_predictions["id"].isin(rows["id"])]], ignore_index=True)
        paired = paired_tests(table, preds, base=base).iloc[len(ref):]
        r = ref.iloc[0]
        parts.append(paired.assign(fp32_bytes=float(r["stored_bytes"]), fp32_accuracy=float(r["test_accuracy"]),
                                   fp32_position=majority_position(r.to_dict())))
    return pd.concat(parts, ignore_index=True) if parts else own.iloc[0:0]


def _worse(r: Mapping) -> bool:
    return bool(r["significant"]) and r["only_baseline"] > r["only_variant"]


def _smallest_not_worse(rows: pd.DataFrame) -> Mapping | None:
    ok = rows[[not _worse(r) for r in rows.to_dict("records")]]
    return None if ok.empty else ok.sort_values(["stored_bytes", "test_accuracy"], ascending=[True, False]).iloc[0]


def finding_text(paired: pd.DataFrame, lang: str) -> str:
    """The opening finding: «k of n models differ significantly from their fp32 model (b better, w worse); the
    smallest not significantly worse: …», and a warning when an fp32 model itself is no better than always
    predicting the majority class."""
    rows = paired[paired["p_value"].notna()]
    n = len(rows)
    if not n:
        return ""
    better = int(sum(bool(r["significant"]) and not _worse(r) for r in rows.to_dict("records")))
    worse = int(sum(_worse(r) for r in rows.to_dict("records")))
    k = better + worse
    alpha = number(ALPHA, lang, 2)
    models = counted(n, noun_forms("model.gen", lang), lang)
    if k:
        text = phrase("chapter_some", lang, k=k, n=models, verb=plural(k, DIFFER[lang], lang), better=better,
                      worse=worse, alpha=alpha)
    else:
        text = phrase("chapter_none", lang, n=models, alpha=alpha)
    smallest = _smallest_not_worse(rows)
    if smallest is None:
        text += phrase("chapter_smallest_none", lang)
    else:
        text += phrase("chapter_smallest", lang, name=variant_name(smallest, lang, base=True),
                       kib=kib(smallest["stored_bytes"], lang, 1),
                       share=percent(smallest["stored_bytes"] / smallest["fp32_bytes"], lang, 1),
                       acc=number(smallest["test_accuracy"], lang), acc_fp32=number(smallest["fp32_accuracy"], lang))
    weak = sorted({str(r["base"]) for r in rows.to_dict("records") if r["fp32_position"] != "above"})
    if weak:
        text += phrase("chapter_weak_one" if len(weak) == 1 else "chapter_weak_many", lang, names=", ".join(weak))
    return text


def summary_text(paired: pd.DataFrame, lang: str) -> str:
    """The closing summary: per method (and base, where a chapter has several), the smallest model not
    significantly worse than its fp32 model on the same test cases, or that every setting was."""
    rows = paired[paired["p_value"].notna()]
    if rows.empty:
        return ""
    several = rows["base"].nunique() > 1
    items = []
    for (method, base), g in rows.groupby(["method", "base"], sort=False):
        name = method_name(method, lang) + (f" ({base})" if several else "")
        best = _smallest_not_worse(g)
        if best is None:
            items.append(phrase("chapter_method_one", lang, method=name) if len(g) == 1 else
                         phrase("chapter_method_none", lang, method=name,
                                n=counted(len(g), noun_forms("setting.gen", lang), lang)))
        else:
            removed = best.get("removed")
            removed = None if removed is None or pd.isna(removed) else float(removed)
            items.append(phrase("chapter_method", lang, method=name,
                                setting=setting_name(best["setting"], lang, removed),
                                kib=kib(best["stored_bytes"], lang, 1), acc=number(best["test_accuracy"], lang)))
    return phrase("chapter_summary", lang, items="; ".join(items), alpha=number(ALPHA, lang, 2))
