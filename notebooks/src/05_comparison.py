# %% [markdown]
# # 05 · Comparison: every compressed model on one scale
#
# Reads the variants every earlier chapter recorded (`variants.csv`: sizes, test accuracy with its interval,
# validation scores, per-case predictions, saved models), lists a model recorded under two settings once, tests
# each against the fp32 baseline of the same seed on the same test cases (exact McNemar), measures CPU latency of
# all saved models here, one after another, at batch 1 and 64, draws accuracy against stored bytes and against
# latency with the Pareto fronts, and derives budget recommendations from the **validation** scores only.

# %% [markdown] lang=ru
# # 05 · Сравнение: все сжатые модели в одной шкале
#
# Ноутбук читает варианты, записанные всеми предыдущими главами (`variants.csv`: размеры, точность на тесте с
# интервалом, оценки на валидации, предсказания по каждому примеру, сохранённые модели), показывает один раз модель,
# записанную под двумя настройками, сравнивает каждый вариант с базовой моделью fp32 того же сида на тех же тестовых
# примерах (точный критерий Мак-Немара), здесь же замеряет задержку на CPU всех сохранённых моделей, одну за другой, при
# батче 1 и 64, строит графики точности в зависимости от размера хранения в байтах и от задержки с парето-фронтами и
# выводит рекомендации по бюджету только из оценок на **валидации**.

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

from tscompress import chapter, compare, names, plots, report, runner, variants
from tscompress.findings import chapter as fchapter
from tscompress.findings import comparison as fcmp

ch = chapter.from_notebook("05_comparison", vars())  # the parameters above, as papermill set them
run, prof = ch.run, ch.profile
data = ch.data()
upstream = list(runner.CHAPTERS["05_comparison"])
table, preds = variants.collect(run.results_dir, upstream)
n_recorded = len(table)
table = compare.dedupe(table, preds)  # one model recorded under two settings is listed once
folded = table[table["also_settings"] != ""]
ch.say("collected", variants={lang: names.counted(n_recorded, names.noun_forms("variant.nom", lang), lang)
                              for lang in plots.LANGS}, chapters=", ".join(upstream), folded=n_recorded - len(table),
       which=", ".join(f"{r.id} = {r.also_settings}" for r in folded.itertuples())
       or {lang: plots.label("none_such", lang) for lang in plots.LANGS})
run.save_tables(lambda lang: pd.DataFrame([
    {plots.label("chapter", lang): names.chapter_name(c, lang), plots.label("method", lang): names.method_name(m, lang),
     plots.label("n_variants", lang): n}
    for (c, m), n in table.groupby(["chapter", "method"], sort=False).size().items()]), "variant_counts")

# %% [markdown]
# ## Combined pipelines: compress, then quantize
# The study's suggestion — sparsify first, then quantize — run here: every model that the sparsification chapter
# saved at the profile's pipeline levels (`compare.pipeline_levels`) and every distilled student that the distillation chapter
# saved is quantized with the quantile method to each bit width of the profile. Zeros left by pruning are kept exact and stored by a bitmask
# (`tscompress.combine`); the stored size is that of the real bit-packed file. No retraining.

# %% [markdown] lang=ru
# ## Комбинированные конвейеры: сначала сжать, затем квантовать
# Предложение исследования — сначала разредить, затем квантовать — проверяется здесь: каждая модель, сохранённая главой о
# разреживании на уровнях конвейера из профиля (`compare.pipeline_levels`), и каждый дистиллированный ученик, сохранённый главой о
# дистилляции, квантуются квантильным методом до каждого числа битов из профиля. Нули, оставленные прунингом,
# сохраняются точно и хранятся битовой маской (`tscompress.combine`); размер хранения — это размер настоящего файла с
# упакованными битами. Повторного обучения нет.

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
                case_index=d.test.index, source=src.id, removed=getattr(src, "removed", np.nan),
                validation=train.evaluate(qm, d.val, device=ch.device, n_boot=0))
log.save()
if log.rows:
    own = log.table()
    own["model_file"] = [str(run.path(f)) if f else "" for f in own["model_file"]]  # as collect() gives them
    own["also_settings"], own["duplicates"] = "", ""
    table = pd.concat([table, own], ignore_index=True)
    preds = pd.concat([preds, *log.predictions], ignore_index=True)
ch.say("pipelines", n=len(log.rows), sources=len(sources))

# %% [markdown]
# ## Paired tests against the baseline
# For every variant: how many test cases only it got right, how many only the fp32 baseline of the same seed got
# right, and the exact McNemar p-value. With a test set of this size most differences are not significant.

# %% [markdown] lang=ru
# ## Парные сравнения с базовой моделью
# Для каждого варианта: на скольких тестовых примерах прав только он, на скольких — только базовая модель fp32 того же
# сида, и точный p-уровень критерия Мак-Немара. При тестовой выборке такого размера большинство различий незначимо.

