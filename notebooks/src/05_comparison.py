
# %% [markdown]
# # 05 · Comparison: every compressed model on one scale
#
# Reads the variants every earlier chapter recorded (`variants.csv`: sizes, test accuracy with its interval,
# per-case predictions, saved models), tests each against the fp32 baseline of the same seed on the same test
# cases (exact McNemar), measures CPU latency of all saved models here, one after another, at batch 1 and 64,
# draws accuracy against stored bytes and against latency with the Pareto fronts, and derives budget
# recommendations from the table.

# %% tags=parameters
profile = "quick"
dataset = "Heartbeat"
data_dir = None
protocol = "auto"
seed = None
results_dir = None
out_dir = None
overrides = {}
device = "auto"

# %%
import numpy as np
import pandas as pd
import torch

from tscompress import chapter, compare, plots, report, runner, variants

ch = chapter.start("05_comparison", profile=profile, dataset=dataset, data_dir=data_dir, protocol=protocol, seed=seed,
                   results_dir=results_dir, out_dir=out_dir, overrides=overrides, device=device,
                   parameters=dict(profile=profile, dataset=dataset, protocol=protocol, seed=seed, overrides=overrides))
run, prof = ch.run, ch.profile
data = ch.data()
upstream = list(runner.CHAPTERS["05_comparison"])
table, preds = variants.collect(run.results_dir, upstream)
print(f"{len(table)} variants from {', '.join(upstream)}")
table.groupby(["chapter", "method"]).size().rename("variants").to_frame()

# %% [markdown]
# ## Combined pipelines: compress, then quantize
# The study's suggestion — sparsify first, then quantize — run here: every model that the sparsification chapter
# saved at the profile's pipeline levels (50% and 75%) and every distilled student that the distillation chapter
# saved is quantized with the quantile method to each bit width of the profile. Zeros left by pruning are kept exact and stored by a bitmask
# (`tscompress.combine`); the stored size is that of the real bit-packed file. No retraining.

# %%
from pathlib import Path

from tscompress import combine, train

log = variants.VariantLog(run)
# sparse + low-rank layers have no place in the packed quantized file format yet: not quantized here
sources = compare.pipeline_sources(table, settings={"01_sparsification": list(prof.compare.pipeline_levels)},
                                   skip_methods=["sparse_lowrank"])
for src in sources.itertuples():
    model = variants.load_model(Path(run.results_dir) / src.chapter / src.model_file)
    d = ch.data(int(src.seed))
    for bits in prof.compare.pipeline_bits:
        with run.timed(f"quantize {src.id} int{bits}"):
            qm, size = combine.quantize_variant(model, bits, run.path(f"pipelines/{src.id.split('/', 1)[1]}.int{bits}.tsq"))
        ev = train.evaluate(qm, d.test, device=ch.device, n_boot=prof.bootstrap, seed=int(src.seed))
        log.add(method=f"{src.method}+quantile", setting=f"{src.setting}+int{bits}", evaluation=ev, base=src.base,
                seed=int(src.seed), model=qm, stored_bytes=size, train_seconds=src.train_seconds, save=True,
                case_index=d.test.index, source=src.id)
log.save()
if log.rows:
    own = log.table()
    own["model_file"] = [str(run.path(f)) if f else "" for f in own["model_file"]]  # as collect() gives them
    table = pd.concat([table, own], ignore_index=True)
    preds = pd.concat([preds, *log.predictions], ignore_index=True)
print(f"{len(log.rows)} combined variants from {len(sources)} saved models")
log.table()[["id", "params_nonzero", "stored_bytes", "test_accuracy"]] if log.rows else None

# %% [markdown]
# ## Paired tests against the baseline
# For every variant: how many test cases only it got right, how many only the fp32 baseline of the same seed got
# right, and the exact McNemar p-value. With a test set of this size most differences are not significant.

# %%
cmp = compare.paired_tests(table, preds, base="TimesNet")
cmp[["id", "test_accuracy", "only_variant", "only_baseline", "p_value", "significant"]]

# %% [markdown]
# ## CPU latency, measured here side by side
# Every saved model runs on the same test inputs in this one process (eval mode, no gradients; median of the
# profile's repeats), so the ratios to the fp32 baseline compare like with like.

# %%
x = data.test.X
reps = prof.compare.latency_repeats
with run.timed("latency"):
    cmp = compare.measure_latencies(cmp, x, batch_sizes=(1, 64), repeats=reps)
