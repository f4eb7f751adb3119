
# %% [markdown]
# # 03 · Quantization: quantile PTQ, real packed files, the study's QAT
#
# Post-training quantization of the pretrained TimesNet of chapter 00 with the study's quantile (equal-frequency)
# method and two baselines (per-channel uniform affine, NormalFloat with double quantization), each saved to a
# bit-packed file whose real size is reported next to the accounting; then the study's quantization-aware training
# (the model only ever holds quantized weights) from random initialisation, and PTQ applied to every trained model.
# Writes the counterparts of the study's Table 5, Figure 8 and Table 6 and the variants for the comparison chapter.

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

from tscompress import chapter, models, plots, quantize, report, study, train, variants
from tscompress.metrics import mcnemar

ch = chapter.start("03_quantization", profile=profile, dataset=dataset, data_dir=data_dir, protocol=protocol,
                   seed=seed, results_dir=results_dir, out_dir=out_dir, overrides=overrides, device=device,
                   parameters=dict(profile=profile, dataset=dataset, protocol=protocol, seed=seed, overrides=overrides))
run, prof = ch.run, ch.profile
cfg = prof.quantize
compare_study = study.applies_to(dataset)
MIB = 2**20
METHOD_NAMES = {"quantile": {"en": "quantile (study)", "ru": "квантильное (исследование)"},
                "uniform": {"en": "uniform per channel", "ru": "равномерное поканальное"},
                "nf": {"en": "NormalFloat (NF)", "ru": "NormalFloat (NF)"},
                "fp32": {"en": "fp32", "ru": "fp32"}}
print(f"profile {prof.name}: {prof.description}; quantize settings {cfg.to_dict()}; seeds {ch.seeds}")

# %% [markdown]
# ## Post-training quantization
# Each method quantizes every parameter of the pretrained TimesNet (quantile: convolutions per output filter, other
# parameters as a whole; uniform: per output channel; NF: blocks of 64 with double-quantized block scales), the
# quantized model is saved to a bit-packed file, loaded back, and tested.

