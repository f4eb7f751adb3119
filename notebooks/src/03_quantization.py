# %% [markdown]
# # 03 · Quantization: quantile PTQ, real packed files, the study's QAT
#
# Post-training quantization of the pretrained TimesNet of chapter 00 with the study's quantile (equal-frequency)
# method and two baselines (per-channel uniform affine, NormalFloat with double quantization), each saved to a
# bit-packed file whose real size is reported next to the accounting; then the study's quantization-aware training
# (the model only ever holds quantized weights) from random initialisation, and PTQ applied to every trained model.
# Writes the counterparts of the study's Table 5, Figure 8 and Table 6 and the variants for the comparison chapter.

# %% [markdown] lang=ru
# # 03 · Квантование: квантильное PTQ, упакованные файлы, QAT исследования
#
# Квантование после обучения (PTQ) предобученной TimesNet из главы 00 квантильным (равночастотным) методом
# исследования и двумя базовыми методами (равномерным аффинным по каналам и NormalFloat с двойным квантованием); каждая
# модель сохраняется в файл с упакованными битами, и его настоящий размер приводится рядом с учётом исследования; затем
# обучение с учётом квантования (QAT) в варианте исследования (модель всегда хранит только квантованные веса) со
# случайной инициализации и PTQ каждой обученной модели. Записывает аналоги таблицы 5, рисунка 8 и таблицы 6
# исследования и варианты для главы сравнения.

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

from tscompress import chapter, models, names, plots, quantize, report, study, train, variants
from tscompress.metrics import mcnemar

ch = chapter.start("03_quantization", profile=profile, dataset=dataset, data_dir=data_dir, protocol=protocol,
                   seed=seed, results_dir=results_dir, out_dir=out_dir, overrides=overrides, device=device,
                   parameters=dict(profile=profile, dataset=dataset, protocol=protocol, seed=seed, overrides=overrides))
run, prof = ch.run, ch.profile
ch.glue_starting_point()  # the verdict the page opens with: does the fp32 TimesNet beat the majority rate?
cfg = prof.quantize
if not set(cfg.finetune_bits) <= set(cfg.ptq_bits):
    from tscompress.errors import ConfigError

    raise ConfigError(f"quantize.finetune_bits {list(cfg.finetune_bits)} must be among ptq_bits {list(cfg.ptq_bits)}")
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

# %% [markdown] lang=ru
# ## Квантование после обучения
# Каждый метод квантует все параметры предобученной TimesNet (квантильный: свёртки по выходным фильтрам, остальные
# параметры целиком; равномерный: по выходным каналам; NF: блоки по 64 значения с дважды квантованными масштабами
# блоков); квантованная модель сохраняется в файл с упакованными битами, загружается обратно и проверяется на тесте.

# %%
rows, log, correct, pretrained_by_seed = [], variants.VariantLog(run), {}, {}
for s in ch.seeds:
    d = ch.data(s)
    pretrained, extra = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
    pretrained_by_seed[s] = pretrained
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
                    save=bits in (8, 4), case_index=d.test.index,
                    validation=train.evaluate(back, d.val, device=ch.device, n_boot=0))
ptq = pd.DataFrame(rows)
run.save_table(ptq, "ptq")
seed_col = [("seed", "seed")] if len(ch.seeds) > 1 else []


def quantizer_table(df, extra, lang):
    """A chapter's raw rows as the edition shows them: the quantizer by name, numbers in its format."""
    t = df.copy()
    t["quantizer"] = [names.method_name(m, lang) for m in t["method"]]
    t["file"] = t["file_bytes"].map(lambda v: names.number(v / 1024, lang, 1))
    t["acc"] = [names.interval(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi, lang) for r in t.itertuples()]
    t["bacc"] = t["test_balanced_accuracy"].map(lambda v: names.number(v, lang))
    return plots.display_table(t, [("quantizer", "method"), ("bits", "q_bits"), *seed_col, *extra, ("file", "file_kib"),
                                   ("acc", "test_accuracy"), ("bacc", "test_balanced")], lang)


run.save_tables(lambda lang: quantizer_table(ptq, [], lang), "ptq")

# %% [markdown]
# ## Fine-tuning after PTQ: move the codes of the weights with the largest gradient
# PV-tuning's V step (`quantize.code_finetune`): at every step the share `finetune_fraction` of all weights with the
# largest loss gradient moves one code value against the gradient, in its own group's codebook; codebooks and block
# constants stay as the quantizer made them, so format and file size do not change. Epoch chosen on validation.