cmp = compare.mark_fronts(cmp, {"bytes": "stored_bytes", "latency": "latency_b1"})
def chapter_relative(path, chapter):
    """Model files as the chapters wrote them (relative to the chapter's folder), not this run's absolute paths."""
    if not isinstance(path, str) or not path:
        return ""
    base = Path(run.path(".")) if chapter == run.chapter else Path(run.results_dir) / chapter
    return str(Path(path).resolve().relative_to(base.resolve()))


run.save_table(cmp.assign(model_file=[chapter_relative(f, c) for f, c in zip(cmp["model_file"], cmp["chapter"])]),
               "comparison")
cmp[["id", "stored_bytes", "latency_b1", "latency_b64", "latency_b1_rel", "latency_b64_rel", "front_bytes",
     "front_latency"]]

# %% [markdown]
# ## The table of every variant

# %%
CHAPTER_LABELS = {
    "00_models": {"en": "baseline", "ru": "базовая"},
    "01_sparsification": {"en": "sparsification", "ru": "разреживание"},
    "02_distillation": {"en": "distillation", "ru": "дистилляция"},
    "03_quantization": {"en": "quantization", "ru": "квантование"},
    "04_peft": {"en": "PEFT", "ru": "PEFT"},
    "05_comparison": {"en": "combined", "ru": "комбинации"},
}


def shown(df, lang):
    t = df.copy()
    t["chapter"] = [CHAPTER_LABELS.get(c, {}).get(lang, c) for c in t["chapter"]]
    t["accuracy"] = [plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi) for r in t.itertuples()]
    t["stored"] = (t["stored_bytes"] / 1024).map(lambda v: f"{v:,.1f}")
    t["nonzero"] = t["params_nonzero"].map(lambda v: f"{int(v):,}")
    t["lat1"] = t["latency_b1_rel"].map(lambda v: "—" if np.isnan(v) else f"{v:.2f}")
    t["lat64"] = t["latency_b64_rel"].map(lambda v: "—" if np.isnan(v) else f"{v:.2f}")
    t["cost"] = t["train_seconds"].map(lambda v: "—" if np.isnan(v) else f"{v:.0f}")
    t["test"] = [("—" if np.isnan(r.p_value) else f"{int(r.only_variant)} / {int(r.only_baseline)}, {r.p_value:.2f}"
                  + (" *" if r.significant else "")) for r in t.itertuples()]
    t["majority"] = t["test_majority_rate"].map(plots.fmt_acc)
    cols = [("chapter", "chapter"), ("method", "method"), ("setting", "setting"), ("base", "base"),
            ("nonzero", "params_nonzero"), ("stored", "stored_kib"), ("accuracy", "test_accuracy"),
            ("majority", "majority_short"), ("test", "mcnemar"), ("lat1", "latency_b1_rel"),
            ("lat64", "latency_b64_rel"), ("cost", "train_seconds")]
    return plots.display_table(t, cols, lang)


cmp["chapter_label"] = [CHAPTER_LABELS.get(c, {}).get("en", c) for c in cmp["chapter"]]
for lang in plots.LANGS:
    run.save_table(shown(cmp, lang), f"table_all.{lang}")
shown(cmp, "en")

# %% [markdown]
# ## Pareto plots

# %%
ref_table = pd.read_csv(run.upstream("00_models", "reference.csv"))
ref_first = ref_table[ref_table["seed"] == ch.seeds[0]].iloc[0]  # the same test cases as the variants of this seed
ref_line = (str(ref_first["model"]), float(ref_first["test_accuracy"]))


def pareto(cost, front, log):
    def make(lang):
        t = cmp.assign(chapter_label=[CHAPTER_LABELS.get(c, {}).get(lang, c) for c in cmp["chapter"]])
        return compare.pareto_figure(t, cost, lang, log=log, front=front, reference=ref_line)
    return make


run.save_figures(pareto("stored_bytes", "front_bytes", True), "fig_pareto_bytes")
run.save_figures(pareto("latency_b1", "front_latency", True), "fig_pareto_latency")

# %% [markdown]
# ## Recommendations by size budget
# For each budget, a share of the fp32 TimesNet's stored size, the most accurate variant that fits, and whether its
# difference from the baseline is significant.

# %%
budgets = [1.0, 0.5, 0.25, 0.125, 0.0625]
rec = compare.recommend(cmp, budgets, cost="stored_bytes", base="TimesNet")
run.save_table(rec, "recommendations")


