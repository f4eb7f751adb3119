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

from tscompress import chapter, models, names, plots, quantize, report, study, train, variants
from tscompress.metrics import mcnemar
from tscompress.quantize import figures as qfig

ch = chapter.from_notebook("03_quantization", vars())  # the parameters above, as papermill set them
run, prof = ch.run, ch.profile
ch.glue_starting_point()  # the verdict the page opens with: does the fp32 TimesNet beat the majority rate?
cfg = prof.quantize
if not set(cfg.finetune_bits) <= set(cfg.ptq_bits):
    from tscompress.errors import ConfigError

    raise ConfigError(f"quantize.finetune_bits {list(cfg.finetune_bits)} must be among ptq_bits {list(cfg.ptq_bits)}")
compare_study = study.applies_to(dataset)
MIB = 2**20
ch.say_start("quantize")

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
                path = quantize.save_quantized(qm, run.path(f"ptq/{method}_int{bits}_seed{s}.tsq"))
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
# ## Fine-tuning after PTQ: codes (PV-tuning's V step) and the straight-through estimator
# Every PTQ model is its own start (epoch 0) and a candidate of the validation selection. Code fine-tuning
# (`quantize.code_finetune`): full-batch gradient, the moves to the neighbouring code ranked by |gradient| / gap, a
# line search on the number of moves that keeps them only when the training loss falls; codebooks and block constants
# stay, so format and file size do not change. The baseline at equal bytes (`quantize.ste_fit` from the trained
# weights): float32 latent weights, the forward pass in the same format, the gradient passed straight through.

# %% [markdown] lang=ru
# ## Дообучение после PTQ: коды (шаг V из PV-tuning) и сквозная передача градиента (STE)
# Каждая модель после PTQ — своя отправная точка (эпоха 0) и кандидат при выборе по валидации. Дообучение кодов
# (`quantize.code_finetune`): градиент по всей обучающей выборке, сдвиги к соседнему коду упорядочены по |градиент| /
# зазор, линейный поиск по числу сдвигов оставляет их, только если потери на обучении падают; кодовые книги и константы
# блоков не меняются, поэтому формат и размер файла те же. Базовый метод при том же числе байтов (`quantize.ste_fit` от
# обученных весов): латентные веса во float32, прямой проход в том же формате, градиент передаётся напрямую.

# %%
import copy

from tscompress import findings
from tscompress.findings import quantization as fq

ft_rows, tune_histories, ste_from_trained = [], {}, {}
ste_pairs = sorted({(m, b) for m in ("quantile", "uniform", "nf") for b in cfg.ste_tune_bits}
                   | ({("quantile", b) for b in cfg.qat_bits} if cfg.qat_from_trained else set()),
                   key=lambda mb: (["quantile", "uniform", "nf"].index(mb[0]), -mb[1]))
