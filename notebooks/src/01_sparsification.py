# %% [markdown]
# # 01 · Sparsification: low-rank, gradient importance, magnitude, sparse + low-rank
#
# Compresses the pretrained TimesNet of chapter 00 four ways — low-rank SVD factorization of every Conv2d and
# Linear layer, removal of whole Inception kernel branches ranked by gradient importance, magnitude pruning
# with masks (the study's three), and sparse + low-rank `W ≈ UV + S` at the same budgets — to each fraction of the
# profile, fine-tunes every compressed model with the epoch chosen on
# validation, and measures parameters, stored bytes, CPU latency and test accuracy. Writes the counterparts of the
# study's Figures 1–3 and Tables 3–4 and the variants for the comparison chapter.

# %% [markdown] lang=ru
# # 01 · Разреживание: низкий ранг, важность по градиенту, по модулю, разреженный + низкоранговый
#
# Ноутбук сжимает предобученную TimesNet из главы 00 четырьмя способами — низкоранговым (SVD) разложением каждого слоя
# Conv2d и Linear, удалением целых ветвей-ядер Inception в порядке важности по градиенту, прунингом по модулю с масками
# (три метода исследования) и разреженным + низкоранговым разложением `W ≈ UV + S` при тех же бюджетах — до каждой доли
# из профиля, дообучает каждую сжатую модель с выбором эпохи по валидации и измеряет число параметров, размер хранения в
# байтах, задержку на CPU и точность на тесте. Записывает аналоги рисунков 1–3 и таблиц 3–4 исследования и варианты для
# главы сравнения.

# %% tags=parameters
profile = "quick"  # smoke | quick | full (profiles.py)
dataset = "Heartbeat"  # a UEA/UCR dataset name
seed = None  # one seed instead of the profile's list
overrides = {}  # profile settings by dotted name, e.g. {"models.epochs": 5}
data_dir = None  # the folder with NAME/NAME_TRAIN.ts; None: $TSCOMPRESS_DATA_DIR, the cache or a download
results_dir = None  # where results go; None: results/<profile>
out_dir = None  # this chapter's folder; None: <results_dir>/<dataset>/<chapter>
protocol = "auto"  # auto | official | resample | tslib | cv
device = "auto"  # auto | cpu | cuda

# %%

import numpy as np
import pandas as pd

from tscompress import chapter, latency, models, names, plots, sparsify, study, train, variants

ch = chapter.from_notebook("01_sparsification", vars())  # the parameters above, as papermill set them
run, prof = ch.run, ch.profile
ch.glue_starting_point()  # the verdict the page opens with: does the fp32 TimesNet beat the majority rate?
cfg = prof.sparsify
compare_study = study.applies_to(dataset)
mid = 0.5 if 0.5 in list(cfg.fractions) else cfg.fractions[0]  # the level the text discusses
METHODS = {m: names.METHOD_NAMES[m] for m in ("lowrank", "importance", "magnitude", "sparse_lowrank")}  # one name each
COLORS = {"lowrank": "C0", "importance": "C1", "magnitude": "C2", "sparse_lowrank": "C4"}  # C3: majority rate
ch.say_start("sparsify")

# %% [markdown]
# ## Gradient importance of the Inception kernels
# For every kernel branch of TimesNet's two Inception blocks per layer: the norm of the loss gradient per output
# filter, summed over all training batches, averaged over the filters (study's definition; dropout off).

# %% [markdown] lang=ru
# ## Важность ядер Inception по градиенту
# Для каждой ветви-ядра двух блоков Inception каждого слоя TimesNet: норма градиента функции потерь по каждому выходному
# фильтру, просуммированная по всем обучающим батчам и усреднённая по фильтрам (определение исследования; dropout
# выключен).

# %%
imp_rows, importances, pretrained_by_seed = [], {}, {}
for s in ch.seeds:
    d = ch.data(s)
    pretrained, _ = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
    pretrained_by_seed[s] = pretrained
    with run.timed(f"importance_seed{s}"):
        imp = sparsify.kernel_importance(pretrained, d.train.X, d.train.y, batch_size=prof.sparsify.batch_size)
    importances[s] = imp
    for name, value in imp.items():
        k = pretrained.get_submodule(name)
        imp_rows.append({"seed": s, "branch": name, "kernel": k.kernel_size[0], "params": k.weight.numel() + k.out_channels,
                         "importance": value})