# %% [markdown] lang=ru
# ## Дообучение после PTQ: сдвиг кодов весов с наибольшим градиентом
# Шаг V из PV-tuning (`quantize.code_finetune`): на каждом шаге доля `finetune_fraction` всех весов с наибольшим
# градиентом функции потерь сдвигается на одно кодовое значение против градиента в кодовой книге своей группы; кодовые
# книги и константы блоков остаются такими, какими их сделал квантизатор, поэтому формат и размер файла не меняются.
# Эпоха выбирается по валидации.

# %%
ft_rows = []
for s in ch.seeds:
    d = ch.data(s)
    n_weights = sum(p.numel() for p in pretrained_by_seed[s].parameters())
    for method in ("quantile", "uniform", "nf"):
        for bits in cfg.finetune_bits:
            qm = quantize.quantize(pretrained_by_seed[s], method, bits)
            size_before = qm.nbytes()
            config = ch.train_config("quantize", seed=s, epochs=cfg.finetune_epochs, desc=f"{method} int{bits} codes")
            with run.timed(f"codes_{method}{bits}_seed{s}"):
                fit, moved = quantize.code_finetune(qm, d, config, fraction=cfg.finetune_fraction)
            assert qm.nbytes() == size_before  # same format, same size
            path = qm.save(run.path(f"codes/{method}_int{bits}_seed{s}.tsq"))
            stored_model = quantize.load_quantized(path)
            ev = train.evaluate(stored_model, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            correct[(f"{method}+codes", bits, s)] = ev.correct
            ft_rows.append({"method": method, "bits": bits, "seed": s, "moved": moved, "moved_share": moved / n_weights,
                            "best_epoch": fit.best_epoch, "train_seconds": fit.seconds, "file_bytes": path.stat().st_size,
                            **ev.summary("test_")})
            log.add(method=f"{method}+codes", setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=qm,
                    stored_bytes=path.stat().st_size, train_seconds=fit.seconds, save=False, case_index=d.test.index,
                    validation=train.evaluate(stored_model, d.val, device=ch.device, n_boot=0))
            print(f"{method} int{bits} seed {s}: {moved} code moves ({moved / n_weights:.1%} of the weights), "
                  f"best epoch {fit.best_epoch}; {ev.describe()}")
ft = pd.DataFrame(ft_rows)
run.save_table(ft, "code_finetune")
run.save_tables(lambda lang: quantizer_table(
    ft.assign(moved_pct=ft["moved_share"].map(lambda v: names.number(100 * v, lang, 2)),
              seconds=ft["train_seconds"].map(lambda v: names.number(v, lang, 0))),
    [("moved_pct", "moved_pct"), ("best_epoch", "best_epoch"), ("seconds", "train_seconds")], lang), "code_finetune")

# %% [markdown]
# ## TimesNet fp32 / int8 / int4 (study: Table 5)
# The study's method at 8 and 4 bits beside fp32, with both sizes: the study's accounting (b-bit indices plus
# min(2^b, n) float32 code values per group) and the real file (indices bit-packed, codebooks, a small header).

# %% [markdown] lang=ru
# ## TimesNet fp32 / int8 / int4 (в исследовании: таблица 5)
# Метод исследования на 8 и 4 битах рядом с fp32, с обоими размерами: по учёту исследования (b-битные индексы плюс
# min(2^b, n) кодовых значений float32 на группу) и настоящий файл (индексы, упакованные по битам, кодовые книги,
# небольшой заголовок).

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


run.save_tables(table5, "table5")

# %% [markdown]
# ## Accuracy against bits, three methods

# %% [markdown] lang=ru
# ## Точность в зависимости от числа битов, три метода

# %%
def bits_figure(lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    s0 = ptq[ptq["seed"] == ch.seeds[0]]
    base = s0[s0["method"] == "fp32"].iloc[0]
    f0 = ft[ft["seed"] == ch.seeds[0]]
    after = {"en": "after code fine-tuning", "ru": "после дообучения кодов"}[lang]
    for i, method in enumerate(["quantile", "uniform", "nf"]):
        g = s0[s0["method"] == method].sort_values("bits")
        ax.errorbar(g["bits"] + (i - 1) * 0.08, g["test_accuracy"],
                    yerr=[g["test_accuracy"] - g["test_accuracy_lo"], g["test_accuracy_hi"] - g["test_accuracy"]],
                    fmt="o-", ms=4, capsize=2, lw=1, label=METHOD_NAMES[method][lang], color=f"C{i}")
        ax.plot(g["bits"] + (i - 1) * 0.08, g["test_balanced_accuracy"], "x:", ms=5, lw=0.8, color=f"C{i}")
        h = f0[f0["method"] == method].sort_values("bits")
        ax.plot(h["bits"] + (i - 1) * 0.08 + 0.04, h["test_accuracy"], "D--", ms=4, lw=1, color=f"C{i}", mfc="white",
                label=f"{METHOD_NAMES[method][lang]}, {after}")
    ax.axhline(base["test_accuracy"], color="grey", lw=1, ls="--", label=f"fp32 ({plots.fmt_acc(base['test_accuracy'])})")
    ax.axhline(base["test_majority_rate"], color="C3", lw=1, ls=":", label=plots.label("majority", lang))
    ax.set_xlabel(plots.label("q_bits", lang))
    ax.set_ylabel(plots.label("accuracy", lang))
    ax.set_xticks(sorted(set(s0["bits"]) - {32}))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax.set_title(plots.label("q_bits_title", lang), fontsize=10)
    return fig


run.save_figures(bits_figure, "fig_bits")

# %% [markdown]
# ## QAT, the study's variant (study: Figure 8)
# TimesNet trained from random initialisation normally (fp32) and with the study's QAT at each bit width of the
# profile: after every optimizer step every parameter is replaced by its quantile-quantized value, so the model
# never holds anything else. Same optimizer, batches, epochs and validation-based selection as the fp32 run.

# %% [markdown] lang=ru
# ## QAT в варианте исследования (в исследовании: рисунок 8)
# TimesNet обучается со случайной инициализации обычным образом (fp32) и с QAT исследования при каждом числе битов из
# профиля: после каждого шага оптимизатора каждый параметр заменяется своим квантильно квантованным значением, так что
# ничего другого модель никогда не хранит. Оптимизатор, батчи, эпохи и выбор по валидации — те же, что при обучении
# fp32.

# %%
histories, best, trained, qat_rows = {}, {}, {}, []
# (training label, bits, how): fp32, the study's QAT at each bit width, the classic STE at each bit width
RUNS = ([("fp32", None, quantize.qat_fit)] + [(f"int{b}", b, quantize.qat_fit) for b in cfg.qat_bits]
        + [(f"STE int{b}", b, quantize.ste_fit) for b in cfg.qat_bits])
for s in ch.seeds:
    d = ch.data(s)
    for label, bits, how in RUNS:
        name = label if bits is None or label.startswith("STE") else f"QAT {label}"
        key = name if len(ch.seeds) == 1 else f"{name} (seed {s})"
        train.set_seed(s)
        model = models.build_model("TimesNet", d.n_channels, d.seq_len, d.n_classes)
        with run.timed(f"train_{name}_seed{s}"):
            fit = how(model, d, ch.train_config("quantize", seed=s, desc=name), bits=bits)
        histories[key], best[key] = fit.history, fit.best_epoch
        trained[(label, s)] = (model, fit, bits)
        print(f"{name} seed {s}: best epoch {fit.best_epoch}/{len(fit.history)}, {fit.seconds:.0f} s")
run.save_figures(lambda lang: plots.training_curves(histories, lang, best), "fig_qat_curves")
# how far each STE run's validation curve lies from the fp32 one (same seed, same batches): the figure's STE panels
fp32_key = "fp32" if len(ch.seeds) == 1 else f"fp32 (seed {ch.seeds[0]})"
gaps = {}
for b in cfg.qat_bits:
    ste_key = f"STE int{b}" if len(ch.seeds) == 1 else f"STE int{b} (seed {ch.seeds[0]})"
    gaps[b] = max(abs(a["val_accuracy"] - c["val_accuracy"]) for a, c in zip(histories[ste_key], histories[fp32_key]))
run.glue("ste_gap_en", "; ".join(f"{b} bits: {names.number(100 * g, 'en', 1)} points" for b, g in gaps.items()))
run.glue("ste_gap_ru", "; ".join(f"{names.counted(b, names.RU_NOUNS['bit.nom'], 'ru')} — "
                                 f"{names.number(100 * g, 'ru', 1)} п. п." for b, g in gaps.items()))

# %% [markdown]
# ## PTQ applied to every trained model (study: Table 6)

# %% [markdown] lang=ru
# ## PTQ каждой обученной модели (в исследовании: таблица 6)

# %%
for s in ch.seeds:
    d = ch.data(s)
    for training, (model, fit, bits) in [(t, v) for (t, ss), v in trained.items() if ss == s]:
        for ptq_bits in [None, *cfg.qat_bits]:
            m = model if ptq_bits is None else quantize.quantile_quantize(model, ptq_bits)
            ev = train.evaluate(m, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            qat_rows.append({"training": training, "ptq": "fp32" if ptq_bits is None else f"int{ptq_bits}", "seed": s,
                             "train_seconds": fit.seconds, "best_epoch": fit.best_epoch, **ev.summary("test_")})
            if bits is not None and ptq_bits == bits:  # a QAT/STE model is stored at its own bit width
                how = "ste" if training.startswith("STE") else "qat"
                path = m.save(run.path(f"{how}/int{bits}_seed{s}.tsq"))
                log.add(method=how, setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=m,
                        stored_bytes=path.stat().st_size, train_seconds=fit.seconds, save=True,
                        case_index=d.test.index, validation=train.evaluate(m, d.val, device=ch.device, n_boot=0))
qat = pd.DataFrame(qat_rows)
run.save_table(qat, "table6")
log.save()
trainings = [label for label, _, _ in RUNS]
ptqs = ["fp32", *[f"int{b}" for b in cfg.qat_bits]]


def own_ptq(training):
    """The PTQ row at a training's own bit width (fp32 for fp32 training)."""
    return "fp32" if training == "fp32" else training.split()[-1]


def table6(lang):
    mean = qat.groupby(["ptq", "training"])["test_accuracy"].mean()
    bacc = qat.groupby(["ptq", "training"])["test_balanced_accuracy"].mean()
    head = {"en": "PTQ \\ training", "ru": "PTQ \\ обучение"}[lang]
    out = []
    for p in ptqs:
        row = {head: p}
        for t in trainings:
            col = t if t == "fp32" or t.startswith("STE") else f"QAT {t}"
            row[col] = f"{mean[(p, t)]:.3f} ({bacc[(p, t)]:.3f})"
            if compare_study and p in study.TABLE6 and t in study.TABLE6[p]:
                row[col] += f" · {study.TABLE6[p][t]:.3f}"
        out.append(row)
    return pd.DataFrame(out)


run.save_tables(table6, "table6")

# %% [markdown]
# ## Numbers for the text

# %% [markdown] lang=ru
# ## Числа для текста

# %%
s0 = ptq[ptq["seed"] == ch.seeds[0]].set_index(["method", "bits"])
fp = s0.loc[("fp32", 32)]
run.glue_counted("n_test", int(fp["test_n"]), "case.nom", "test_case.prep", fmt="{}")
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
vs_fp32 = [(r, mcnemar(correct[(r.method, r.bits, ch.seeds[0])], correct[("fp32", 32, ch.seeds[0])]))
           for r in q_rows.itertuples()]
sig = sum(res.significant for _, res in vs_fp32)
run.glue("ptq_summary_en", f"{sum(near)} of {len(near)} PTQ models cannot be told apart from the majority-class rate, "
                           f"and {sig} differ significantly from the fp32 model (exact McNemar, p < 0.05)")
run.glue("ptq_summary_ru", f"{sum(near)} из {len(near)} моделей после PTQ неотличимы от доли мажоритарного класса, "
                           f"и {sig} значимо отличаются от модели fp32 (точный критерий Мак-Немара, p < 0,05)")
for lang in plots.LANGS:  # which PTQ models differ from fp32 on the same cases, by name
    listed = [f"{names.method_name(r.method, lang)} int{r.bits} ({res.b} / {res.c}, p = {names.number(res.p_value, lang, 3)})"
              for r, res in vs_fp32 if res.significant]
    run.glue(f"ptq_sig_list_{lang}", "; ".join(listed) if listed else
             {"en": "none", "ru": "ни одна"}[lang])
lowest = min(cfg.ptq_bits)
for method in ("quantile", "uniform", "nf"):
    r = s0.loc[(method, lowest)]
    run.glue(f"{method}_low_acc", plots.fmt_acc(r.test_accuracy))
    run.glue(f"{method}_low_bacc", plots.fmt_acc(r.test_balanced_accuracy))
run.glue_counted("lowest_bits", lowest, "bit.prep", fmt="{}")
for lang in plots.LANGS:  # the study's own fp32 -> int4 drop
    run.glue(f"study_drop_{lang}", study.gap_text(study.TABLE5["fp32"]["accuracy"], study.TABLE5["int4"]["accuracy"], lang,
                                                  arrow=True)
             if compare_study else {"en": "not available for this dataset", "ru": "нет для этого набора данных"}[lang])
q = qat[qat["seed"] == ch.seeds[0]].set_index(["ptq", "training"])
for t in trainings:
    r = q.loc[(own_ptq(t), t)]
    t = t.replace(" ", "_").lower()  # glue keys: fp32, int8, int4, ste_int8, ste_int4
    run.glue(f"qat_{t}_acc", plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi))
    run.glue(f"qat_{t}_bacc", plots.fmt_acc(r.test_balanced_accuracy))
    run.glue(f"qat_{t}_epoch", f"{int(r.best_epoch)}")
    run.glue(f"qat_{t}_seconds", f"{r.train_seconds:.0f}")
    for lang in plots.LANGS:
        run.glue(f"qat_{t}_verdict_{lang}", report.majority_verdict(r, lang))
run.glue_counted("qat_epochs", cfg.epochs, "epoch.nom", fmt="{}")
# the study's variant against the classic STE at each bit width: training loss at the selected epoch, wall time
seed0_fits = {t: trained[(t, ch.seeds[0])][1] for t in trainings}


def fit_loss(t):
    f = seed0_fits[t]
    return f.history[f.best_epoch - 1]["train_loss"]


for lang in plots.LANGS:
    parts = []
    for b in cfg.qat_bits:
        v, e = f"int{b}", f"STE int{b}"
        parts.append({"en": f"at {b} bits the training loss at the selected epoch is {fit_loss(v):.2f} for the variant "
                            f"and {fit_loss(e):.2f} for the STE ({seed0_fits[v].seconds:.0f} s against "
                            f"{seed0_fits[e].seconds:.0f} s)",
                      "ru": f"на {b} битах функция потерь на обучении в выбранную эпоху — {fit_loss(v):.2f} у варианта "
                            f"и {fit_loss(e):.2f} у STE ({seed0_fits[v].seconds:.0f} с против "
                            f"{seed0_fits[e].seconds:.0f} с)"}[lang])
    tail = {"en": f"; trained normally: {fit_loss('fp32'):.2f}", "ru": f"; при обычном обучении — {fit_loss('fp32'):.2f}"}
    run.glue(f"ste_vs_qat_{lang}", "; ".join(parts) + tail[lang])
f0 = ft[ft["seed"] == ch.seeds[0]].set_index(["method", "bits"])
run.glue("ft_fraction", f"{100 * cfg.finetune_fraction:g}")
run.glue_counted("ft_epochs", cfg.finetune_epochs, "epoch.nom", fmt="{}")
run.glue("ft_bits", ", ".join(str(b) for b in cfg.finetune_bits))
for lang in plots.LANGS:
    parts, n_sig = [], 0
    for (method, bits), r in f0.iterrows():
        before = s0.loc[(method, bits)]
        res = mcnemar(correct[(f"{method}+codes", bits, ch.seeds[0])], correct[(method, bits, ch.seeds[0])])
        n_sig += res.significant
        parts.append(f"{METHOD_NAMES[method][lang]} int{bits}: {plots.fmt_acc(before.test_accuracy)} → "
                     f"{plots.fmt_acc(r.test_accuracy)} (p = {res.p_value:.2f})")
    run.glue(f"ft_results_{lang}", "; ".join(parts))
    run.glue(f"ft_sig_{lang}", {"en": f"{n_sig} of {len(parts)} changes are significant at p < 0.05",
                                "ru": f"значимы при p < 0,05 {n_sig} из {len(parts)} изменений"}[lang])
run.glue("ft_moved", f"{100 * f0['moved_share'].mean():.1f}")
run.glue("ft_seconds", f"{f0['train_seconds'].mean():.0f}")

# %%
ch.finish(summary=[f"quantile int{b}: test accuracy {s0.loc[('quantile', b)].test_accuracy:.3f}, "
                   f"file {s0.loc[('quantile', b)].file_bytes / MIB:.4f} MiB" for b in (8, 4) if ("quantile", b) in s0.index]
          + [f"{t if t.startswith('STE') else 'QAT ' + t}: test accuracy {q.loc[(own_ptq(t), t)].test_accuracy:.3f}"
             for t in trainings])
