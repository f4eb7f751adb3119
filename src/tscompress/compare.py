"""The comparison chapter's computations: every variant on one scale.

Reads what the method chapters recorded (:mod:`tscompress.variants`), tests each variant against the
fp32 baseline on the same test cases (exact McNemar), measures CPU latency of the saved models side
by side in one process, finds Pareto fronts and derives budget recommendations from the table.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from . import phrases
from .latency import side_by_side
from .metrics import mcnemar
from .names import kib, number, plural, variant_name
from .variants import load_model, pareto_front

__all__ = ["paired_tests", "front_table", "comparison_table", "recommendations_table", "mcnemar_cell", "measure_latencies", "mark_fronts", "recommend", "smallest_not_worse", "nothing_to_lose",
           "dedupe", "RECOMMEND_CRITERION", "pareto_figure", "front_names", "dominated", "claims",
           "pipeline_sources", "PIPELINE_CHAPTERS", "BASELINE_METHOD"]

BASELINE_METHOD = "baseline"


def _baseline_ids(table: pd.DataFrame, base: str) -> dict[int, str]:
    rows = table[(table["method"] == BASELINE_METHOD) & (table["base"] == base)]
    return {int(r.seed): r.id for r in rows.itertuples()}


def paired_tests(table: pd.DataFrame, predictions: pd.DataFrame, base: str = "TimesNet",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Add McNemar columns comparing every variant with the fp32 ``base`` model of the same seed.

    ``only_variant`` / ``only_baseline``: test cases only one of the two got right; ``p_value`` of
    the exact test; ``significant`` at ``alpha``. Variants of another seed without a baseline of
    that seed, and the baseline itself, get NaN / False."""
    baselines = _baseline_ids(table, base)
    by_id = {vid: g.set_index("case")["correct"] for vid, g in predictions.groupby("id")}
    rows = []
    for r in table.itertuples():
        ref = baselines.get(int(r.seed))
        out: dict[str, Any] = {"only_variant": np.nan, "only_baseline": np.nan, "p_value": np.nan,
                               "significant": False, "vs": ref or ""}
        if ref is not None and ref != r.id and r.id in by_id and ref in by_id:
            a, b = by_id[r.id], by_id[ref]
            common = a.index.intersection(b.index)
            if len(common):
                res = mcnemar(a.loc[common].to_numpy().astype(bool), b.loc[common].to_numpy().astype(bool))
                out.update(only_variant=res.b, only_baseline=res.c, p_value=res.p_value,
                           significant=bool(res.p_value < alpha))
        rows.append(out)
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def measure_latencies(table: pd.DataFrame, x: torch.Tensor, batch_sizes: Sequence[int] = (1, 64),
                      repeats: int = 10, threads: int | None = None) -> pd.DataFrame:
    """CPU latency (seconds per batch) of every variant with a saved model, measured here on the same
    inputs; columns ``latency_b<N>`` and ``latency_b<N>_rel`` (÷ the fp32 baseline of the same base
    model and seed). Variants without a saved model get NaN.

    The models are timed round-robin — one forward of each model per round, ``repeats`` rounds after
    a warm-up round, the median per model — so that a slow spell of a shared CPU falls on all models
    alike instead of on whichever model was being timed at that moment."""
    if threads is not None:
        torch.set_num_threads(threads)
    out = table.copy()
    loaded = {}
    for i, r in enumerate(out.itertuples()):
        if isinstance(r.model_file, str) and r.model_file:
            loaded[i] = load_model(r.model_file).eval()
    for bs in batch_sizes:
        xb = x[:bs]
        if len(xb) < bs:  # fewer test cases than the batch: repeat them (latency depends on the size only)
            reps = -(-bs // len(xb))
            xb = x.repeat(reps, *[1] * (x.dim() - 1))[:bs]
        times = side_by_side(loaded, xb, repeats=repeats)
        values = [times.get(i, np.nan) for i in range(len(out))]
        out[f"latency_b{bs}"] = values
        base = {(b, s): v for b, s, m, v in zip(out["base"], out["seed"], out["method"], values)
                if m == BASELINE_METHOD}
        out[f"latency_b{bs}_rel"] = [v / base[(b, s)] if (b, s) in base and base[(b, s)] else np.nan
                                     for b, s, v in zip(out["base"], out["seed"], values)]
    return out


def mark_fronts(table: pd.DataFrame, costs: Mapping[str, str], quality: str = "test_accuracy") -> pd.DataFrame:
    """Add a boolean ``front_<name>`` column per cost column (rows with NaN cost are off the front)."""
    out = table.copy()
    for name, column in costs.items():
        mask = np.zeros(len(out), dtype=bool)
        ok = out[column].notna().to_numpy()
        if ok.any():
            mask[ok] = pareto_front(out.loc[ok, column].to_numpy(float), out.loc[ok, quality].to_numpy(float))
        out[f"front_{name}"] = mask
    return out


RECOMMEND_CRITERION = "val_balanced_accuracy"
"""What the recommendations select on: the validation part's balanced accuracy, the criterion by
which the book's recipe keeps epochs. Never a test column."""


def recommend(table: pd.DataFrame, budgets: Sequence[float], cost: str = "stored_bytes", base: str = "TimesNet",
              criterion: str = RECOMMEND_CRITERION) -> pd.DataFrame:
    """For each budget (a fraction of the fp32 ``base`` model's cost): among the variants that fit and
    have a validation score, the one with the highest ``criterion`` (ties: the smaller, then the
    first listed). The choice reads validation columns only; the chosen variant's test accuracy, its
    interval and the McNemar flag (when present) are copied after the choice, for the reader.

    ``val_drop`` is how far the pick's validation score lies below the fp32 baseline's."""
    if criterion.startswith("test_"):
        raise ValueError(f"recommendations must not select on a test column ({criterion})")
    ref = table[(table["method"] == BASELINE_METHOD) & (table["base"] == base)]
    if ref.empty:
        raise ValueError(f"no {BASELINE_METHOD} row for {base}")
    ref_cost, ref_score = float(ref[cost].iloc[0]), float(ref[criterion].iloc[0])
    scored = table[table[criterion].notna() & table[cost].notna()].reset_index(drop=True)
    order = np.lexsort((np.arange(len(scored)), scored[cost].to_numpy(float), -scored[criterion].to_numpy(float)))
    ranked = scored.iloc[order]
    rows = []
    for fraction in budgets:
        inside = ranked[ranked[cost] <= fraction * ref_cost]
        if inside.empty:
            rows.append({"budget": fraction, "id": "", "cost": np.nan, criterion: np.nan, "val_drop": np.nan,
                         "significant": False})
            continue
        best = inside.iloc[0]
        rows.append({"budget": fraction, "id": best["id"], "method": best["method"], "setting": best["setting"],
                     "base": best["base"], "removed": best.get("removed", np.nan), "cost": float(best[cost]),
                     criterion: float(best[criterion]), "val_drop": ref_score - float(best[criterion]),
                     **{c: best.get(c, np.nan) for c in ("test_accuracy", "test_accuracy_lo", "test_accuracy_hi",
                                                         "test_balanced_accuracy")},
                     "significant": bool(best.get("significant", False))})
    return pd.DataFrame(rows)


def smallest_not_worse(table: pd.DataFrame, cost: str = "stored_bytes", base: str = "TimesNet",
                       criterion: str = RECOMMEND_CRITERION) -> pd.Series | None:
    """The smallest variant whose validation score is at least the fp32 ``base`` model's (None if none)."""
    if criterion.startswith("test_"):
        raise ValueError(f"recommendations must not select on a test column ({criterion})")
    ref = table[(table["method"] == BASELINE_METHOD) & (table["base"] == base)]
    if ref.empty:
        raise ValueError(f"no {BASELINE_METHOD} row for {base}")
    ok = table[table[criterion].notna() & table[cost].notna()
               & (table[criterion] >= float(ref[criterion].iloc[0]) - 1e-12)]
    if ok.empty:
        return None
    return ok.sort_values([cost, criterion], ascending=[True, False], kind="stable").iloc[0]


def nothing_to_lose(row: Mapping[str, Any], chance: float = 0.5) -> bool:
    """True when a model's test accuracy is not above the majority rate (the rate inside its 95%
    interval, or above it) and its balanced accuracy is not above ``chance`` (``1 / n_classes``; the
    interval's lower end at or below it, or no interval recorded): compression then has no measured
    accuracy to lose."""
    acc_not_above = not row["test_accuracy_lo"] > row["test_majority_rate"]
    lo = row.get("test_balanced_accuracy_lo", np.nan)
    balanced_not_above = lo is None or bool(np.isnan(lo)) or not lo > chance
    return bool(acc_not_above and balanced_not_above)


def dedupe(table: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Variants that are one model under two settings (same chapter, method, base and seed, same
    size, the same prediction on every test case — e.g. gradient importance capped at the same layer
    count for 75% and 90%) are listed once: the first row stays, ``also_settings`` names the settings
    folded into it (``90%``) and ``duplicates`` their ids."""
    by_id = {vid: tuple(g.sort_values("case")["pred"].to_numpy().tolist()) for vid, g in predictions.groupby("id")}
    keep, names, folded = [], {}, {}
    seen: dict[tuple, int] = {}
    for i, r in enumerate(table.itertuples(index=False)):
        key = (r.chapter, r.method, r.base, int(r.seed), int(r.stored_bytes), int(r.params_nonzero),
               by_id.get(r.id))
        if by_id.get(r.id) is not None and key in seen:
            first = seen[key]
            names[first].append(str(r.setting))
            folded[first].append(r.id)
            continue
        seen[key] = i
        keep.append(i)
        names[i], folded[i] = [str(r.setting)], []
    out = table.iloc[keep].copy()
    out["also_settings"] = [", ".join(names[i][1:]) for i in keep]
    out["duplicates"] = [" ".join(folded[i]) for i in keep]
    return out.reset_index(drop=True)


def pareto_figure(table: pd.DataFrame, cost: str, lang: str, log: bool = True, front: str | None = None,
                  group: str = "chapter_label", quality: str = "test_accuracy",
                  reference: tuple[str, float] | None = None):
    """Accuracy (with 95% intervals) against a cost for every variant, coloured by group, the Pareto
    front drawn as a step line, the majority-class rate as a dashed horizontal line and, when given,
    a reference classifier's accuracy on the same test cases (``(name, accuracy)``) as a dotted one."""
    import matplotlib.pyplot as plt

    from .plots import _style, label

    _style()
    fig, ax = plt.subplots(figsize=(8.4, 4.4))
    data = table[table[cost].notna()]
    for i, (name, g) in enumerate(data.groupby(group, sort=False)):
        yerr = [g[quality] - g[f"{quality}_lo"], g[f"{quality}_hi"] - g[quality]]
        ax.errorbar(g[cost], g[quality], yerr=yerr, fmt="o", ms=5, alpha=0.85, elinewidth=0.6, capsize=0,
                    color=f"C{i}", label=str(name))
    if front and front in data:
        f = data[data[front]].sort_values(cost)
        ax.step(f[cost], f[quality], where="post", color="black", lw=1.0, label=label("pareto_front", lang))
        spots: dict[tuple[float, float], list[str]] = {}  # number the points on the front (names: front_names);
        for k, r in enumerate(f.to_dict("records"), 1):  # points at the same place share one label ("1, 2")
            spots.setdefault((float(r[cost]), float(r[quality])), []).append(str(k))
        for (x, y), ks in spots.items():
            ax.annotate(", ".join(ks), (x, y), xytext=(3, 4), textcoords="offset points", fontsize=7,
                        fontweight="bold")
    maj = data["test_majority_rate"].dropna()
    if len(maj):
        ax.axhline(float(maj.iloc[0]), color="C3", lw=1.0, ls="--", label=label("majority", lang))
    if reference is not None and np.isfinite(reference[1]):
        ax.axhline(float(reference[1]), color="0.3", lw=1.0, ls=":",
                   label=f"{reference[0]} ({label('reference', lang)})")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(label(cost, lang))
    ax.set_ylabel(label("accuracy", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0)  # outside: covers no data
    fig.tight_layout()
    return fig


def front_names(table: pd.DataFrame, cost: str, front: str, lang: str, quality: str = "test_accuracy") -> str:
    """The numbered points of :func:`pareto_figure`'s front, in the same order: ``1 — name, size, accuracy; 2 — …``."""
    f = table[table[front] & table[cost].notna()].sort_values(cost)
    return "; ".join(f"{k} — {variant_name(r, lang, base=True)}, {kib(r['stored_bytes'], lang, 0)}, "
                     f"{number(r[quality], lang)}" for k, r in enumerate(f.to_dict("records"), 1))


def mcnemar_cell(row: Mapping[str, Any], lang: str) -> str:
    """A variant's paired test against fp32 as a table shows it: ``b / c, p`` (``*`` when p < 0.05),
    ``—`` when it was not tested."""
    p = row.get("p_value", np.nan)
    if pd.isna(p):
        return "—"
    return (f"{int(row['only_variant'])} / {int(row['only_baseline'])}, {number(p, lang, 2)}"
            + (" *" if row.get("significant") else ""))


_STOPS = phrases.table("stops")


def budget_cell(row: dict, lang: str) -> str:
    """A variant's training budget as a table shows it: epochs (or steps) run of the cap, and how the run ended
    (``12 / 30, patience``); ``—`` for a variant that was not trained (PTQ, a combined pipeline's quantizer)."""
    n, cap, how = row.get("epochs_trained"), row.get("epoch_cap"), row.get("stopped_by")
    if n is None or cap is None or n != n or cap != cap or not isinstance(how, str):
        return "—"
    return f"{int(n)} / {int(cap)}, {_STOPS.get(how, {}).get(lang, how)}"


def front_table(table: pd.DataFrame, cost: str, front: str, lang: str, quality: str = "test_accuracy") -> pd.DataFrame:
    """The front of :func:`pareto_figure` as a table, numbered as in the figure: variant, stored size,
    test accuracy with its interval, balanced accuracy, and the paired test against fp32."""
    from .names import interval
    from .plots import label

    f = table[table[front] & table[cost].notna()].sort_values(cost)
    rows = []
    for k, r in enumerate(f.to_dict("records"), 1):
        rows.append({
            "№": k,
            label("variant", lang): variant_name(r, lang, base=True),
            label("stored_kib", lang): number(r["stored_bytes"] / 1024, lang, 1),
            label("test_accuracy", lang): interval(r["test_accuracy"], r["test_accuracy_lo"], r["test_accuracy_hi"], lang),
            label("test_balanced", lang): number(r.get("test_balanced_accuracy", np.nan), lang),
            label("mcnemar", lang): mcnemar_cell(r, lang),
            label("trained", lang): budget_cell(r, lang),
        })
    return pd.DataFrame(rows)


def comparison_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every variant of the comparison as the page shows it: chapter, variant, base, nonzero parameters, stored KiB,
    test accuracy with its interval, the majority rate, the paired test against fp32, latency at batch 1 and 64
    relative to fp32, and training seconds."""
    from .names import chapter_name, interval
    from .plots import display_table

    num = lambda v, d=3: number(v, lang, d)  # noqa: E731
    t = table.copy()
    t["chapter"] = [chapter_name(c, lang) for c in t["chapter"]]
    t["variant"] = [variant_name(r, lang) for r in t.to_dict("records")]
    t["accuracy"] = [interval(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi, lang) for r in t.itertuples()]
    t["stored"] = t["stored_bytes"].map(lambda v: num(v / 1024, 1))
    t["nonzero"] = t["params_nonzero"].map(lambda v: num(int(v), 0))
    t["lat1"] = t["latency_b1_rel"].map(lambda v: num(v, 2))
    t["lat64"] = t["latency_b64_rel"].map(lambda v: num(v, 2))
    t["cost"] = t["train_seconds"].map(lambda v: num(v, 0))
    t["test"] = [mcnemar_cell(r, lang) for r in t.to_dict("records")]
    t["majority"] = t["test_majority_rate"].map(num)
    return display_table(t, [("chapter", "chapter"), ("variant", "variant"), ("base", "base"),
                             ("nonzero", "params_nonzero"), ("stored", "stored_kib"), ("accuracy", "test_accuracy"),
                             ("majority", "majority_short"), ("test", "mcnemar"), ("lat1", "latency_b1_rel"),
                             ("lat64", "latency_b64_rel"), ("cost", "train_seconds")], lang)


def recommendations_table(rec: pd.DataFrame, table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """:func:`recommend`'s rows as the page shows them: budget, variant (with its base), stored KiB, validation
    balanced accuracy, test accuracy and balanced accuracy, whether it differs significantly from fp32, and how it
    was trained (read from ``table``, the comparison, by id); a budget nothing fits is a row of dashes."""
    from .names import percent
    from .plots import display_table, label

    t = rec.copy()
    t["budget"] = t["budget"].map(lambda v: percent(v, lang, None))
    t["variant"] = [variant_name(r, lang, base=True) if r["id"] else "—" for r in t.to_dict("records")]
    t["stored"] = t["cost"].map(lambda v: number(v / 1024, lang, 1))
    t["val"] = t["val_balanced_accuracy"].map(lambda v: number(v, lang))
    t["accuracy"] = [number(r.test_accuracy, lang) if r.id else "—" for r in t.itertuples()]
    t["balanced"] = [number(r.test_balanced_accuracy, lang) if r.id else "—" for r in t.itertuples()]
    t["significant"] = [label("yes" if r.significant else "no", lang) if r.id else "—" for r in t.itertuples()]
    by_id = table.set_index("id")
    t["trained"] = [budget_cell(by_id.loc[r.id].to_dict(), lang) if r.id and r.id in by_id.index else "—"
                    for r in t.itertuples()]
    return display_table(t, [("budget", "budget"), ("variant", "variant"), ("stored", "stored_kib"),
                             ("val", "val_balanced_short"), ("accuracy", "test_accuracy_short"),
                             ("balanced", "balanced_short"), ("significant", "significant_test"),
                             ("trained", "trained")], lang)


def dominated(rows: pd.DataFrame, by: pd.DataFrame, cost: str = "stored_bytes",
              quality: str = "test_accuracy") -> pd.Series:
    """For each row of ``rows``: is there a row of ``by`` at most as costly and at least as good?"""
    flags = []
    for r in rows.itertuples():
        c, q = getattr(r, cost), getattr(r, quality)
        flags.append(bool(((by[cost] <= c) & (by[quality] >= q)).any()))
    return pd.Series(flags, index=rows.index, dtype=bool)


_CHAPTER_NAMES = phrases.table("comparison_chapters")


def _smallest(rows: pd.DataFrame, lang: str) -> str:
    r = rows.sort_values(["stored_bytes", "test_accuracy"], ascending=[True, False]).iloc[0]
    acc = {"en": "accuracy", "ru": "точность"}[lang]
    return f"{variant_name(r, lang)}, {kib(r.stored_bytes, lang)}, {acc} {number(r.test_accuracy, lang)}"


def _missing(chapter: str, lang: str) -> str:
    name = _CHAPTER_NAMES[chapter][lang]
    return {"en": f"not checked: this run has no {name} variants of TimesNet",
            "ru": f"не проверено: в этом прогоне нет вариантов TimesNet из {name}"}[lang]


def claims(table: pd.DataFrame, lang: str, base: str = "TimesNet") -> dict[str, str]:
    """The study's overall conclusions checked against a comparison table, as sentences in ``lang``.

    * ``per_bit`` — "per bit, quantization beats sparsification": how many sparsified variants of
      ``base`` are matched or beaten (at most as many stored bytes, at least the test accuracy) by a
      quantized one;
    * ``combined`` — "sparsify first, then quantize": how many combined pipelines lie on the
      size-accuracy Pareto front (column ``front_bytes``), against quantization alone.
    """
    mine = table[table["base"] == base]
    sparse = mine[mine["chapter"] == "01_sparsification"]
    quant = mine[mine["chapter"] == "03_quantization"]
    combo = mine[mine["chapter"] == "05_comparison"]
    out = {}
    if sparse.empty:
        out["per_bit"] = _missing("01_sparsification", lang)
    elif quant.empty:
        out["per_bit"] = _missing("03_quantization", lang)
    else:
        k, n = int(dominated(sparse, quant).sum()), len(sparse)
        verdict = ({"en": "consistent with the study", "ru": "что согласуется с выводом исследования"} if k == n else
                   {"en": "only partly consistent with the study", "ru": "что лишь частично согласуется с выводом исследования"}
                   if k else {"en": "not what the study found", "ru": "что расходится с выводом исследования"})[lang]
        out["per_bit"] = {
            "en": f"{k} of {n} sparsified variants are matched or beaten by a quantized variant that is at most as "
                  f"large ({verdict}); smallest quantized: {_smallest(quant, lang)}; smallest sparsified: "
                  f"{_smallest(sparse, lang)}",
            "ru": f"{k} из {n} разреженных вариантов не лучше квантованного варианта, который не больше по размеру "
                  f"({verdict}); самый маленький квантованный: {_smallest(quant, lang)}; самый маленький "
                  f"разреженный: {_smallest(sparse, lang)}"}[lang]
    if combo.empty:
        out["combined"] = _missing("05_comparison", lang)
    else:
        on_front = int(combo["front_bytes"].sum()) if "front_bytes" in combo else 0
        text = {"en": f"{on_front} of {len(combo)} combined pipelines lie on the size–accuracy Pareto front; "
                      f"smallest combined: {_smallest(combo, lang)}",
                "ru": f"{on_front} из {len(combo)} комбинированных конвейеров "
                      f"{plural(on_front, {'one': 'лежит', 'few': 'лежат', 'many': 'лежат'}, 'ru')} на парето-фронте «размер–точность»; "
                      f"самый маленький комбинированный: {_smallest(combo, lang)}"}[lang]
        if not quant.empty:
            text += {"en": f"; smallest quantization alone: {_smallest(quant, lang)}",
                     "ru": f"; самый маленький только квантованный: {_smallest(quant, lang)}"}[lang]
        out["combined"] = text
    return out


PIPELINE_CHAPTERS = ("01_sparsification", "02_distillation")
"""Chapters whose saved models the combined pipelines quantize."""


def pipeline_sources(table: pd.DataFrame, chapters: Sequence[str] = PIPELINE_CHAPTERS,
                     settings: Mapping[str, Sequence[str]] | None = None,
                     skip_methods: Sequence[str] = ()) -> pd.DataFrame:
    """The saved variants that the combined pipelines start from: every variant of ``chapters`` with
    a saved model, or, for a chapter named in ``settings``, only those whose setting is listed;
    variants of ``skip_methods`` are left out."""
    settings = settings or {}
    keep = (table["chapter"].isin(chapters) & table["model_file"].fillna("").astype(str).ne("")
            & ~table["method"].isin(list(skip_methods)))
    rows = table[keep]
    for chapter, allowed in settings.items():
        rows = rows[(rows["chapter"] != chapter) | rows["setting"].astype(str).isin([str(a) for a in allowed])]
    return rows.reset_index(drop=True)