imp_table = pd.DataFrame(imp_rows)
imp_table["rank"] = imp_table.groupby("seed")["importance"].rank().astype(int)
run.save_table(imp_table, "importance")
by_kernel = imp_table.groupby("kernel").agg(importance=("importance", "mean"), mean_rank=("rank", "mean"),
                                            params=("params", "sum")).reset_index()
run.save_tables(lambda lang: pd.DataFrame({
    {"en": "kernel", "ru": "ядро"}[lang]: [f"{k}×{k}" for k in by_kernel["kernel"]],
    {"en": "mean importance", "ru": "средняя важность"}[lang]: [names.number(v, lang, 4) for v in by_kernel["importance"]],
    {"en": "mean rank (1 = least important)", "ru": "средний ранг (1 — наименее важная)"}[lang]:
        [names.number(v, lang, 1) for v in by_kernel["mean_rank"]],
    plots.label("params", lang): [names.number(int(v), lang, 0) for v in by_kernel["params"]],
}), "importance_by_kernel")

# %%
def importance_figure(lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, ax = plt.subplots(figsize=(6.8, 3.4))
    t = imp_table[imp_table["seed"] == ch.seeds[0]].reset_index(drop=True)
    colors = {k: f"C{i}" for i, k in enumerate(sorted(t["kernel"].unique()))}
    ax.bar(range(len(t)), t["importance"], color=[colors[k] for k in t["kernel"]])
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=f"{k}×{k}") for k, c in colors.items()]
    ax.set_yscale("log")
    ax.set_xlabel(plots.label("sp_branch", lang))
    ax.set_ylabel(plots.label("sp_importance", lang))
    ax.legend(handles=handles, fontsize=8, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return fig


run.save_figures(importance_figure, "fig_importance")

# %% [markdown]
# ## Compress, fine-tune, measure
# Every method at every fraction of the profile: the compressed model is tested before fine-tuning, then fine-tuned
# (RAdam, the epoch chosen on validation; pruning masks stay in place), made permanent and tested again. Latency:
# median eval-mode forward time on the test inputs, in this process, side by side with the uncompressed model.

# %% [markdown] lang=ru
# ## Сжатие, дообучение, замеры
# Каждый метод на каждой доле из профиля: сжатая модель проверяется до дообучения, затем дообучается (RAdam, эпоха
# выбирается по валидации; маски прунинга остаются на месте), сжатие закрепляется в весах, и модель проверяется снова.
# Задержка: медианное время прямого прохода в режиме eval на тестовых входах, в этом же процессе, рядом с несжатой
# моделью.

# %%
rows, log, histories, correct = [], variants.VariantLog(run), {}, {}
for s in ch.seeds:
    d = ch.data(s)
    pretrained = pretrained_by_seed[s]
    ev0 = train.evaluate(pretrained, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
    correct[("fp32", 0.0, s)] = ev0.correct
    timed_models = {("fp32", 0.0): pretrained}
    total = sparsify.target_params(pretrained)
    rows.append({"method": "fp32", "fraction": 0.0, "seed": s, "removed": 0.0, "params": models.count_parameters(pretrained),
                 "params_nonzero": variants.count_nonzero(pretrained), "stored_bytes": variants.dense_bytes(pretrained),
                 "acc_before": ev0.accuracy,
                 **ev0.summary("test_")})
    for method in METHODS:
        for fraction in cfg.fractions:
            with run.timed(f"{method}_{fraction}_seed{s}"):
                if method == "lowrank":
                    model, plan = sparsify.lowrank(pretrained, fraction)
                elif method == "importance":
                    model, removed_names = sparsify.remove_kernels(pretrained, importances[s], fraction)
                elif method == "sparse_lowrank":
                    model, plan = sparsify.sparse_lowrank(pretrained, fraction, density=cfg.density)
                else:
                    model = sparsify.magnitude_prune(pretrained, fraction)
            before = train.evaluate(model, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            # how far the compressed layers are from the pretrained ones (branch removal renames layers: not defined)
            werr = np.nan if method == "importance" else sparsify.relative_weight_error(pretrained, model)
            train.set_seed(s)
            config = ch.train_config("sparsify", seed=s, desc=f"{method} {fraction:.0%}")
            # the compressed model is epoch 0: a fine-tuning that helps nothing ends on it
            fit = train.fit(model, d, config, start_candidate=True)
            if method == "magnitude":
                sparsify.make_permanent(model)
                stored = sparsify.sparse_bytes(model)
                removed = 1 - sum(int((m.weight != 0).sum()) + (m.bias.numel() if m.bias is not None else 0)
                                  for _, m in sparsify.target_layers(model)) / total
            else:
                stored = (sparsify.sparse_lowrank_bytes(model) if method == "sparse_lowrank"
                          else variants.dense_bytes(model))
                removed = 1 - sparsify.target_params(model) / total
            ev = train.evaluate(model, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            timed_models[(method, fraction)] = model
            key = f"{METHODS[method]['en']} {fraction:.0%}"
            histories[key if len(ch.seeds) == 1 else f"{key} (seed {s})"] = fit.history
            correct[(method, fraction, s)] = ev.correct
            rows.append({"method": method, "fraction": fraction, "seed": s, "removed": removed,
                         "params": models.count_parameters(model), "params_nonzero": variants.count_nonzero(model),
                         "stored_bytes": stored, "weight_error": werr, "acc_before": before.accuracy,
                         "bacc_before": before.balanced_accuracy, "best_epoch": fit.best_epoch,
                         "epochs_trained": fit.epochs_trained, "stopped_by": fit.stopped_by,
                         "train_seconds": fit.seconds, **ev.summary("test_")})
            correct[(method, fraction, s, "before")] = before.correct
            log.add(method=method, setting=f"{fraction:.0%}", evaluation=ev, base="TimesNet", seed=s, model=model,
                    stored_bytes=stored, train_seconds=fit.seconds, save=True, case_index=d.test.index,
                    validation=train.evaluate(model, d.val, device=ch.device, n_boot=0), removed=removed,
                    **variants.fit_budget(fit, config.epochs))
            ch.say("sparsified", name={lang: f"{METHODS[method][lang]} {fraction:.0%}" for lang in plots.LANGS}, seed=s, removed=removed, before=before.accuracy, ev=ev)
    for bs in (1, 64):  # every model of this seed timed round-robin, in this process
        xb = d.test.X.repeat(-(-bs // len(d.test.X)), 1, 1)[:bs]
        with run.timed(f"latency_b{bs}_seed{s}"):
            lat = latency.side_by_side(timed_models, xb, repeats=5)
        for r in rows:
            if r["seed"] == s:
                r[f"latency_b{bs}_rel"] = lat[(r["method"], r["fraction"])] / lat[("fp32", 0.0)]
log.save()
ch.glue_findings(log)  # the page's opening finding and closing summary: every variant against its fp32 model
results = pd.DataFrame(rows)
run.save_table(results, "sparsify")

# %% [markdown]
# ## Each level, every method (study: Tables 3 and 4)

# %% [markdown] lang=ru
# ## Каждый уровень, каждый метод (в исследовании: таблицы 3 и 4)

# %%
def level_table(lang):
    t = results[results["method"] != "fp32"].copy()
    t["method_name"] = t["method"].map(lambda m: METHODS[m][lang])
    t["level"] = t["fraction"].map(lambda f: f"{f:.0%}")
    t["removed_pct"] = (100 * t["removed"]).map(lambda v: f"{v:.1f}")
    t["nonzero"] = t["params_nonzero"].map(lambda v: f"{int(v):,}")
    t["kib"] = (t["stored_bytes"] / 1024).map(lambda v: f"{v:,.0f}")
    t["lat"] = [f"{a:.2f} / {b:.2f}" for a, b in zip(t["latency_b1_rel"], t["latency_b64_rel"])]
    t["before"] = t["acc_before"].map(plots.fmt_acc)
    t["after"] = [plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi) for r in t.itertuples()]
    t["bacc"] = t["test_balanced_accuracy"].map(plots.fmt_acc)
    cols = [("level", "sp_level"), ("method_name", "method"), ("removed_pct", "sp_removed_pct"),
            ("nonzero", "params_nonzero"), ("kib", "stored_kib"), ("lat", "sp_latency"), ("before", "sp_acc_before"),
            ("after", "sp_acc_after"), ("bacc", "test_balanced")]
    if compare_study:
        def st(r, i):
            row = study.TABLE34.get(round(r.fraction, 2), {}).get(r.method)
            return "—" if row is None else (f"{row[i]:.1f}" if i == 0 else f"{row[i]:.3f}")
        t["study_pct"] = [st(r, 0) for r in t.itertuples()]
        t["study_acc"] = [f"{st(r, 1)} / {st(r, 2)}" for r in t.itertuples()]
        cols += [("study_pct", "sp_study_pct"), ("study_acc", "sp_study_acc")]
    return plots.display_table(t.sort_values(["fraction", "method"]), cols, lang)


run.save_tables(level_table, "table34")

# %%
def accuracy_figure(lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    t = results[results["seed"] == ch.seeds[0]]
    base = t[t["method"] == "fp32"].iloc[0]
    for method in METHODS:
        g = t[t["method"] == method].sort_values("removed")
        x = 100 * g["removed"]
        ax.errorbar(x, g["test_accuracy"], yerr=[g["test_accuracy"] - g["test_accuracy_lo"],
                                                 g["test_accuracy_hi"] - g["test_accuracy"]],
                    fmt="o-", ms=4, capsize=2, lw=1, color=COLORS[method], label=METHODS[method][lang])
        ax.plot(x, g["acc_before"], "s:", ms=3, lw=0.8, color=COLORS[method], alpha=0.6)
        ax.plot(x, g["test_balanced_accuracy"], "x", ms=5, color=COLORS[method])
    ax.axhline(base["test_accuracy"], color="grey", lw=1, ls="--", label="fp32")
    ax.axhline(base["test_majority_rate"], color="C3", lw=1, ls=":", label=plots.label("majority", lang))
    ax.set_xlabel(plots.label("sp_removed_pct", lang))
    ax.set_ylabel(plots.label("accuracy", lang))
    ax.set_title(plots.label("sp_fig_title", lang), fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
    return fig


run.save_figures(accuracy_figure, "fig_accuracy")
at_mid = {k: v for k, v in histories.items() if k.endswith(f" {mid:.0%}") or f" {mid:.0%} (seed " in k}


def finetune_figure(lang):
    def name(key):  # the histories are keyed by the English method name
        m = next(m for m in METHODS if key.startswith(METHODS[m]["en"] + " "))
        return METHODS[m][lang] + key[len(METHODS[m]["en"]):]
    return plots.training_curves({name(k): v for k, v in at_mid.items()}, lang, max_cols=4)


run.save_figures(finetune_figure, "fig_finetune")

# %% [markdown]
# ## Numbers for the text

# %% [markdown] lang=ru
# ## Числа для текста

# %%
s0 = results[results["seed"] == ch.seeds[0]]
base = s0[s0["method"] == "fp32"].iloc[0]
run.glue_counted("n_test", int(base["test_n"]), "case.nom", "case.prep", fmt="{}")
run.glue("case_points", f"{100 / base['test_n']:.1f}")
run.glue("majority", plots.fmt_acc(base["test_majority_rate"]))
run.glue("base_acc", plots.fmt_ci(base.test_accuracy, base.test_accuracy_lo, base.test_accuracy_hi))
run.glue_counted("epochs", cfg.epochs, "epoch.nom", fmt="{}")
from tscompress import findings
from tscompress.findings import quantization as fq

for lang in plots.LANGS:  # the fine-tuning budget, how each curve ended, and what fine-tuning changed
    run.glue(f"budget_{lang}", fq.budget_text(cfg.epochs, cfg.patience, lang))
    run.glue(f"ft_stops_{lang}", findings.stops_text(
        {k: v for k, v in histories.items() if "(seed " not in k or k.endswith(f"(seed {ch.seeds[0]})")}, lang,
        cap=fq.epochs_words(cfg.epochs, lang),
        names={k: names.method_name(m, lang) + k[len(METHODS[m]["en"]):] for k in histories
               for m in METHODS if k.startswith(METHODS[m]["en"] + " ")}))
    run.glue(f"ft_changes_{lang}", findings.paired_changes(
        [findings.Change({lg: f"{METHODS[r.method][lg]} {names.percent(r.fraction, lg)}" for lg in plots.LANGS},
                         float(r.acc_before), float(r.test_accuracy), correct[(r.method, r.fraction, ch.seeds[0])],
                         correct[(r.method, r.fraction, ch.seeds[0], "before")])
         for r in s0[s0["method"] != "fp32"].sort_values(["method", "fraction"]).itertuples()], lang))
run.glue("fractions", ", ".join(f"{f:.0%}" for f in cfg.fractions))
imp0 = imp_table[imp_table["seed"] == ch.seeds[0]].sort_values("importance")
n_blocks = int(imp0["branch"].map(lambda b: b.rsplit(".kernels", 1)[0]).nunique())
lowest = imp0.head(n_blocks)
ones = int((lowest["kernel"] == 1).sum())
share_1x1 = imp0.loc[imp0["kernel"] == 1, "params"].sum() / sparsify.target_params(pretrained_by_seed[ch.seeds[0]])
run.glue_counted("n_blocks", n_blocks, "block.nom", fmt="{}")
run.glue("n_branches", str(len(imp0)))
run.glue("ones_lowest", str(ones))
run.glue("share_1x1", f"{100 * share_1x1:.2f}")
order = by_kernel.sort_values("importance")["kernel"].tolist()
run.glue("kernel_order", " < ".join(f"{k}×{k}" for k in order))
from tscompress.metrics import mcnemar

paired = []  # every compressed model against the fp32 one on the same test cases: a table, not a paragraph
for r in s0[s0["method"] != "fp32"].sort_values(["method", "fraction"]).itertuples():
    res = mcnemar(correct[(r.method, r.fraction, ch.seeds[0])], correct[("fp32", 0.0, ch.seeds[0])])
    paired.append({"method": r.method, "setting": f"{r.fraction:.0%}", "removed": r.removed, "only_this": res.b,
                   "only_fp32": res.c, "p_value": res.p_value, "significant": res.significant})
paired = pd.DataFrame(paired)
for lang in plots.LANGS:
    t = paired.assign(variant=[names.variant_name(r, lang) for r in paired.to_dict("records")],
                      p=paired["p_value"].map(lambda v: names.p_value(v, lang)),
                      sig=paired["significant"].map(lambda v: {"en": "yes", "ru": "да"}[lang] if v
                                                    else {"en": "no", "ru": "нет"}[lang]))
    run.save_table(plots.display_table(t, [("variant", "variant"), ("only_this", "only_this"),
                                           ("only_fp32", "only_fp32"), ("p", "p_value"), ("sig", "significant")],
                                       lang), f"table_mcnemar.{lang}")
n_sig = int(paired["significant"].sum())
for lang in plots.LANGS:
    run.glue(f"n_sig_{lang}", findings.significant_count_text(n_sig, len(paired), lang))
    run.glue(f"majority_{lang}", findings.majority_count_text(s0.to_dict("records"), lang, "model_with_base"))
slr = []  # sparse + low-rank against plain low-rank at the same budget, same cases
for fraction in cfg.fractions:
    a = s0[(s0["method"] == "sparse_lowrank") & (s0["fraction"] == fraction)].iloc[0]
    b = s0[(s0["method"] == "lowrank") & (s0["fraction"] == fraction)].iloc[0]
    slr.append((fraction, a, b, mcnemar(correct[("sparse_lowrank", fraction, ch.seeds[0])],
                                        correct[("lowrank", fraction, ch.seeds[0])])))
for lang in plots.LANGS:
    run.glue(f"slr_vs_lowrank_{lang}", findings.pair_by_level_text(slr, lang))
for lang in plots.LANGS:  # the study's own 50% gap, gradient importance against low-rank, after fine-tuning
    run.glue(f"study_gap_{lang}", study.gap_text(study.TABLE34[0.5]["importance"][2], study.TABLE34[0.5]["lowrank"][2], lang)
             if compare_study else {"en": "not available for this dataset", "ru": "нет для этого набора данных"}[lang])
run.glue("mid", f"{mid:.0%}")
run.glue("density", f"{100 * cfg.density:g}")
run.glue("base_kib", f"{base.stored_bytes / 1024:,.0f}")
for method in METHODS:
    r = s0[(s0["method"] == method) & (s0["fraction"] == mid)].iloc[0]
    run.glue(f"{method}_acc", plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi))
    run.glue(f"{method}_before", plots.fmt_acc(r.acc_before))
    run.glue(f"{method}_bacc", plots.fmt_acc(r.test_balanced_accuracy))
    run.glue(f"{method}_lat", f"{r.latency_b1_rel:.2f}")
    run.glue(f"{method}_lat64", f"{r.latency_b64_rel:.2f}")
    run.glue(f"{method}_kib", f"{r.stored_bytes / 1024:,.0f}")
    run.glue(f"{method}_removed", f"{100 * r.removed:.1f}")

# %%
ch.finish(summary=[f"{r.method} {r.fraction:.0%}: removed {r.removed:.1%}, test accuracy {r.test_accuracy:.3f} "
                   f"(before fine-tuning {r.acc_before:.3f}), latency x{r.latency_b1_rel:.2f}"
                   for r in s0[s0["method"] != "fp32"].itertuples()])
