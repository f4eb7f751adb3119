"""The study's conclusions as tests over the variants of one dataset: holds, does not hold, or cannot be told apart.

Each conclusion the book checks is written as a comparison between two groups of variants that every
chapter recorded (:mod:`tscompress.variants`), paired on the same test cases:

* a **superiority** claim ("magnitude pruning is more accurate than low-rank factorization") pairs
  variants of group A with variants of group B by a fixed rule (same level, same rank, same student,
  or "the A variant at most as large as B that scores best on *validation*") and tests each pair with
  the exact McNemar test. The p-values of one claim are Holm-corrected, so a claim with many pairs is
  not more likely to "hold" by chance. It **holds** when A is significantly better in at least one
  pair and significantly worse in none, **does not hold** when B is significantly better in at least
  one pair (also when both happen: a general claim with a counter-example fails), and **cannot be
  told apart** otherwise;
* a **non-inferiority** claim ("int4 loses little against fp32") **does not hold** when A is
  significantly worse, **holds** when the paired 95% bootstrap interval of A's accuracy minus B's
  lies above ``-NONINFERIORITY_MARGIN``, and **cannot be told apart** otherwise (the interval is too
  wide to exclude a loss of that size).

A claim whose variants a run did not produce (a smaller profile, a chapter left out) is **not
tested**. Nothing here reads a test label to choose a variant: pairings use settings and sizes, and
a "best" variant is the one with the highest validation balanced accuracy.

    table = check(cmp, predictions)          # one row per claim
    table[["claim", "verdict", "pairs"]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from . import phrases
from .metrics import mcnemar
from .names import LIST_SEP, counted, number, p_value, variant_name

__all__ = ["CLAIMS", "Claim", "VERDICTS", "NONINFERIORITY_MARGIN", "LEVEL_TOLERANCE", "ALPHA", "check", "verdict_name", "display",
           "holm", "uninformative", "Pairs",
           "paired_difference_interval", "claims_by_dataset"]

ALPHA = 0.05
NONINFERIORITY_MARGIN = 0.05
"""A loss of accuracy smaller than this (5 points) counts as "little" for a non-inferiority claim."""

VERDICTS = phrases.table("verdicts")

LEVEL_TOLERANCE = 0.05
"""Two sparsified models are "at the same level" when the fractions of parameters they actually removed differ by at
most this much (5 points); a model with no such partner is left unpaired, and the evidence says so."""


def uninformative(row: dict) -> bool:
    """A variant that predicts one class, or whose test accuracy cannot be told apart from the majority-class rate
    or lies below it (the rate is not below its 95% interval): a pair with it would test a collapse, not a method.
    Rows without an interval count as informative."""
    if bool(row.get("test_single_class", False)) is True:
        return True
    lo, maj = row.get("test_accuracy_lo"), row.get("test_majority_rate")
    if lo is None or maj is None or lo != lo or maj != maj:
        return False
    return float(lo) <= float(maj)


class Pairs(list):
    """The (A, B) pairs of a claim, and how many candidate pairs its rule left out (``unmatched``: no partner at the
    same level within :data:`LEVEL_TOLERANCE`)."""

    unmatched: int = 0


def verdict_name(verdict: str, lang: str) -> str:
    return VERDICTS[verdict][lang]


@dataclass(frozen=True)
class Claim:
    id: str
    chapter: str
    text: dict[str, str]
    kind: str  # "superiority" | "noninferiority"
    pairs: Callable[[pd.DataFrame], list[tuple[dict, dict]]]
    """(A row, B row) pairs from the comparison table: A is the side the claim says is better (or loses little)."""
    about_collapse: bool = False
    """True when the claim is about how trainings end, so that a variant at the majority rate is part of what it
    tests (QAT int8 against int4: a collapsed int4 run *is* the instability the study describes); otherwise a pair
    with such a variant is left out (:func:`uninformative`)."""


def display(claims: pd.DataFrame, lang: str) -> pd.DataFrame:
    """:func:`check`'s table as the page shows it: conclusion, verdict and evidence in the edition's words."""
    from .plots import label

    return pd.DataFrame({label("conclusion", lang): claims[f"text_{lang}"],
                         label("verdict", lang): [verdict_name(v, lang) for v in claims["verdict"]],
                         label("evidence", lang): claims[f"evidence_{lang}"]})


def _rows(table: pd.DataFrame, **eq) -> pd.DataFrame:
    mask = np.ones(len(table), dtype=bool)
    for column, value in eq.items():
        if isinstance(value, (list, tuple, set)):
            mask &= table[column].isin(list(value)).to_numpy()
        else:
            mask &= (table[column] == value).to_numpy()
    return table[mask]


def _best_on_validation(rows: pd.DataFrame) -> dict | None:
    """The row with the highest validation balanced accuracy (ties: the smaller, then the first listed)."""
    scored = rows[rows["val_balanced_accuracy"].notna()]
    if scored.empty:
        return None
    order = scored.assign(_neg=-scored["val_balanced_accuracy"]).sort_values(["_neg", "stored_bytes"], kind="stable")
    return order.iloc[0].drop(labels="_neg").to_dict()


def _same_removed(a_method: str, b_methods: tuple[str, ...], chapter: str, base: str = "TimesNet",
                  tol: float = LEVEL_TOLERANCE):
    """Pairs sparsified A and B variants of one seed whose fractions of parameters *actually removed* (``removed``)
    are nearest, within ``tol``; nominal levels can remove very different shares (gradient importance removes whole
    branches), so the same nominal level is not the same level. Rows without ``removed`` pair by setting."""
    def pairs(table: pd.DataFrame) -> Pairs:
        out = Pairs()
        for a in _rows(table, chapter=chapter, method=a_method, base=base).to_dict("records"):
            for b_method in b_methods:
                b = _rows(table, chapter=chapter, method=b_method, base=base, seed=a["seed"])
                if "removed" not in table.columns or a.get("removed") != a.get("removed"):
                    out += [(a, r) for r in b[b["setting"] == a["setting"]].to_dict("records")]
                    continue
                b = b[b["removed"].notna()]
                if b.empty:
                    continue
                gap = (b["removed"] - a["removed"]).abs()
                nearest = b.loc[gap.idxmin()].to_dict()
                if float(gap.min()) <= tol:
                    out.append((a, nearest))
                else:
                    out.unmatched += 1
        return out
    return pairs


def _same_setting(a_method: str, b_methods: tuple[str, ...], chapter: str, base: str = "TimesNet"):
    """Pairs A and B variants of one chapter that share seed and setting (level, rank, bits)."""
    def pairs(table: pd.DataFrame) -> list[tuple[dict, dict]]:
        out = []
        for a in _rows(table, chapter=chapter, method=a_method, base=base).to_dict("records"):
            for b_method in b_methods:
                b = _rows(table, chapter=chapter, method=b_method, base=base, seed=a["seed"], setting=a["setting"])
                out += [(a, r) for r in b.to_dict("records")]
        return out
    return pairs


PLAIN_STUDENT = "alpha=0"
"""KL distillation at α = 0 is the student trained on the labels alone: not a distilled model."""


def _distilled(table: pd.DataFrame) -> pd.DataFrame:
    rows = _rows(table, chapter="02_distillation", method=["kl", "ofa"])
    return rows[rows["setting"].astype(str) != PLAIN_STUDENT]


def _best_student(student_a: str, student_b: str):
    """The best-on-validation distilled model of one student against that of the other, per seed."""
    def pairs(table: pd.DataFrame) -> list[tuple[dict, dict]]:
        rows = _distilled(table)
        out = []
        for seed in sorted(rows["seed"].unique()):
            a = _best_on_validation(_rows(rows, base=student_a, seed=seed))
            b = _best_on_validation(_rows(rows, base=student_b, seed=seed))
            if a is not None and b is not None:
                out.append((a, b))
        return out
    return pairs


def _best_method_per_student(method_a: str, method_b: str):
    """Per student and seed, the best-on-validation ``method_a`` model against the best ``method_b`` one (the plain
    student, KL at α = 0, is not a distilled model and takes no part)."""
    def pairs(table: pd.DataFrame) -> list[tuple[dict, dict]]:
        rows = _distilled(table)
        out = []
        for (student, seed), g in rows.groupby(["base", "seed"], sort=True):
            a = _best_on_validation(_rows(g, method=method_a))
            b = _best_on_validation(_rows(g, method=method_b))
            if a is not None and b is not None:
                out.append((a, b))
        return out
    return pairs


def _at_most_as_large(a_select: Callable[[pd.DataFrame], pd.DataFrame],
                      b_select: Callable[[pd.DataFrame], pd.DataFrame]):
    """For every B variant, the A variant of the same seed that is at most as large (stored bytes) and
    scores best on validation; a B variant no A variant is as small as is left unpaired."""
    def pairs(table: pd.DataFrame) -> list[tuple[dict, dict]]:
        a_rows, out = a_select(table), []
        for b in b_select(table).to_dict("records"):
            fits = a_rows[(a_rows["seed"] == b["seed"]) & (a_rows["stored_bytes"] <= b["stored_bytes"])]
            a = _best_on_validation(fits)
            if a is not None:
                out.append((a, b))
        return out
    return pairs


def _vs_baseline(method: str, setting: str, chapter: str, base: str = "TimesNet"):
    def pairs(table: pd.DataFrame) -> list[tuple[dict, dict]]:
        out = []
        for a in _rows(table, chapter=chapter, method=method, setting=setting, base=base).to_dict("records"):
            b = _rows(table, method="baseline", base=base, seed=a["seed"])
            out += [(a, r) for r in b.to_dict("records")]
        return out
    return pairs


_SPARSE = ("lowrank", "importance", "magnitude", "sparse_lowrank")
_QUANT = ("quantile", "uniform", "nf", "quantile+codes", "uniform+codes", "nf+codes", "quantile+ste_tune",
          "uniform+ste_tune", "nf+ste_tune", "qat", "ste", "qat_trained")

CLAIMS: list[Claim] = [
    Claim("magnitude_most_accurate", "01_sparsification",
          {"en": "Magnitude pruning is the most accurate of the study's three sparsification methods (the same "
                 "fraction of parameters actually removed)",
           "ru": "Прунинг по модулю точнее двух других методов разреживания исследования (при той же доле реально "
                 "удалённых параметров)"},
          "superiority", _same_removed("magnitude", ("lowrank", "importance"), "01_sparsification")),
    Claim("importance_beats_lowrank", "01_sparsification",
          {"en": "For TimesNet, gradient-importance removal beats low-rank factorization (the same fraction of "
                 "parameters actually removed)",
           "ru": "Для TimesNet удаление по важности градиента лучше низкорангового разложения (при той же доле реально "
                 "удалённых параметров)"},
          "superiority", _same_removed("importance", ("lowrank",), "01_sparsification")),
    Claim("ofa_beats_kl", "02_distillation",
          {"en": "OFA distillation gains over KL distillation (each student's best on validation)",
           "ru": "OFA-дистилляция даёт выигрыш над KL-дистилляцией (лучшие по валидации модели каждого ученика)"},
          "superiority", _best_method_per_student("ofa", "kl")),
    Claim("transformer_better_student", "02_distillation",
          {"en": "The Transformer is a better student than iTransformer (best distilled model of each on validation)",
           "ru": "Transformer — лучший ученик, чем iTransformer (лучшие по валидации дистиллированные модели)"},
          "superiority", _best_student("Transformer", "iTransformer")),
    Claim("int4_loses_little", "03_quantization",
          {"en": "Quantile PTQ to int4 loses little accuracy against fp32 (less than the margin)",
           "ru": "Квантильное PTQ до int4 почти не теряет точности по сравнению с fp32 (меньше допуска)"},
          "noninferiority", _vs_baseline("quantile", "int4", "03_quantization")),
    Claim("qat_int8_beats_int4", "03_quantization",
          {"en": "With QAT, int8 is better than int4",
           "ru": "С QAT int8 лучше, чем int4"},
          "superiority", lambda t: [(a, b) for a in _rows(t, chapter="03_quantization", method="qat", setting="int8",
                                                          base="TimesNet").to_dict("records")
                                    for b in _rows(t, chapter="03_quantization", method="qat", setting="int4",
                                                   base="TimesNet", seed=a["seed"]).to_dict("records")],
          about_collapse=True),
    Claim("qdora_beats_qlora", "04_peft",
          {"en": "QDoRA is more accurate than QLoRA (same rank and base)",
           "ru": "QDoRA точнее QLoRA (тот же ранг и та же база)"},
          "superiority", _same_setting("qdora", ("qlora",), "04_peft")),
    Claim("quantization_beats_sparsification_per_bit", "05_comparison",
          {"en": "Per stored bit, quantization beats sparsification (for each sparsified model, the best quantized "
                 "model on validation at most as large)",
           "ru": "На бит хранения квантование лучше разреживания (для каждой разреженной модели — лучшая по "
                 "валидации квантованная модель не больше её по размеру)"},
          "superiority", _at_most_as_large(
              lambda t: _rows(t, chapter="03_quantization", base="TimesNet", method=list(_QUANT)),
              lambda t: _rows(t, chapter="01_sparsification", base="TimesNet", method=list(_SPARSE)))),
    Claim("sparsify_then_quantize", "05_comparison",
          {"en": "Sparsify first, then quantize, beats quantization alone (for each quantized model, the best "
                 "sparsified-then-quantized model on validation at most as large)",
           "ru": "Сначала разредить, потом квантовать — лучше, чем только квантовать (для каждой квантованной "
                 "модели — лучшая по валидации разреженная и затем квантованная модель не больше её по размеру)"},
          "superiority", _at_most_as_large(
              lambda t: t[(t["chapter"] == "05_comparison") & (t["base"] == "TimesNet")
                          & t["method"].astype(str).str.split("+").str[0].isin(_SPARSE)],
              lambda t: _rows(t, chapter="03_quantization", base="TimesNet", method=list(_QUANT)))),
]


def holm(p_values) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(list(p_values), dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def paired_difference_interval(correct_a, correct_b, n_boot: int = 2000, level: float = 0.95,
                               seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of accuracy(A) − accuracy(B) over the same cases, resampled in pairs."""
    a = np.asarray(correct_a, dtype=float)
    b = np.asarray(correct_b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("a paired interval needs both models' results on the same, non-empty cases")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    diffs = a[idx].mean(axis=1) - b[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _correct(predictions: pd.DataFrame) -> dict[str, pd.Series]:
    return {vid: g.set_index("case")["correct"].astype(bool) for vid, g in predictions.groupby("id")}


def _notes(dropped: int, unmatched: int, lang: str) -> str:
    parts = []
    if dropped:
        parts.append({"en": f"left out: {counted(dropped, {'one': 'pair', 'other': 'pairs'}, 'en')} with a side that "
                            f"cannot be told apart from the majority-class rate or lies below it",
                      "ru": f"не учтены пары, где одна из сторон неотличима от доли мажоритарного класса или ниже её: "
                            f"{number(dropped, 'ru', 0)}"}[lang])
    if unmatched:
        margin = number(100 * LEVEL_TOLERANCE, lang, 0)
        parts.append({"en": f"without a partner that removed the same fraction of parameters (within {margin} points): "
                            f"{unmatched}",
                      "ru": f"без пары, удалившей ту же долю параметров (с точностью до {margin} п. п.): {unmatched}"}[lang])
    return "; ".join(parts)


def _evidence(claim: Claim, tests: list[dict], lang: str, dropped: int = 0, unmatched: int = 0) -> str:
    notes = _notes(dropped, unmatched, lang)
    if not tests:
        if dropped:
            return notes
        text = {"en": "the run produced none of the variants this claim compares",
                "ru": "в этом запуске нет вариантов, которые сравнивает это утверждение"}[lang]
        return text + (f"; {notes}" if notes else "")
    if claim.kind == "noninferiority":
        parts = []
        for t in tests:
            d = (f"{number(100 * t['diff'], lang, 1)} [{number(100 * t['lo'], lang, 1)}{LIST_SEP[lang]}"
                 f"{number(100 * t['hi'], lang, 1)}]")
            parts.append({"en": f"{t['a_name']} − {t['b_name']}: {d} points, {t['b']} / {t['c']} cases, "
                                f"{p_value(t['p'], lang)}",
                          "ru": f"{t['a_name']} − {t['b_name']}: {d} п. п.; права только одна сторона: "
                                f"{t['b']} / {t['c']}, {p_value(t['p'], lang)}"}[lang])
        margin = number(100 * NONINFERIORITY_MARGIN, lang, 0)
        text = "; ".join(parts) + {"en": f" (margin {margin} points)", "ru": f" (допуск {margin} п. п.)"}[lang]
        return text + (f"; {notes}" if notes else "")
    n_for = sum(t["sig"] and t["b"] > t["c"] for t in tests)
    n_against = sum(t["sig"] and t["c"] > t["b"] for t in tests)
    discordant = [t for t in tests if t["b"] + t["c"] > 0]
    if discordant:
        strongest = min(discordant, key=lambda t: t["p_holm"])
        pair = (f"{strongest['a_name']} {strongest['b']} / {strongest['c']} {strongest['b_name']}, "
                f"p_Holm {p_value(strongest['p_holm'], lang)[2:]}")
        strong = {"en": f"strongest: {pair}", "ru": f"самая сильная: {pair}"}[lang]
    else:
        strong = {"en": "no pair has a case only one side got right",
                  "ru": "ни в одной паре нет примера, верного только у одной стороны"}[lang]
    one = ""
    if (n_for == 1 and not n_against) or (n_against == 1):
        one = {"en": "; the verdict rests on a single significant pair",
               "ru": "; вывод держится на одной значимой паре"}[lang]
    pairs = {"one": "pair", "other": "pairs"}
    text = {"en": f"{counted(len(tests), pairs, 'en')}: the claimed side significantly better in {n_for}, worse in "
                  f"{n_against}; {strong}{one}",
            "ru": f"пар: {len(tests)}; заявленная сторона значимо лучше в {n_for}, хуже в {n_against}; {strong}{one}"}[lang]
    return text + (f"; {notes}" if notes else "")


def check(table: pd.DataFrame, predictions: pd.DataFrame, claims: list[Claim] | None = None,
          alpha: float = ALPHA, n_boot: int = 2000) -> pd.DataFrame:
    """One row per claim: ``claim``, ``chapter``, ``kind``, ``verdict`` (a key of :data:`VERDICTS`),
    ``pairs``, ``better`` / ``worse`` (pairs where the claimed side is significantly better / worse
    after Holm's correction), ``dropped`` (pairs left out because a side is at or below the majority-class rate:
    :func:`uninformative`), ``unmatched`` (variants with no partner at the same level) and ``evidence_en`` /
    ``evidence_ru``, ``text_en`` / ``text_ru``.

    Rules, each tested: a pair with an uninformative side never decides a verdict (unless the claim is
    :attr:`Claim.about_collapse`); when every candidate pair was left out for that, the verdict is
    ``uninformative``; sparsification levels are the fractions actually removed; "strongest" names a pair with
    discordant cases; a verdict resting on one significant pair says so."""
    correct = _correct(predictions)
    out = []
    for claim in claims or CLAIMS:
        tests, dropped = [], 0
        candidates = claim.pairs(table)
        unmatched = int(getattr(candidates, "unmatched", 0))
        for a, b in candidates:
            if a["id"] not in correct or b["id"] not in correct or a["id"] == b["id"]:
                continue
            if not claim.about_collapse and (uninformative(a) or uninformative(b)):
                dropped += 1
                continue
            ca, cb = correct[a["id"]], correct[b["id"]]
            common = ca.index.intersection(cb.index)
            if not len(common):
                continue
            va, vb = ca.loc[common].to_numpy(), cb.loc[common].to_numpy()
            res = mcnemar(va, vb)
            test = {"a": a["id"], "b_id": b["id"], "b": res.b, "c": res.c, "p": res.p_value,
                    "diff": float(va.mean() - vb.mean())}
            if claim.kind == "noninferiority":
                test["lo"], test["hi"] = paired_difference_interval(va, vb, n_boot=n_boot)
            for lang in ("en", "ru"):
                test[f"a_name_{lang}"] = variant_name(a, lang, base=a.get("base") != "TimesNet")
                test[f"b_name_{lang}"] = variant_name(b, lang, base=b.get("base") != "TimesNet")
            tests.append(test)
        for t, p in zip(tests, holm([t["p"] for t in tests])):
            t["p_holm"] = float(p)
            t["sig"] = bool(p < alpha)
        better = sum(t["sig"] and t["b"] > t["c"] for t in tests)
        worse = sum(t["sig"] and t["c"] > t["b"] for t in tests)
        if not tests:
            verdict = "uninformative" if dropped else "not_tested"
        elif claim.kind == "noninferiority":
            if worse:
                verdict = "does_not_hold"
            elif all(t["lo"] > -NONINFERIORITY_MARGIN for t in tests):
                verdict = "holds"
            else:
                verdict = "cannot_tell"
        else:
            verdict = "does_not_hold" if worse else "holds" if better else "cannot_tell"
        row = {"claim": claim.id, "chapter": claim.chapter, "kind": claim.kind, "verdict": verdict,
               "pairs": len(tests), "better": int(better), "worse": int(worse), "dropped": dropped,
               "unmatched": unmatched}
        for lang in ("en", "ru"):
            named = [{**t, "a_name": t[f"a_name_{lang}"], "b_name": t[f"b_name_{lang}"]} for t in tests]
            row[f"text_{lang}"] = claim.text[lang]
            row[f"evidence_{lang}"] = _evidence(claim, named, lang, dropped, unmatched)
        out.append(row)
    return pd.DataFrame(out)


def claims_by_dataset(tables: dict[str, pd.DataFrame], lang: str) -> pd.DataFrame:
    """The claims (rows, in :data:`CLAIMS` order) × datasets (columns, in the given order) → the verdict in
    ``lang``, from each dataset's :func:`check` table; a claim a dataset's run did not record: not tested."""
    order = [c.id for c in CLAIMS]
    texts = {c.id: c.text[lang] for c in CLAIMS}
    for t in tables.values():
        for claim in t["claim"]:
            if claim not in texts:  # a claim of a newer or older run: keep it, after the known ones
                order.append(claim)
                texts[claim] = str(t.loc[t["claim"] == claim, f"text_{lang}"].iloc[0])
    head = {"en": "Conclusion of the study", "ru": "Вывод исследования"}[lang]
    rows = []
    for claim in order:
        row = {head: texts[claim]}
        for dataset, t in tables.items():
            found = t[t["claim"] == claim]
            row[dataset] = verdict_name(str(found["verdict"].iloc[0]) if len(found) else "not_tested", lang)
        rows.append(row)
    return pd.DataFrame(rows)