def rec_shown(lang):
    t = rec.copy()
    t["budget"] = t["budget"].map(lambda v: f"{v:g}")
    t["variant"] = [f"{r.method} {r.setting}" if r.id else "—" for r in t.itertuples()]
    t["stored"] = t["cost"].map(lambda v: "—" if np.isnan(v) else f"{v / 1024:,.1f}")
    t["accuracy"] = t["test_accuracy"].map(plots.fmt_acc)
    t["significant"] = t["significant"].map(lambda v: {"en": "yes", "ru": "да"}[lang] if v
                                            else {"en": "no", "ru": "нет"}[lang])
    return plots.display_table(t, [("budget", "budget"), ("variant", "variant"), ("stored", "stored_kib"),
                                   ("accuracy", "accuracy"), ("significant", "significant")], lang)


for lang in plots.LANGS:
    run.save_table(rec_shown(lang), f"recommendations.{lang}")
rec_shown("en")

# %% [markdown]
# ## Numbers for the text

# %%
base_row = cmp[(cmp["method"] == "baseline") & (cmp["base"] == "TimesNet")].iloc[0]
others = cmp[cmp["id"] != base_row["id"]]
n_sig = int(others["significant"].sum())
run.glue("n_variants", f"{len(cmp)}")
run.glue("pipeline_levels", ", ".join(str(v) for v in prof.compare.pipeline_levels))
for lang, conj in (("en", " and "), ("ru", " и ")):
    bits_list = [str(b) for b in prof.compare.pipeline_bits]
    run.glue(f"pipeline_bits_{lang}", ", ".join(bits_list[:-1]) + conj + bits_list[-1] if len(bits_list) > 1 else bits_list[0])
run.glue("n_pipelines", f"{len(log.rows)}")
run.glue("n_tested", f"{int(others['p_value'].notna().sum())}")
run.glue("n_significant", f"{n_sig}")
run.glue("n_test", f"{int(base_row['test_n'])}")
run.glue("case_points", f"{100 / base_row['test_n']:.1f}")
run.glue("base_acc", plots.fmt_ci(base_row.test_accuracy, base_row.test_accuracy_lo, base_row.test_accuracy_hi))
run.glue("base_majority", plots.fmt_acc(base_row.test_majority_rate))
run.glue("base_kib", f"{base_row.stored_bytes / 1024:,.0f}")
front = cmp[cmp["front_bytes"]].sort_values("stored_bytes")
for lang in plots.LANGS:
    names = "; ".join(f"{r.method} {r.setting} ({r.base}, {r.stored_bytes / 1024:,.0f} KiB, {r.test_accuracy:.3f})"
                      for r in front.itertuples())
    run.glue(f"front_{lang}", names)
    sig = others[others["significant"]]
    if len(sig):
        lst = ", ".join(f"{r.method} {r.setting} ({r.base}, p = {r.p_value:.3f})" for r in sig.itertuples())
        text = {"en": f"significantly different from the fp32 TimesNet: {lst}",
                "ru": f"значимо отличаются от TimesNet fp32: {lst}"}[lang]
    else:
        text = {"en": "none of them differs significantly from the fp32 TimesNet on these test cases",
                "ru": "ни один из них не отличается значимо от TimesNet fp32 на этих тестовых примерах"}[lang]
    run.glue(f"significance_{lang}", text)
for lang in plots.LANGS:
    for key, text in compare.claims(cmp, lang).items():
        run.glue(f"claim_{key}_{lang}", text)
lat = others[others["latency_b1_rel"].notna() & (others["base"] == "TimesNet")]
latency_text = {"en": "No other TimesNet variant was saved for timing.",
                "ru": "Других сохранённых вариантов TimesNet для замера нет."}
if len(lat):
    fastest = lat.sort_values("latency_b1_rel").iloc[0]
    slowest = lat.sort_values("latency_b1_rel").iloc[-1]
    latency_text = {
        "en": f"Relative latency at batch 1 ranges from {fastest.latency_b1_rel:.2f}× ({fastest.method} "
              f"{fastest.setting}, {fastest.base}) to {slowest.latency_b1_rel:.2f}× ({slowest.method} {slowest.setting}, "
              f"{slowest.base}) of the fp32 TimesNet's time.",
        "ru": f"Относительная задержка при батче 1 — от {fastest.latency_b1_rel:.2f}× ({fastest.method} "
              f"{fastest.setting}, {fastest.base}) до {slowest.latency_b1_rel:.2f}× ({slowest.method} {slowest.setting}, "
              f"{slowest.base}) от времени TimesNet fp32."}
for lang in plots.LANGS:
    run.glue(f"latency_{lang}", latency_text[lang])

# %%
ch.finish(summary=[f"{len(cmp)} variants compared; {n_sig} differ significantly from the fp32 TimesNet "
                   f"(exact McNemar, n={int(base_row['test_n'])})"])