# %%
rows, log, correct = [], variants.VariantLog(run), {}
for s in ch.seeds:
    d = ch.data(s)
    pretrained, extra = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
    ev = train.evaluate(pretrained, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
    fp32_bytes = variants.dense_bytes(pretrained)
    rows.append({"method": "fp32", "bits": 32, "seed": s, "accounted_bytes": fp32_bytes, "file_bytes": np.nan,
                 **ev.summary("test_")})
    correct[("fp32", 32, s)] = ev.correct
    for method in ("quantile", "uniform", "nf"):
        for bits in cfg.ptq_bits:
            with run.timed(f"ptq_{method}{bits}_seed{s}"):
                qm = quantize.quantize(pretrained, method, bits)
                path = qm.save(run.path(f"ptq/{method}_int{bits}_seed{s}.tsq"))
                back = quantize.load_quantized(path)
            ev = train.evaluate(back, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            size = path.stat().st_size
            rows.append({"method": method, "bits": bits, "seed": s, "accounted_bytes": qm.nbytes(), "file_bytes": size,
                         **ev.summary("test_")})
            correct[(method, bits, s)] = ev.correct
            log.add(method=method, setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=back,
                    stored_bytes=size, train_seconds=run.timings[f"ptq_{method}{bits}_seed{s}"],
                    save=bits in (8, 4), case_index=d.test.index)
ptq = pd.DataFrame(rows)
run.save_table(ptq, "ptq")
ptq[["method", "bits", "seed", "accounted_bytes", "file_bytes", "test_accuracy", "test_balanced_accuracy"]]

# %% [markdown]
# ## Table 5: TimesNet fp32 / int8 / int4
# The study's method at 8 and 4 bits beside fp32, with both sizes: the study's accounting (b-bit indices plus
# min(2^b, n) float32 code values per group) and the real file (indices bit-packed, codebooks, a small header).

# %%
def table5(lang):
    t = ptq[(ptq["method"].isin(["fp32", "quantile"])) & (ptq["bits"].isin([32, 8, 4]))].copy()
    t["variant"] = ["fp32" if b == 32 else f"int{b}" for b in t["bits"]]
    t["acc"] = [plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi) for r in t.itertuples()]
    t["bacc"] = t["test_balanced_accuracy"].map(plots.fmt_acc)
    t["maj"] = t["test_majority_rate"].map(plots.fmt_acc)
    t["acc_mib"] = (t["accounted_bytes"] / MIB).map(lambda v: f"{v:.4f}")
    t["file_mib"] = (t["file_bytes"] / MIB).map(lambda v: "—" if np.isnan(v) else f"{v:.4f}")
    cols = [("variant", "q_variant"), ("seed", "seed"), ("acc", "test_accuracy"), ("bacc", "test_balanced"),
            ("maj", "majority_short"), ("acc_mib", "q_accounted_mib"), ("file_mib", "q_file_mib")]
    if compare_study:
        t["study_acc"] = t["variant"].map(lambda v: f"{study.TABLE5[v]['accuracy']:.4f}")
        t["study_mib"] = t["variant"].map(lambda v: f"{study.TABLE5[v]['mib']:.4f}")
        cols += [("study_acc", "study_accuracy"), ("study_mib", "q_study_mib")]
    return plots.display_table(t, cols, lang)


for lang in plots.LANGS:
    run.save_table(table5(lang), f"table5.{lang}")
table5("en")

# %% [markdown]
# ## Accuracy against bits, three methods

# %%
def bits_figure(lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    s0 = ptq[ptq["seed"] == ch.seeds[0]]
    base = s0[s0["method"] == "fp32"].iloc[0]
    for i, method in enumerate(["quantile", "uniform", "nf"]):
        g = s0[s0["method"] == method].sort_values("bits")
        ax.errorbar(g["bits"] + (i - 1) * 0.08, g["test_accuracy"],
                    yerr=[g["test_accuracy"] - g["test_accuracy_lo"], g["test_accuracy_hi"] - g["test_accuracy"]],
                    fmt="o-", ms=4, capsize=2, lw=1, label=METHOD_NAMES[method][lang], color=f"C{i}")
        ax.plot(g["bits"] + (i - 1) * 0.08, g["test_balanced_accuracy"], "x:", ms=5, lw=0.8, color=f"C{i}")
    ax.axhline(base["test_accuracy"], color="grey", lw=1, ls="--", label=f"fp32 ({plots.fmt_acc(base['test_accuracy'])})")
    ax.axhline(base["test_majority_rate"], color="C3", lw=1, ls=":", label=plots.label("majority", lang))
    ax.set_xlabel(plots.label("q_bits", lang))
    ax.set_ylabel(plots.label("accuracy", lang))
    ax.set_xticks(sorted(set(s0["bits"]) - {32}))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(plots.label("q_bits_title", lang), fontsize=10)
    return fig


run.save_figures(bits_figure, "fig_bits")

# %% [markdown]
# ## QAT, the study's variant (Figure 8)
# TimesNet trained from random initialisation normally (fp32) and with the study's QAT at each bit width of the
# profile: after every optimizer step every parameter is replaced by its quantile-quantized value, so the model
# never holds anything else. Same optimizer, batches, epochs and validation-based selection as the fp32 run.

# %%
histories, best, trained, qat_rows = {}, {}, {}, []
for s in ch.seeds:
    d = ch.data(s)
    for bits in [None, *cfg.qat_bits]:
        name = "fp32" if bits is None else f"QAT int{bits}"
        key = name if len(ch.seeds) == 1 else f"{name} (seed {s})"
        train.set_seed(s)
        model = models.build_model("TimesNet", d.n_channels, d.seq_len, d.n_classes)
        with run.timed(f"train_{name}_seed{s}"):
            fit = quantize.qat_fit(model, d, ch.train_config("quantize", seed=s, desc=name), bits=bits)
        histories[key], best[key] = fit.history, fit.best_epoch
        trained[(bits, s)] = (model, fit)
        print(f"{name} seed {s}: best epoch {fit.best_epoch}/{len(fit.history)}, {fit.seconds:.0f} s")
run.save_figures(lambda lang: plots.training_curves(histories, lang, best), "fig_qat_curves")

# %% [markdown]
# ## Table 6: PTQ applied to every trained model

# %%
for s in ch.seeds:
    d = ch.data(s)
    for bits, (model, fit) in [(b, v) for (b, ss), v in trained.items() if ss == s]:
        training = "fp32" if bits is None else f"int{bits}"
        for ptq_bits in [None, *cfg.qat_bits]:
            m = model if ptq_bits is None else quantize.quantile_quantize(model, ptq_bits)
            ev = train.evaluate(m, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            qat_rows.append({"training": training, "ptq": "fp32" if ptq_bits is None else f"int{ptq_bits}", "seed": s,
                             "train_seconds": fit.seconds, "best_epoch": fit.best_epoch, **ev.summary("test_")})
            if bits is not None and ptq_bits == bits:  # a QAT model is stored at its own bit width
                path = m.save(run.path(f"qat/int{bits}_seed{s}.tsq"))
                log.add(method="qat", setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=m,
                        stored_bytes=path.stat().st_size, train_seconds=fit.seconds, save=True,
                        case_index=d.test.index)
qat = pd.DataFrame(qat_rows)
run.save_table(qat, "table6")
log.save()
trainings = ["fp32", *[f"int{b}" for b in cfg.qat_bits]]
ptqs = ["fp32", *[f"int{b}" for b in cfg.qat_bits]]


def table6(lang):
    mean = qat.groupby(["ptq", "training"])["test_accuracy"].mean()
    bacc = qat.groupby(["ptq", "training"])["test_balanced_accuracy"].mean()
    head = {"en": "PTQ \\ training", "ru": "PTQ \\ обучение"}[lang]
    out = []
    for p in ptqs:
        row = {head: p}
        for t in trainings:
            col = ("fp32" if t == "fp32" else f"QAT {t}")
            row[col] = f"{mean[(p, t)]:.3f} ({bacc[(p, t)]:.3f})"
            if compare_study and p in study.TABLE6 and t in study.TABLE6[p]:
                row[col] += f" · {study.TABLE6[p][t]:.3f}"
        out.append(row)
    return pd.DataFrame(out)


for lang in plots.LANGS:
    run.save_table(table6(lang), f"table6.{lang}")
table6("en")

# %% [markdown]
# ## Numbers for the text

# %%
s0 = ptq[ptq["seed"] == ch.seeds[0]].set_index(["method", "bits"])
fp = s0.loc[("fp32", 32)]
run.glue("n_test", str(int(fp["test_n"])))
run.glue("case_points", f"{100 / fp['test_n']:.1f}")
run.glue("majority", plots.fmt_acc(fp["test_majority_rate"]))
run.glue("fp32_acc", plots.fmt_ci(fp.test_accuracy, fp.test_accuracy_lo, fp.test_accuracy_hi))
run.glue("fp32_mib", f"{fp['accounted_bytes'] / MIB:.4f}")
for b in (8, 4):
    if ("quantile", b) in s0.index:
        r = s0.loc[("quantile", b)]
        run.glue(f"q{b}_acc", plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi))
        run.glue(f"q{b}_mib", f"{r['accounted_bytes'] / MIB:.4f}")
        run.glue(f"q{b}_file_mib", f"{r['file_bytes'] / MIB:.4f}")
        run.glue(f"q{b}_ratio", f"{fp['accounted_bytes'] / r['file_bytes']:.1f}")
        for lang in plots.LANGS:
            run.glue(f"q{b}_vs_fp32_{lang}", report.pairwise_text({f"int{b}": correct[("quantile", b, ch.seeds[0])],
                                                                   "fp32": correct[("fp32", 32, ch.seeds[0])]}, lang))
            run.glue(f"q{b}_verdict_{lang}", report.majority_verdict(r, lang))
for lang in plots.LANGS:
    run.glue(f"fp32_verdict_{lang}", report.majority_verdict(fp, lang))
q_rows = ptq[(ptq["seed"] == ch.seeds[0]) & (ptq["method"] != "fp32")]
near = [bool(r.test_single_class) or r.test_accuracy_lo <= r.test_majority_rate <= r.test_accuracy_hi
        for r in q_rows.itertuples()]
sig = sum(mcnemar(correct[(r.method, r.bits, ch.seeds[0])], correct[("fp32", 32, ch.seeds[0])]).significant
          for r in q_rows.itertuples())
run.glue("ptq_summary_en", f"{sum(near)} of {len(near)} PTQ models cannot be told apart from the majority-class rate, "
                           f"and {sig} differ significantly from the fp32 model (exact McNemar, p < 0.05)")
run.glue("ptq_summary_ru", f"{sum(near)} из {len(near)} моделей после PTQ неотличимы от доли мажоритарного класса, "
                           f"и {sig} значимо отличаются от модели fp32 (точный критерий Мак-Немара, p < 0,05)")
lowest = min(cfg.ptq_bits)
for method in ("quantile", "uniform", "nf"):
    r = s0.loc[(method, lowest)]
    run.glue(f"{method}_low_acc", plots.fmt_acc(r.test_accuracy))
    run.glue(f"{method}_low_bacc", plots.fmt_acc(r.test_balanced_accuracy))
run.glue("lowest_bits", str(lowest))
q = qat[qat["seed"] == ch.seeds[0]].set_index(["ptq", "training"])
for t in trainings:
    r = q.loc[(t if t != "fp32" else "fp32", t)]
    run.glue(f"qat_{t}_acc", plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi))
    run.glue(f"qat_{t}_bacc", plots.fmt_acc(r.test_balanced_accuracy))
    run.glue(f"qat_{t}_epoch", f"{int(r.best_epoch)}")
    run.glue(f"qat_{t}_seconds", f"{r.train_seconds:.0f}")
    for lang in plots.LANGS:
        run.glue(f"qat_{t}_verdict_{lang}", report.majority_verdict(r, lang))
run.glue("qat_epochs", str(cfg.epochs))

# %%
ch.finish(summary=[f"quantile int{b}: test accuracy {s0.loc[('quantile', b)].test_accuracy:.3f}, "
                   f"file {s0.loc[('quantile', b)].file_bytes / MIB:.4f} MiB" for b in (8, 4) if ("quantile", b) in s0.index]
          + [f"QAT {t}: test accuracy {q.loc[(t, t)].test_accuracy:.3f}" for t in trainings])