for s in ch.seeds:
    d = ch.data(s)
    n_weights = sum(p.numel() for p in pretrained_by_seed[s].parameters())
    jobs = ([("codes", m, b) for m in ("quantile", "uniform", "nf") for b in cfg.finetune_bits]
            + [("ste_tune", m, b) for m, b in ste_pairs])
    for procedure, method, bits in jobs:
        label = f"{method} int{bits} {'codes' if procedure == 'codes' else 'STE'}"
        with run.timed(f"{procedure}_{method}{bits}_seed{s}"):
            if procedure == "codes":
                qm = quantize.quantize(pretrained_by_seed[s], method, bits)
                size_before = qm.nbytes()
                config = ch.train_config("quantize", seed=s, epochs=cfg.code_steps, patience=cfg.code_patience,
                                         desc=label)
                fit, moved = quantize.code_finetune(qm, d, config, moves=cfg.code_moves)
                assert qm.nbytes() == size_before  # same format, same size
            else:
                latent = copy.deepcopy(pretrained_by_seed[s])
                config = ch.train_config("quantize", seed=s, epochs=cfg.tune_epochs, patience=cfg.tune_patience,
                                         desc=label)
                train.set_seed(s)
                fit = quantize.ste_fit(latent, d, config, bits=bits, method=method, start_candidate=True)
                qm = quantize.quantize(latent, method, bits)  # its values are already on the format's grid
                moved = np.nan
                if method == "quantile" and bits in cfg.qat_bits and cfg.qat_from_trained:
                    ste_from_trained[(bits, s)] = (latent, fit)
        path = quantize.save_quantized(qm, run.path(f"{procedure}/{method}_int{bits}_seed{s}.tsq"))
        stored_model = quantize.load_quantized(path)
        ev = train.evaluate(stored_model, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
        correct[(f"{method}+{procedure}", bits, s)] = ev.correct
        tune_histories[(procedure, method, bits, s)] = fit.history
        ft_rows.append({"procedure": procedure, "method": method, "bits": bits, "seed": s, "moved": moved,
                        "moved_share": moved / n_weights, "best_epoch": fit.best_epoch,
                        "epochs_trained": fit.epochs_trained, "stopped_by": fit.stopped_by,
                        "train_seconds": fit.seconds, "file_bytes": path.stat().st_size, **ev.summary("test_")})
        log.add(method=f"{method}+{procedure}", setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=qm,
                stored_bytes=path.stat().st_size, train_seconds=fit.seconds, save=False, case_index=d.test.index,
                validation=train.evaluate(stored_model, d.val, device=ch.device, n_boot=0),
                **variants.fit_budget(fit, config.epochs))
        tuned = "codes" if procedure == "codes" else "ste_tune"
        ch.say("tuned_codes" if procedure == "codes" else "tuned", seed=s, ev=ev, best=fit.best_epoch,
               epochs=fit.epochs_trained, stopped=ch.stopped(fit), moved=moved if procedure == "codes" else 0,
               name={lang: f"{names.method_name(method, lang)} int{bits} + {names.method_name(tuned, lang)}"
                     for lang in plots.LANGS})
ft = pd.DataFrame(ft_rows)
run.save_table(ft, "code_finetune")
ptq_acc = ptq.set_index(["method", "bits", "seed"])["test_accuracy"]


def tuning_table(lang):
    t = ft.copy()
    t["quantizer"] = [names.method_name(m, lang) for m in t["method"]]
    t["how"] = [names.method_name(p, lang) for p in t["procedure"]]
    t["before"] = [names.number(ptq_acc[(r.method, r.bits, r.seed)], lang) for r in t.itertuples()]
    t["acc"] = [names.interval(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi, lang) for r in t.itertuples()]
    t["kept"] = [f"{r.best_epoch} / {r.epochs_trained}" for r in t.itertuples()]
    t["ended"] = t["stopped_by"].map(lambda v: plots.label(f"stopped_{v}", lang))
    t["seconds"] = t["train_seconds"].map(lambda v: names.number(v, lang, 0))
    return plots.display_table(t, [("quantizer", "method"), ("bits", "q_bits"), *seed_col, ("how", "q_procedure"),
                                   ("before", "q_acc_ptq"), ("acc", "test_accuracy"), ("kept", "q_kept"),
                                   ("ended", "q_ended"), ("seconds", "train_seconds")], lang)


run.save_tables(tuning_table, "code_finetune")

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
first = ch.seeds[0]  # the figure shows one seed
run.save_figures(lambda lang: qfig.bits_figure(ptq[ptq.seed == first], ft[ft.seed == first], lang, cfg.ste_tune_bits),
                 "fig_bits")

# %% [markdown]
# ## QAT, the study's variant, at the models chapter's budget (study: Figure 8)
# TimesNet trained from random initialisation normally (fp32) and with the study's QAT at each bit width of the
# profile: after every optimizer step every parameter is replaced by its quantile-quantized value, so the model
# never holds anything else; beside it the classic STE. Budget `quantize.qat_epochs` / `qat_patience`: when it is the
# models chapter's, the fp32 column is the models chapter's TimesNet itself (the same training from the same seed).
# Then the common practice: QAT and STE started from the trained fp32 model (epoch 0 = its quantile PTQ model).

# %% [markdown] lang=ru
# ## QAT в варианте исследования с бюджетом главы о моделях (в исследовании: рисунок 8)
# TimesNet обучается со случайной инициализации обычным образом (fp32) и с QAT исследования при каждом числе битов из
# профиля: после каждого шага оптимизатора каждый параметр заменяется своим квантильно квантованным значением, так что
# ничего другого модель никогда не хранит; рядом — классический STE. Бюджет `quantize.qat_epochs` / `qat_patience`:
# если он совпадает с бюджетом главы о моделях, столбец fp32 — это сама TimesNet из главы о моделях (то же обучение с
# того же сида). Затем обычная практика: QAT и STE от обученной модели fp32 (эпоха 0 — её квантильная модель PTQ).

# %%
histories, best, trained, qat_rows, trained_histories = {}, {}, {}, [], {}
reuse_fp32 = (cfg.qat_epochs, cfg.qat_patience) == (prof.models.epochs, prof.models.patience)
# (training label, bits, how): fp32, the study's QAT at each bit width, the classic STE at each bit width
RUNS = ([("fp32", None, quantize.qat_fit)] + [(f"int{b}", b, quantize.qat_fit) for b in cfg.qat_bits]
        + [(f"STE int{b}", b, quantize.ste_fit) for b in cfg.qat_bits])
FROM_TRAINED = ([(f"QAT int{b} ← fp32", b) for b in cfg.qat_bits] + [(f"STE int{b} ← fp32", b) for b in cfg.qat_bits]
                if cfg.qat_from_trained else [])
for s in ch.seeds:
    d = ch.data(s)
    for label, bits, how in RUNS:
        name = label if bits is None or label.startswith("STE") else f"QAT {label}"
        key = name if len(ch.seeds) == 1 else f"{name} (seed {s})"
        if bits is None and reuse_fp32:  # the models chapter trained exactly this model
            model, extra = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
            fit = train.FitResult.from_dict(extra["fit"])
        else:
            train.set_seed(s)
            model = models.build_model("TimesNet", d.n_channels, d.seq_len, d.n_classes)
            with run.timed(f"train_{name}_seed{s}"):
                fit = how(model, d, ch.train_config("quantize", seed=s, epochs=cfg.qat_epochs, patience=cfg.qat_patience,
                                                    desc=name), bits=bits)
        histories[key], best[key] = fit.history, fit.best_epoch
        trained[(label, s)] = (model, fit, bits)
        ch.say("trained", name=name, seed=s, best=fit.best_epoch, epochs=fit.epochs_trained, stopped=ch.stopped(fit),
               seconds=fit.seconds)
    for label, bits in FROM_TRAINED:
        key = label if len(ch.seeds) == 1 else f"{label} (seed {s})"
        if label.startswith("STE"):  # the quantile model's STE fine-tuning above
            model, fit = ste_from_trained[(bits, s)]
        else:
            model = copy.deepcopy(pretrained_by_seed[s])
            train.set_seed(s)
            with run.timed(f"train_{label}_seed{s}"):
                fit = quantize.qat_fit(model, d, ch.train_config("quantize", seed=s, epochs=cfg.tune_epochs,
                                                                 patience=cfg.tune_patience, desc=label),
                                       bits=bits, start_candidate=True)
        trained_histories[key] = fit.history
        trained[(label, s)] = (model, fit, bits)
        ch.say("trained", name=label, seed=s, best=fit.best_epoch, epochs=fit.epochs_trained, stopped=ch.stopped(fit),
               seconds=fit.seconds)
run.save_figures(lambda lang: plots.training_curves(histories, lang, best), "fig_qat_curves")
if trained_histories:
    run.save_figures(lambda lang: plots.training_curves(trained_histories, lang, max_cols=4), "fig_qat_trained_curves")

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
            p_name = "fp32" if ptq_bits is None else f"int{ptq_bits}"
            correct[("table6", training, p_name, s)] = ev.correct
            qat_rows.append({"training": training, "ptq": p_name, "seed": s, "train_seconds": fit.seconds,
                             "best_epoch": fit.best_epoch, "epochs_trained": fit.epochs_trained,
                             "stopped_by": fit.stopped_by, "final_train_loss": fit.best_record["train_loss"],
                             **ev.summary("test_")})
            if bits is not None and ptq_bits == bits and not training.startswith("STE int" + str(bits) + " ←"):
                how = ("qat_trained" if "←" in training else "ste" if training.startswith("STE") else "qat")
                cap = cfg.tune_epochs if "←" in training else cfg.qat_epochs
                path = quantize.save_quantized(m, run.path(f"{how}/int{bits}_seed{s}.tsq"))
                log.add(method=how, setting=f"int{bits}", evaluation=ev, base="TimesNet", seed=s, model=m,
                        stored_bytes=path.stat().st_size, train_seconds=fit.seconds, save=True,
                        case_index=d.test.index, validation=train.evaluate(m, d.val, device=ch.device, n_boot=0),
                        **variants.fit_budget(fit, cap))
qat = pd.DataFrame(qat_rows)
run.save_table(qat, "table6")
log.save()
ch.glue_findings(log)  # the page's opening finding and closing summary: every variant against its fp32 model
trainings = [label for label, _, _ in RUNS]
trained_labels = [label for label, _ in FROM_TRAINED]
ptqs = ["fp32", *[f"int{b}" for b in cfg.qat_bits]]


def own_ptq(training):
    """The PTQ row at a training's own bit width (fp32 for fp32 training)."""
    return "fp32" if training == "fp32" else training.split(" ←")[0].split()[-1]


def column_name(t, lang):
    plain = t if t == "fp32" or t.startswith(("STE", "QAT")) else f"QAT {t}"
    return plain.replace("← fp32", {"en": "from fp32", "ru": "от fp32"}[lang])


def table6(columns):
    def make(lang):
        mean = qat.groupby(["ptq", "training"])["test_accuracy"].mean()
        bacc = qat.groupby(["ptq", "training"])["test_balanced_accuracy"].mean()
        head = {"en": "PTQ \\ training", "ru": "PTQ \\ обучение"}[lang]
        out = []
        for p in ptqs:
            row = {head: p}
            for t in columns:
                col = column_name(t, lang)
                row[col] = f"{names.number(mean[(p, t)], lang)} ({names.number(bacc[(p, t)], lang)})"
                if compare_study and p in study.TABLE6 and t in study.TABLE6[p]:
                    row[col] += f" · {names.number(study.TABLE6[p][t], lang)}"
            out.append(row)
        return pd.DataFrame(out)
    return make


run.save_tables(table6(trainings), "table6")
if trained_labels:
    run.save_tables(table6(trained_labels), "table6_trained")

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
vs_fp32 = [(r, mcnemar(correct[(r.method, r.bits, ch.seeds[0])], correct[("fp32", 32, ch.seeds[0])]))
           for r in q_rows.itertuples()]
for lang in plots.LANGS:
    run.glue(f"ptq_summary_{lang}", fq.ptq_summary(q_rows.to_dict("records"), sum(res.significant for _, res in vs_fp32),
                                                   lang))
for lang in plots.LANGS:  # which PTQ models differ from fp32 on the same cases, by name
    listed = [f"{names.method_name(r.method, lang)} int{r.bits} ({res.b} / {res.c}, {names.p_value(res.p_value, lang)})"
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
s0_ = ch.seeds[0]
for t in trainings + trained_labels:
    r = q.loc[(own_ptq(t), t)]
    key = t.replace(" ← fp32", "_trained").replace(" ", "_").lower()  # fp32, int8, int4, ste_int8, qat_int8_trained, …
    run.glue(f"qat_{key}_acc", plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi))
    run.glue(f"qat_{key}_bacc", plots.fmt_acc(r.test_balanced_accuracy))
    run.glue(f"qat_{key}_seconds", f"{r.train_seconds:.0f}")
    for lang in plots.LANGS:
        run.glue(f"qat_{key}_verdict_{lang}", report.majority_verdict(r, lang))
for lang in plots.LANGS:
    cap_words = fq.epochs_words(cfg.qat_epochs, lang)
    run.glue(f"qat_budget_{lang}", fq.budget_text(cfg.qat_epochs, cfg.qat_patience, lang))
    run.glue(f"tune_budget_{lang}", fq.budget_text(cfg.tune_epochs, cfg.tune_patience, lang))
    run.glue(f"code_budget_{lang}", fq.budget_text(cfg.code_steps, cfg.code_patience, lang, noun="step"))
    run.glue(f"qat_stops_{lang}", findings.stops_text(
        {k: v for k, v in histories.items()}, lang, cap=cap_words))
    run.glue(f"qat_trained_stops_{lang}", findings.stops_text(trained_histories, lang,
                                                              cap=fq.epochs_words(cfg.tune_epochs, lang))
             if trained_histories else "")
    fp32_row = q.loc[("fp32", "fp32")]
    ref = pd.read_csv(run.upstream("00_models", "table1.csv"))
    ref = ref[(ref["model"] == "TimesNet") & (ref["seed"] == s0_)].iloc[0]
    run.glue(f"qat_fp32_source_{lang}", fq.fp32_match_text(reuse_fp32, float(fp32_row.test_accuracy),
                                                           names.number(fp32_row.test_accuracy, lang), ref, lang))
    # the study's conclusion "with QAT, int8 trains better than int4", and each bit width's variant against the STE
    pairs = []
    if len(cfg.qat_bits) >= 2:
        hi, lo = max(cfg.qat_bits), min(cfg.qat_bits)
        pairs.append((f"int{hi}", f"int{lo}"))
    run.glue(f"qat_int_pair_{lang}", "; ".join(fq.qat_pair_text(
        f"QAT {a}", f"QAT {b}", q.loc[(a, a)].test_accuracy, q.loc[(b, b)].test_accuracy,
        correct[("table6", a, a, s0_)], correct[("table6", b, b, s0_)], lang) for a, b in pairs))
    run.glue(f"qat_vs_ste_{lang}", "; ".join(fq.qat_pair_text(
        f"QAT int{b}", f"STE int{b}", q.loc[(f"int{b}", f"int{b}")].test_accuracy,
        q.loc[(f"int{b}", f"STE int{b}")].test_accuracy, correct[("table6", f"int{b}", f"int{b}", s0_)],
        correct[("table6", f"STE int{b}", f"int{b}", s0_)], lang) for b in cfg.qat_bits))
    # from the trained model: each against the PTQ model it started from
    if trained_labels:
        changes = [findings.Change({lg: column_name(t, lg) for lg in plots.LANGS},
                                   float(s0.loc[("quantile", int(own_ptq(t)[3:]))].test_accuracy),
                                   float(q.loc[(own_ptq(t), t)].test_accuracy),
                                   correct[("table6", t, own_ptq(t), s0_)],
                                   correct[("quantile", int(own_ptq(t)[3:]), s0_)]) for t in trained_labels]
        run.glue(f"qat_trained_changes_{lang}", findings.paired_changes(changes, lang))
    else:
        run.glue(f"qat_trained_changes_{lang}", "")


def fit_loss(t):
    return trained[(t, s0_)][1].best_record["train_loss"]


fits = [(b, fit_loss(f"int{b}"), fit_loss(f"STE int{b}"), trained[(f"int{b}", s0_)][1].seconds,
         trained[(f"STE int{b}", s0_)][1].seconds) for b in cfg.qat_bits]
for lang in plots.LANGS:
    run.glue(f"ste_vs_qat_{lang}", fq.ste_vs_qat_text(fits, fit_loss("fp32"), lang))

# fine-tuning after PTQ: each procedure against its PTQ start, and the two against each other at equal bytes
f0 = ft[ft["seed"] == ch.seeds[0]]
start_rows = {(m, b): s0.loc[(m, b)] for m, b in s0.index if m != "fp32"}
corr0 = {k[:2]: v for k, v in correct.items() if len(k) == 3 and k[2] == s0_}
acc0 = {(f"{r.method}+{r.procedure}", r.bits): r.test_accuracy for r in f0.itertuples()}
run.glue("code_moves", str(cfg.code_moves))
run.glue("ft_bits", ", ".join(str(b) for b in cfg.finetune_bits))
run.glue("ste_bits", ", ".join(str(b) for b in cfg.ste_tune_bits))
for lang in plots.LANGS:
    for procedure in ("codes", "ste_tune"):
        rows_p = f0[f0["procedure"] == procedure].to_dict("records")
        run.glue(f"ft_{procedure}_{lang}", fq.tuning_changes(rows_p, start_rows, corr0, procedure, lang))
        hist = {k: v for k, v in tune_histories.items() if k[0] == procedure and k[3] == s0_}
        cap = (fq.epochs_words(cfg.code_steps, lang, "step") if procedure == "codes"
               else fq.epochs_words(cfg.tune_epochs, lang))
        shown = {k: f"{names.method_name(k[1], lang)} int{k[2]}" for k in hist}
        run.glue(f"ft_{procedure}_stops_{lang}", findings.stops_text(hist, lang, cap=cap, names=shown))
    run.glue(f"ft_vs_{lang}", fq.codes_vs_ste([(m, b) for m in ("quantile", "uniform", "nf") for b in cfg.ste_tune_bits],
                                              acc0, corr0, lang))
codes0 = f0[f0["procedure"] == "codes"]
ste0 = f0[f0["procedure"] == "ste_tune"]
run.glue("ft_moved", f"{codes0['moved'].mean():,.0f}")
run.glue("ft_seconds", f"{codes0['train_seconds'].mean():.0f}")
run.glue("ste_seconds", f"{ste0['train_seconds'].mean():.0f}" if len(ste0) else "—")

# %%
ch.finish(summary=[f"quantile int{b}: test accuracy {s0.loc[('quantile', b)].test_accuracy:.3f}, "
                   f"file {s0.loc[('quantile', b)].file_bytes / MIB:.4f} MiB" for b in (8, 4) if ("quantile", b) in s0.index]
          + [f"{column_name(t, 'en')}: test accuracy {q.loc[(own_ptq(t), t)].test_accuracy:.3f}"
             for t in trainings + trained_labels])
