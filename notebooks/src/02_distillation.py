# %% [markdown]
# # 02 · Distillation: TimesNet teacher, Transformer and iTransformer students
#
# The pretrained TimesNet of chapter 00 teaches two students trained from scratch: with Hinton's KL loss over a grid
# of α, and with One-for-All (OFA) distillation, where every intermediate encoder layer of the student gets a
# projector to class logits and is pulled towards the teacher, over points of the (w_ofa, w_kd, w_ce) simplex. The
# epoch is chosen on validation; test accuracy is reported with its interval. Writes the counterparts of the
# study's Figures 4–7 and the variants for the comparison chapter.

# %% [markdown] lang=ru
# # 02 · Дистилляция: учитель TimesNet, ученики Transformer и iTransformer
#
# Предобученная TimesNet из главы 00 учит двух учеников, обучаемых с нуля: с KL-функцией потерь Хинтона на сетке
# значений α и с дистилляцией One-for-All (OFA), в которой каждый промежуточный слой энкодера ученика получает проектор
# в логиты классов и притягивается к учителю, в точках симплекса (w_ofa, w_kd, w_ce). Эпоха выбирается по валидации;
# точность на тесте приводится с интервалом. Записывает аналоги рисунков 4–7 исследования и варианты для главы
# сравнения.

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

from tscompress import chapter, distill, models, names, plots, report, train, variants
from tscompress.metrics import mcnemar

ch = chapter.from_notebook("02_distillation", vars())  # the parameters above, as papermill set them
run, prof = ch.run, ch.profile
ch.glue_starting_point()  # the verdict the page opens with: does the fp32 TimesNet beat the majority rate?
cfg = prof.distill
ch.say_start("distill")


def setting_name(method, a):
    return f"alpha={a:g}" if method == "kl" else f"ofa={a[0]:g}, kd={a[1]:g}"

# %% [markdown]
# ## Teacher
# The teacher's logits are computed once per training case, in the fixed evaluation batches (TimesNet's output
# depends on the other cases of its batch), and looked up by case index during training.

# %% [markdown] lang=ru
# ## Учитель
# Логиты учителя вычисляются один раз для каждого обучающего примера фиксированными батчами оценки (выход TimesNet
# зависит от других примеров её батча) и при обучении берутся по индексу примера.