# %%
cmp = compare.paired_tests(table, preds, base="TimesNet")
paired = fchapter.against_fp32(table[table["method"] != "baseline"], preds, table, preds, ch.seeds[0])
for lang in plots.LANGS:  # the page's closing summary: per method, the smallest model not worse than its fp32 one
    run.glue(f"summary_{lang}", fchapter.summary_text(paired, lang))

# %% [markdown]
# ## CPU latency, measured here side by side
# Every saved model runs on the same test inputs in this one process (eval mode, no gradients; median of the
# profile's repeats), so the ratios to the fp32 baseline compare like with like.

# %% [markdown] lang=ru
# ## Задержка на CPU, измеренная здесь, рядом
# Каждая сохранённая модель запускается на одних и тех же тестовых входах в одном этом процессе (режим eval, без
# градиентов; медиана повторов, число которых задаёт профиль), так что отношения к базовой модели fp32 сравнивают
# сопоставимое.

# %%
x = data.test.X
reps = prof.compare.latency_repeats
with run.timed("latency"):
    cmp = compare.measure_latencies(cmp, x, batch_sizes=(1, 64), repeats=reps)
cmp = compare.mark_fronts(cmp, {"bytes": "stored_bytes", "latency": "latency_b1"})
run.save_table(cmp.assign(model_file=variants.relative_model_files(cmp, run.results_dir, run.chapter, run.path("."))),
               "comparison")

# %% [markdown]
# ## The table of every variant

# %% [markdown] lang=ru
# ## Таблица всех вариантов

# %%


run.save_tables(lambda lang: compare.comparison_table(cmp, lang), "table_all")

# %% [markdown]
# ## Pareto plots

# %% [markdown] lang=ru
# ## Парето-графики

# %%
ref_table = pd.read_csv(run.upstream("00_models", "reference.csv"))
ref_first = ref_table[ref_table["seed"] == ch.seeds[0]].iloc[0]  # the same test cases as the variants of this seed
ref_line = (str(ref_first["model"]), float(ref_first["test_accuracy"]))


def pareto(cost, front, log):
    def make(lang):
        t = cmp.assign(chapter_label=[names.chapter_name(c, lang) for c in cmp["chapter"]])
        return compare.pareto_figure(t, cost, lang, log=log, front=front, reference=ref_line)
    return make


run.save_figures(pareto("stored_bytes", "front_bytes", True), "fig_pareto_bytes")
run.save_figures(pareto("latency_b1", "front_latency", True), "fig_pareto_latency")
run.save_tables(lambda lang: compare.front_table(cmp, "stored_bytes", "front_bytes", lang), "table_front")

# %% [markdown]
# ## Recommendations by size budget, chosen on validation
# For each budget, a share of the fp32 TimesNet's stored size: among the variants that fit, the one with the highest
# balanced accuracy on the validation part (the criterion by which the book's recipe keeps epochs; ties go to the
# smaller). Nothing in the choice reads a test case: the test accuracy and the McNemar flag are copied after it.
# Whether there is anything to recommend is decided first, from the fp32 baseline itself.

# %% [markdown] lang=ru
# ## Рекомендации по бюджету размера, выбранные по валидации
# Для каждого бюджета — доли размера хранения TimesNet fp32 — среди укладывающихся в него вариантов выбирается тот, у
# которого выше всего сбалансированная точность на валидационной части (критерий, по которому рецепт книги выбирает
# эпоху; при равенстве выбирается меньший). Выбор не читает ни одного тестового примера: точность на тесте и отметка
# Мак-Немара копируются уже после него. Есть ли вообще что рекомендовать, решается сначала — по самой базовой модели
# fp32.

# %%
budgets = [1.0, 0.5, 0.25, 0.125, 0.0625]
rec = compare.recommend(cmp, budgets, cost="stored_bytes", base="TimesNet")
run.save_table(rec, "recommendations")
smallest_ok = compare.smallest_not_worse(cmp, base="TimesNet")
base_row = cmp[(cmp["method"] == "baseline") & (cmp["base"] == "TimesNet")].iloc[0]
lose_nothing = compare.nothing_to_lose(base_row, chance=1 / data.n_classes)


run.save_tables(lambda lang: compare.recommendations_table(rec, cmp, lang), "recommendations")
ch.say("recommendation", lose={"en": str(lose_nothing), "ru": plots.label("yes" if lose_nothing else "no", "ru")},
       smallest="—" if smallest_ok is None else smallest_ok["id"])