# %%
teachers = {}
for s in ch.seeds:
    d = ch.data(s)
    teacher, _ = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
    ev_t = train.evaluate(teacher, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
    teachers[s] = (distill.teacher_logits(teacher, d.train.X), ev_t)
    ch.say("teacher", seed=s, ev=ev_t)

# %% [markdown]
# ## Training the students
# Every student, every grid point, every seed: trained from scratch through the package's training loop with the
# distillation loss as its hook (RAdam, batch 16, the book's training recipe: the cross-entropy term weighted by
# class and the epoch chosen by validation balanced accuracy when the recipe says so).

# %% [markdown] lang=ru
# ## Обучение учеников
# Каждый ученик, каждая точка сетки, каждый сид: обучение с нуля обучающим циклом библиотеки, в который функция потерь
# дистилляции подключена как обработчик (RAdam, батч 16, рецепт обучения книги: слагаемое перекрёстной энтропии
# взвешивается по классам, а эпоха выбирается по сбалансированной точности на валидации, если так задаёт рецепт).

# %%
select = ch.recipe.train.get("select", "accuracy")  # the book's recipe: how epochs and grid points are chosen
val_key = {"accuracy": "val_accuracy", "balanced_accuracy": "val_balanced_accuracy"}.get(select, "val_accuracy")


rows, curves, kept = [], {}, {}
for s in ch.seeds:
    d = ch.data(s)  # the recipe's class weights for the cross-entropy term (None: the plain loss)
    ce = train.class_weights(d.train.y, d.n_classes) if ch.recipe.train.get("class_weight") == "balanced" else None
    t_logits, _ = teachers[s]
    for student in cfg.students:
        grid = [("kl", a) for a in cfg.alphas] + [("ofa", tuple(p)) for p in cfg.ofa_points]
        for method, a in grid:
            train.set_seed(s)
            model = models.build_model(student, d.n_channels, d.seq_len, d.n_classes)
            if method == "kl":
                hook = distill.Distiller(t_logits, "kl", alpha=a, T=cfg.T, ce_weight=ce)
            else:
                hook = distill.Distiller(t_logits, "ofa", w_ofa=a[0], w_kd=a[1], T=cfg.T, gamma=cfg.gamma,
                                         feature_dims=model.feature_dims, n_classes=d.n_classes,
                                         ce_weight=ce)
            name = setting_name(method, a)
            with run.timed(f"{student}_{name}_seed{s}"):
                fit = train.fit(model, d, ch.train_config("distill", seed=s, desc=f"{student} {name}"), loss=hook)
            ev = train.evaluate(model, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            proj = sum(p.numel() for p in hook.parameters())
            rows.append({"student": student, "method": method, "setting": name, "seed": s,
                         "alpha": a if method == "kl" else np.nan,
                         "w_ofa": a[0] if method == "ofa" else np.nan, "w_kd": a[1] if method == "ofa" else np.nan,
                         "params": models.count_parameters(model), "projector_params": proj,
                         "best_epoch": fit.best_epoch, "best_val_accuracy": fit.best_record["val_accuracy"],
                         "best_val_score": fit.best_record[val_key], "epochs_trained": fit.epochs_trained,
                         "stopped_by": fit.stopped_by,
                         "train_seconds": fit.seconds, **ev.summary("test_")})
            curves[(student, method, name, s)] = fit.history
            kept[(student, method, name, s)] = (model, ev, fit, d.test.index)
            ch.say("student", student=student, setting=name, seed=s, ev=ev, best=fit.best_epoch)
runs = pd.DataFrame(rows)
run.save_table(runs, "runs")

# %% [markdown]
# ## Variants for the comparison
# Every student is recorded; for each student and method the model with the best validation score of the recipe's
# criterion (ties: the first grid point) is saved for the comparison chapter, which times and quantizes it.

# %% [markdown] lang=ru
# ## Варианты для сравнения
# Записывается каждый ученик; для каждого ученика и метода модель с лучшей оценкой на валидации по критерию рецепта
# (при равенстве — первая точка сетки) сохраняется для главы сравнения, которая замеряет её скорость и квантует её.

# %%
log = variants.VariantLog(run)
best_keys = set()
for (student, method, s), g in runs.groupby(["student", "method", "seed"]):
    best = g.sort_values("best_val_score", ascending=False, kind="stable").iloc[0]
    best_keys.add((student, method, best["setting"], s))
for key, (model, ev, fit, index) in kept.items():
    student, method, name, s = key
    log.add(method=method, setting=name, evaluation=ev, base=student, seed=s, model=model,
            train_seconds=fit.seconds, save=key in best_keys, case_index=index,
            validation=train.evaluate(model, ch.data(s).val, device=ch.device, n_boot=0),
            **variants.fit_budget(fit, cfg.epochs))
log.save()
ch.glue_findings(log)  # the page's opening finding and closing summary: every variant against its fp32 model

# %% [markdown]
# ## Training curves and test accuracy of the students (study: Figures 4–7)

# %% [markdown] lang=ru
# ## Кривые обучения и точность учеников на тесте (в исследовании: рисунки 4–7)

# %%
def curve_figure(method, lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, axes = plt.subplots(2, len(cfg.students), figsize=(3.9 * len(cfg.students), 5.4), squeeze=False, sharex=True)
    settings = sorted({k[2] for k in curves if k[1] == method}, key=lambda n: runs[runs["setting"] == n].index.min())
    cmap = plt.get_cmap("viridis")
    for j, student in enumerate(cfg.students):
        for i, name in enumerate(settings):
            hist = curves[(student, method, name, ch.seeds[0])]
            ep = [h["epoch"] for h in hist]
            color = cmap(i / max(1, len(settings) - 1))
            axes[0, j].plot(ep, [h["val_accuracy"] for h in hist], color=color, lw=1.2,
                            label=names.setting_name(name, lang))
            axes[1, j].plot(ep, [h["val_loss"] for h in hist], color=color, lw=1.2)
        axes[0, j].set_title(student, fontsize=10)
        axes[1, j].set_xlabel(plots.label("epoch", lang))
    axes[0, 0].set_ylabel(f"{plots.label('val', lang)}: {plots.label('accuracy', lang)}")
    axes[1, 0].set_ylabel(f"{plots.label('val', lang)}: {plots.label('loss', lang)}")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    return fig


def test_figure(method, lang):
    import matplotlib.pyplot as plt

    plots._style()
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    t = runs[runs["method"] == method]
    settings = list(dict.fromkeys(t["setting"]))
    x = np.arange(len(settings))
    for i, student in enumerate(cfg.students):
        per = t[t["student"] == student].groupby("setting")
        g = per.agg(acc=("test_accuracy", "mean"), bacc=("test_balanced_accuracy", "mean"),
                    lo=("test_accuracy", "min"), hi=("test_accuracy", "max"),
                    ci_lo=("test_accuracy_lo", "first"), ci_hi=("test_accuracy_hi", "first")).loc[settings]
        if len(ch.seeds) == 1:  # one seed: its 95% bootstrap interval; several: the spread over seeds
            g["lo"], g["hi"] = g["ci_lo"], g["ci_hi"]
        off = (i - 0.5) * 0.15
        ax.errorbar(x + off, g["acc"], yerr=[g["acc"] - g["lo"], g["hi"] - g["acc"]],
                    fmt="o-", ms=4, capsize=2, lw=1, color=f"C{i}", label=student)
        ax.plot(x + off, g["bacc"], "x:", ms=5, lw=0.8, color=f"C{i}")
    ax.axhline(t["test_majority_rate"].iloc[0], color="C3", lw=1, ls=":", label=plots.label("majority", lang))
    ax.axhline(teachers[ch.seeds[0]][1].accuracy, color="grey", lw=1, ls="--", label=plots.label("kd_teacher", lang))
    ax.set_xticks(x, [names.setting_name(n, lang) for n in settings], fontsize=8)
    ax.set_ylabel(plots.label("accuracy", lang))
    ax.set_title(plots.label("kd_test_title", lang), fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    return fig


run.save_figures(lambda lang: curve_figure("kl", lang), "fig_kl_curves")
run.save_figures(lambda lang: test_figure("kl", lang), "fig_kl_test")
run.save_figures(lambda lang: curve_figure("ofa", lang), "fig_ofa_curves")
run.save_figures(lambda lang: test_figure("ofa", lang), "fig_ofa_test")

# %% [markdown]
# ## Table of every run

# %% [markdown] lang=ru
# ## Таблица всех запусков

# %%
def runs_table(lang):
    t = runs.copy()
    t["acc"] = [names.interval(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi, lang) for r in t.itertuples()]
    t["bacc"] = t["test_balanced_accuracy"].map(lambda v: names.number(v, lang))
    t["val"] = [f"{names.number(a, lang)} / {names.number(b, lang)}"
                for a, b in zip(t["best_val_accuracy"], t["best_val_score"])]
    t["proj"] = t["projector_params"].map(lambda v: names.number(int(v), lang, 0))
    t["sec"] = t["train_seconds"].map(lambda v: names.number(v, lang, 0))
    t["shown_setting"] = [f"{names.method_name(m, lang)}, {names.setting_name(n, lang)}"
                          for m, n in zip(t["method"], t["setting"])]
    cols = [("student", "kd_student"), ("shown_setting", "setting"), ("seed", "seed"), ("val", "kd_best_val"),
            ("acc", "test_accuracy"), ("bacc", "test_balanced"), ("proj", "kd_projector_params"),
            ("best_epoch", "best_epoch"), ("sec", "train_seconds")]
    return plots.display_table(t, cols, lang)


run.save_tables(runs_table, "runs")

# %% [markdown]
# ## Numbers for the text

# %% [markdown] lang=ru
# ## Числа для текста

# %%
s0 = ch.seeds[0]
r0 = runs[runs["seed"] == s0]
_, ev_t = teachers[s0]
run.glue("teacher_acc", plots.fmt_ci(ev_t.accuracy, *ev_t.accuracy_ci))
run.glue("majority", plots.fmt_acc(ev_t.majority_rate))
run.glue_counted("n_test", len(ev_t.labels), "test_case.prep", fmt="{}")
run.glue("case_points", f"{100 / len(ev_t.labels):.1f}")
run.glue_counted("epochs", cfg.epochs, "epoch.nom", fmt="{}")
for lang in plots.LANGS:  # α and the simplex points: a Russian decimal comma must not double as the separator
    run.glue(f"alphas_{lang}", names.LIST_SEP[lang].join(names.short_number(a, lang) for a in cfg.alphas))
    run.glue(f"ofa_points_{lang}", "; ".join(
        "(" + names.LIST_SEP[lang].join(names.short_number(v, lang) for v in (p[0], p[1], 1 - p[0] - p[1]))
        + ")" for p in cfg.ofa_points))
run.glue("T", f"{cfg.T:g}")


def fluctuation(hist):
    """Mean absolute change of validation accuracy between consecutive epochs."""
    v = [h["val_accuracy"] for h in hist]
    return float(np.mean(np.abs(np.diff(v)))) if len(v) > 1 else float("nan")


for student in cfg.students:
    tag = student.lower()
    g = r0[r0["student"] == student]
    kl = g[g["method"] == "kl"].sort_values("best_val_score", ascending=False, kind="stable")
    ofa = g[g["method"] == "ofa"].sort_values("best_val_score", ascending=False, kind="stable")
    plain = g[(g["method"] == "kl") & (g["alpha"] == 0)]
    run.glue_counted(f"{tag}_params", int(g['params'].iloc[0]), "param.nom", fmt="{:,}")
    run.glue_counted(f"{tag}_proj", int(ofa['projector_params'].max()) if len(ofa) else 0, "param.nom", fmt="{:,}")
    for lang in plots.LANGS:  # settings as the edition writes them ("α = 0,5"), not the raw ids
        run.glue(f"{tag}_kl_best_{lang}", names.setting_name(kl.iloc[0]["setting"], lang))
        run.glue(f"{tag}_ofa_best_{lang}", names.setting_name(ofa.iloc[0]["setting"], lang) if len(ofa) else "—")
    for method, part in (("kl", g[g["method"] == "kl"]), ("ofa", g[g["method"] == "ofa"])):
        choices = dict(zip(part["setting"], part["best_val_score"]))  # grid order
        metric = "balanced_accuracy" if val_key == "val_balanced_accuracy" else "accuracy"
        for lang in plots.LANGS:
            run.glue(f"{tag}_{method}_selection_{lang}", report.selection_text(choices, lang, metric) or "—")
    run.glue(f"{tag}_kl_best_acc", plots.fmt_ci(kl.iloc[0].test_accuracy, kl.iloc[0].test_accuracy_lo,
                                                kl.iloc[0].test_accuracy_hi))
    run.glue(f"{tag}_kl_best_bacc", plots.fmt_acc(kl.iloc[0].test_balanced_accuracy))
    run.glue(f"{tag}_ofa_best_acc", plots.fmt_ci(ofa.iloc[0].test_accuracy, ofa.iloc[0].test_accuracy_lo,
                                                 ofa.iloc[0].test_accuracy_hi) if len(ofa) else "—")
    run.glue(f"{tag}_plain_acc", plots.fmt_ci(plain.iloc[0].test_accuracy, plain.iloc[0].test_accuracy_lo,
                                              plain.iloc[0].test_accuracy_hi) if len(plain) else "—")
    run.glue(f"{tag}_acc_range", f"{g['test_accuracy'].min():.3f}–{g['test_accuracy'].max():.3f}")
    if len(ofa) and len(kl):
        a = kept[(student, "ofa", ofa.iloc[0]["setting"], s0)][1].correct
        b = kept[(student, "kl", kl.iloc[0]["setting"], s0)][1].correct
        res = mcnemar(a, b)
        o, k = ({lang: names.setting_name(r["setting"], lang) for lang in plots.LANGS} for r in (ofa.iloc[0], kl.iloc[0]))
        verdict = {"en": f"OFA {o['en']} vs KL {k['en']}: {res.b} / {res.c} cases, "
                         + names.p_value(res.p_value, "en") + (" (significant)" if res.significant else " (not significant)"),
                   "ru": f"OFA {o['ru']} против KL {k['ru']}: прав только один — {res.b} / {res.c}, "
                         + names.p_value(res.p_value, "ru") + (" (значимо)" if res.significant else " (не значимо)")}
    else:
        verdict = {"en": "not compared (one of the methods was not run)", "ru": "не сравнивалось (один из методов не запускался)"}
    for lang in plots.LANGS:
        run.glue(f"{tag}_ofa_vs_kl_{lang}", verdict[lang])
    # the α curve: every distilled point against the plain student (α = 0) on the same test cases
    curve = g[(g["method"] == "kl") & (g["alpha"] > 0)]
    tests = []
    if len(plain) and len(curve):
        ref = kept[(student, "kl", plain.iloc[0]["setting"], s0)][1].correct
        tests = [(r.setting, mcnemar(kept[(student, "kl", r.setting, s0)][1].correct, ref)) for r in curve.itertuples()]
    n_sig = sum(res.significant for _, res in tests)
    for lang in plots.LANGS:
        if tests:
            listed = "; ".join(f"{names.setting_name(name, lang)}: {res.b} / {res.c}, {names.p_value(res.p_value, lang)}"
                               for name, res in tests)
            text = {"en": f"{n_sig} of {len(tests)} distilled points differ significantly from the plain student "
                          f"(α = 0; cases only the distilled / only the plain student got right: {listed})",
                    "ru": f"{n_sig} из {len(tests)} точек дистилляции значимо "
                          f"{names.plural(n_sig, {'one': 'отличается', 'few': 'отличаются', 'many': 'отличаются'}, 'ru')} от обычного ученика (α = 0; "
                          f"примеры, на которых прав только дистиллированный / только обычный ученик: {listed})"}[lang]
        else:
            text = {"en": "not compared (α = 0 or a distilled point was not run)",
                    "ru": "не сравнивалось (нет α = 0 или точки дистилляции)"}[lang]
        run.glue(f"{tag}_alpha_vs_plain_{lang}", text)
    fl_plain = np.mean([fluctuation(curves[(student, "kl", n, s0)]) for n in plain["setting"]]) if len(plain) else np.nan
    distilled = g[~((g["method"] == "kl") & (g["alpha"] == 0))]
    fl_kd = np.mean([fluctuation(curves[(student, r.method, r.setting, s0)]) for r in distilled.itertuples()])
    run.glue(f"{tag}_fluct_plain", f"{100 * fl_plain:.1f}")
    run.glue(f"{tag}_fluct_kd", f"{100 * fl_kd:.1f}")
# the students' budget against the models chapter's, and each plain student against the same model trained there
from tscompress import findings
from tscompress.findings import quantization as fq

same_budget = (cfg.epochs, cfg.patience) == (prof.models.epochs, prof.models.patience)
base_preds = pd.read_csv(run.upstream("00_models", "test_predictions.csv"))
for lang in plots.LANGS:
    run.glue(f"budget_{lang}", fq.budget_text(cfg.epochs, cfg.patience, lang))
    run.glue(f"same_budget_{lang}", {"en": "the same budget as the models chapter's baselines" if same_budget else
                                           "a budget different from the models chapter's",
                                     "ru": "тот же бюджет, что у базовых моделей главы о моделях" if same_budget else
                                           "бюджет, отличный от бюджета главы о моделях"}[lang])
    hs = {(st, m, n): h for (st, m, n, ss), h in curves.items() if ss == s0}
    run.glue(f"stops_{lang}", findings.stops_text(hs, lang, cap=fq.epochs_words(cfg.epochs, lang),
                                                  names={k: f"{k[0]} {names.setting_name(k[2], lang)}" for k in hs}))
    parts = []
    for student in cfg.students:
        plain = r0[(r0["student"] == student) & (r0["method"] == "kl") & (r0["alpha"] == 0)]
        mine = base_preds[(base_preds["model"] == student) & (base_preds["seed"] == s0)]
        if len(plain) and len(mine):
            mine = mine.set_index("case").loc[np.asarray(ch.data(s0).test.index)]
            plain_model_acc = float(mine["correct"].mean())
            parts.append(fq.qat_pair_text(
                {"en": f"plain {student}", "ru": f"обычный {student}"}[lang],
                {"en": f"{student} of the models chapter", "ru": f"{student} из главы о моделях"}[lang],
                float(plain.iloc[0].test_accuracy), plain_model_acc,
                kept[(student, "kl", plain.iloc[0]["setting"], s0)][1].correct, mine["correct"].to_numpy().astype(bool),
                lang))
    run.glue(f"plain_vs_models_{lang}", "; ".join(parts) if parts else "—")
for lang in plots.LANGS:
    run.glue(f"majority_{lang}", findings.majority_count_text(r0.to_dict("records"), lang, "student"))

# %%
ch.finish(summary=[f"{r.student} {r.setting}: test accuracy {r.test_accuracy:.3f} (val {r.best_val_accuracy:.3f})"
                   for r in r0.itertuples()])