# %% [markdown]
# ## The study's conclusions as tests
# Each conclusion is a comparison of two groups of variants on the same test cases (`tscompress.claims`): pairs by
# setting, or, across chapters, the best variant on validation that is at most as large. Exact McNemar per pair,
# Holm-corrected within a conclusion; a "loses little" conclusion asks the paired 95% interval of the accuracy
# difference to stay above the margin. Verdicts: holds, does not hold, cannot be told apart, not tested.

# %% [markdown] lang=ru
# ## Выводы исследования как проверки
# Каждый вывод — сравнение двух групп вариантов на одних и тех же тестовых примерах (`tscompress.claims`): пары по
# настройке или, между главами, лучший по валидации вариант не больше по размеру. Точный критерий Мак-Немара для
# каждой пары с поправкой Холма внутри вывода; для вывода «почти не теряет» парный 95%-интервал разности точностей
# должен лежать выше допуска. Вердикты: подтверждается, не подтверждается, неразличимо, не проверялось.

# %%
from tscompress import claims

claim_table = claims.check(cmp, preds, n_boot=prof.bootstrap)
run.save_table(claim_table, "claims")
run.glue("claim_margin", f"{100 * claims.NONINFERIORITY_MARGIN:g}")
run.glue("level_tolerance", f"{100 * claims.LEVEL_TOLERANCE:g}")
run.save_tables(lambda lang: claims.display(claim_table, lang), "table_claims")

# %% [markdown]
# ## Numbers for the text

# %% [markdown] lang=ru
# ## Числа для текста

# %%
others = cmp[cmp["id"] != base_row["id"]]
n_sig = int(others["significant"].sum())
run.glue("pipeline_levels", ", ".join(str(v) for v in prof.compare.pipeline_levels))
run.glue_counted("n_pipelines", len(log.rows), "model.nom", fmt="{}")
run.glue_counted("n_tested", int(others['p_value'].notna().sum()), "variant.gen", fmt="{}")
run.glue("n_significant", f"{n_sig}")
run.glue("n_test", f"{int(base_row['test_n'])}")
run.glue("n_folded", f"{n_recorded - (len(table) - len(log.rows))}")
for lang in plots.LANGS:
    num = lambda v, d=3: names.number(v, lang, d)  # noqa: E731
    ci = lambda v, lo, hi: names.interval(v, lo, hi, lang)  # noqa: E731
    run.glue(f"pipeline_bits_{lang}", names.and_list(prof.compare.pipeline_bits, lang))
    run.glue(f"n_variants_{lang}", names.counted(len(cmp), names.noun_forms("variant.nom", lang), lang))
    run.glue(f"n_recorded_{lang}", names.counted(n_recorded + len(log.rows), names.noun_forms("variant.nom", lang), lang))
    run.glue(f"n_test_{lang}", names.counted(int(base_row["test_n"]), names.noun_forms("test_case.nom", lang), lang))
    run.glue(f"case_points_{lang}", num(100 / base_row["test_n"], 1))
    run.glue(f"base_acc_{lang}", ci(base_row.test_accuracy, base_row.test_accuracy_lo, base_row.test_accuracy_hi))
    run.glue(f"base_majority_{lang}", num(base_row.test_majority_rate))
    run.glue(f"base_kib_{lang}", names.kib(base_row.stored_bytes, lang, 0))
    folded_text = "; ".join(f"{names.variant_name(r, lang, base=True)}" for r in folded.to_dict("records"))
    run.glue(f"folded_{lang}", folded_text or plots.label("none_such", lang))
    # the verdict up front: does the model every variant starts from beat the majority rate and the reference?
    verdict = report.starting_point_text(base_row, ref_first, lang)
    run.glue(f"verdict_{lang}", verdict)
    smallest = None if smallest_ok is None else smallest_ok.to_dict()
    run.glue(f"recommendation_{lang}", fcmp.recommendation_text(lose_nothing, smallest, lang))
    run.glue(f"recommendation_note_{lang}", fcmp.recommendation_note(lose_nothing, smallest, lang))
    run.glue(f"front_{lang}", compare.front_names(cmp, "stored_bytes", "front_bytes", lang))
    run.glue(f"front_latency_{lang}", compare.front_names(cmp, "latency_b1", "front_latency", lang))
    run.glue(f"significance_{lang}", fcmp.significance_text(others[others["significant"]].to_dict("records"), lang))
for lang in plots.LANGS:
    for key, text in compare.claims(cmp, lang).items():
        run.glue(f"claim_{key}_{lang}", text)
lat = others[others["latency_b1_rel"].notna() & (others["base"] == "TimesNet")]
for lang in plots.LANGS:
    run.glue(f"latency_{lang}", fcmp.latency_text(lat.to_dict("records"), lang))

# %%
ch.finish(summary=[f"{len(cmp)} variants compared; {n_sig} differ significantly from the fp32 TimesNet "
                   f"(exact McNemar, n={int(base_row['test_n'])})"])
