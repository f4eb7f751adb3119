# %% [markdown]
# # 04 · PEFT: QLoRA and QDoRA on a 4-bit TimesNet
#
# Quantizes the pretrained TimesNet of chapter 00 to 4 bits (the study's quantile quantizer), freezes it and trains
# low-rank adapters on every Conv2d and Linear layer (QLoRA) or adapters plus a per-filter magnitude (QDoRA), for
# several ranks including the bit-budget rank (a 4-bit base plus float32 adapters as large as the 8-bit model).
# Adapters are merged into the weights after training. Writes the bit-budget table, the rank sweep table, the
# counterparts of the study's Figures 9–13, a full fine-tuning reference and the variants for the comparison chapter.

# %% [markdown] lang=ru
# # 04 · PEFT: QLoRA и QDoRA на 4-битном TimesNet
#
# Ноутбук квантует предобученный TimesNet из главы 00 до 4 бит (квантильным квантизатором исследования), замораживает
# его и обучает низкоранговые адаптеры на каждом слое Conv2d и Linear (QLoRA) или адаптеры плюс вектор величин на каждый
# фильтр (QDoRA) при нескольких рангах, включая ранг по бюджету битов (4-битная база вместе с адаптерами во float32
# занимает столько же, сколько 8-битная модель). После обучения адаптеры сливаются с весами. Записывает таблицу бюджета
# битов, таблицу перебора рангов, аналоги рисунков 9–13 исследования, полное дообучение для сравнения и варианты для
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
import torch

from tscompress import chapter, models, names, plots, report, study, train, variants
from tscompress.metrics import mcnemar
from tscompress.profiles import get_profile
from tscompress import peft as tp
from tscompress.peft import figures as pf
from tscompress.findings import peft as fpeft
from tscompress.findings.peft import base_name, row_name, span
from tscompress.peft.experiment import dylora_finetune, finetune, make_base

acc_text = lambda r: plots.fmt_ci(r["test_accuracy"], r["test_accuracy_lo"], r["test_accuracy_hi"])  # noqa: E731


ch = chapter.from_notebook("04_peft", vars())  # the parameters above, as papermill set them
run, prof = ch.run, ch.profile
ch.glue_starting_point()  # the verdict the page opens with: does the fp32 TimesNet beat the majority rate?
cfg = prof.peft
data = ch.data()
compare = study.applies_to(dataset)
ch.say_start("peft")
run.save_tables(lambda lang: plots.split_table(data, lang), "splits")

# %% [markdown]
# ## The bit-budget rank
# A model of N parameters at b bits counts N·b/32 float32-equivalent parameters; a float32 adapter parameter
# counts 1. The bit-budget rank is the smallest r with N·4/32 + r·p ≥ N·8/32, p = adapter parameters per rank.
# It depends on the adapter layout: ours (peft's: a convolution's A has the layer's own k×k kernel) and a 1×1
# "channel" layout (A ∈ R^{r×C_in}, B ∈ R^{C_out×r} for convolutions too).

# %% [markdown] lang=ru
# ## Ранг по бюджету битов
# Модель из N параметров по b бит считается как N·b/32 float32-эквивалентных параметров; параметр адаптера во float32 —
# как 1. Ранг по бюджету битов — наименьший r, при котором N·4/32 + r·p ≥ N·8/32, где p — число параметров адаптеров на
# единицу ранга. Он зависит от схемы адаптеров: нашей (как в peft: у свёрточной A собственное ядро слоя k×k) и
# «канальной» схемы 1×1 (A ∈ R^{r×C_in}, B ∈ R^{C_out×r} и для свёрток тоже).

# %%
base_bits, target_bits = cfg.base_bits, cfg.target_bits
pretrained, _ = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{ch.seeds[0]}.pt"))
budgets = {"peft": tp.bit_budget_rank(pretrained, base_bits, target_bits, layout="peft"),
           "peft_dora": tp.bit_budget_rank(pretrained, base_bits, target_bits, layout="peft", dora=True),
           "channel": tp.bit_budget_rank(pretrained, base_bits, target_bits, layout="channel")}
budget = budgets["peft"]
layout_names = {"peft": {"en": "ours / peft (LoRA): A = k×k conv", "ru": "наша / peft (LoRA): A — свёртка k×k"},
                "peft_dora": {"en": "ours / peft (DoRA, + magnitudes)", "ru": "наша / peft (DoRA, + величины)"},
                "channel": {"en": "1×1 channel factors", "ru": "канальные факторы 1×1"}}
brows = [{**b.to_dict(), "layout": k, "below_size": b.below_size} for k, b in budgets.items()]
if compare:  # the study's reported figures (its layout is not stated)
    brows.append({"layout": "study", "rank": 7, "n_params": 895_442, "per_rank": 115_220 // 7, "fixed": 0,
                  "base_size": 895_442 * 4 / 32, "target_size": 895_442 * 8 / 32, "adapter_params": 115_220,
                  "total_size": 227_150.25, "below_size": 895_442 * 4 / 32 + 6 * 115_220 // 7})
    layout_names["study"] = {"en": "the study (reported)", "ru": "исследование (как в отчёте)"}
budget_table = pd.DataFrame(brows)
run.save_table(budget_table, "budget")
bt = budget_table.copy()
for c in ("per_rank", "adapter_params"):
    bt[c] = bt[c].map(lambda v: f"{int(v):,}")
for c in ("base_size", "target_size", "total_size", "below_size"):
    bt[c] = bt[c].map(lambda v: f"{v:,.2f}")
bcols = [("layout_name", "peft_layout"), ("per_rank", "peft_per_rank"), ("base_size", "peft_base_size"),
         ("target_size", "peft_target_size"), ("rank", "peft_rank"), ("adapter_params", "peft_trainable"),
         ("total_size", "peft_budget_total"), ("below_size", "peft_below_total")]
run.save_tables(lambda lang: plots.display_table(bt.assign(layout_name=bt["layout"].map(lambda k: layout_names[k][lang])),
                                                  bcols, lang), "budget")

# %%
n, p = budget.n_params, budget.per_rank
frac = (budget.target_size - budget.base_size) / p
arith = (f"N = {n:,}; N·{base_bits}/32 = {budget.base_size:,.2f}; N·{target_bits}/32 = {budget.target_size:,.2f}; "
         f"p = {p:,}; r = ⌈({budget.target_size:,.2f} − {budget.base_size:,.2f}) / {p:,}⌉ = ⌈{frac:.2f}⌉ = {budget.rank}")
ch.say("budget", arith=arith)
conv_per_rank = sum(m.in_channels * m.kernel_size[0] * m.kernel_size[1] + m.out_channels
                    for m in pretrained.modules() if isinstance(m, torch.nn.Conv2d))
lin_per_rank = sum(m.in_features + m.out_features for m in pretrained.modules() if isinstance(m, torch.nn.Linear))
n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in pretrained.modules())
n_lin = sum(isinstance(m, torch.nn.Linear) for m in pretrained.modules())
chb = budgets["channel"]
run.glue("budget_arith", arith)
run.glue("budget_rank", str(budget.rank))
run.glue("budget_rank_dora", str(budgets["peft_dora"].rank))
run.glue_counted("budget_per_rank", p, "param.nom", fmt="{:,}")
run.glue_counted("budget_conv_per_rank", conv_per_rank, "param.nom", fmt="{:,}")
run.glue("budget_lin_per_rank", f"{lin_per_rank:,}")
run.glue_counted("budget_n_conv", n_conv, "layer.prep", fmt="{}")
run.glue_counted("budget_n_lin", n_lin, "layer.prep", fmt="{}")
run.glue("budget_channel_per_rank", f"{chb.per_rank:,}")
run.glue("budget_channel_rank", str(chb.rank))
run.glue_counted("budget_channel_adapters", chb.adapter_params, "param.prep", fmt="{:,}")
run.glue("budget_channel_total", f"{chb.total_size:,.2f}")
run.glue("n_params", f"{n:,}")

# %% [markdown]
# ## References, then fine-tuning
# References on the same test cases: the pretrained model and its 8-bit and 4-bit quantile versions (plus the extra
# bases of the profile: a lower-bit quantile base, NF4, the unquantized model). Fine-tuning: QLoRA and QDoRA at every
# rank on the 4-bit base, full fine-tuning of the 4-bit model, both methods at the bit-budget rank on each extra base
# (LoRA/DoRA on the unquantized model), and one DyLoRA run on the 4-bit base that serves every rank up to the largest.

# %% [markdown] lang=ru
# ## Точки отсчёта, затем дообучение
# Точки отсчёта на тех же тестовых примерах: предобученная модель и её 8-битная и 4-битная квантильные версии (а также
# дополнительные базы из профиля: квантильная база с меньшим числом битов, NF4, неквантованная модель). Дообучение: QLoRA
# и QDoRA на каждом ранге на 4-битной базе, полное дообучение 4-битной модели, оба метода при ранге по бюджету битов на
# каждой дополнительной базе (LoRA/DoRA на неквантованной модели) и один запуск DyLoRA на 4-битной базе, который
# обслуживает все ранги вплоть до наибольшего.

# %%
ranks = sorted(set(cfg.ranks) | ({budget.rank} if cfg.add_budget_rank else set()))
main_key, hi_key = f"q{base_bits}", f"q{target_bits}"
ch.say("ranks", ranks=ranks, bases=list(cfg.extra_bases))
# what the page's "left out" section says about the rank grid: this run's against the full profile's
for lang in plots.LANGS:
    run.glue(f"grid_note_{lang}", fpeft.grid_note(cfg.ranks, get_profile("full").peft.ranks, lang))


log = variants.VariantLog(run)
rows, histories, refs_by_seed, dy_rows, dy_info, ff_info, recovered = [], {}, {}, [], {}, {}, []
recover_keys, rec_histories = {}, {}
correct = {}  # (seed, method, rank) -> per-case correctness on the test set, for paired comparisons
for s in ch.seeds:
    d = ch.data(s)
    pre, _ = models.load_checkpoint(run.upstream("00_models", f"checkpoints/TimesNet_seed{s}.pt"))
    n_pre = sum(p.numel() for p in pre.parameters())
    bases = {k: make_base(k, pre) for k in dict.fromkeys(["fp32", hi_key, main_key, *cfg.extra_bases])}
    refs = {}

    def measure_base(key):
        """A base's test and validation scores, recorded as a reference and as a row of the table."""
        m, nbytes, _ = bases[key]
        ev = train.evaluate(m, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
        val = train.evaluate(m, d.val, device=ch.device, n_boot=0)
        refs[key] = {"evaluation": ev, "val_accuracy": val.accuracy, "val_loss": val.loss, "stored_bytes": nbytes}
        rows.append({"seed": s, "method": key, "base": "", "rank": np.nan, "trainable": 0, "stored_bytes": nbytes,
                     "train_seconds": 0.0, "cpu_seconds": 0.0, "seconds_per_epoch": np.nan, "best_epoch": np.nan,
                     "val_accuracy": val.accuracy, "merge_max_diff": np.nan, **ev.summary("test_")})
        return ev

    for key in bases:
        ch.say("base", seed=s, key=key, ev=measure_base(key))
    refs_by_seed[s] = refs
    # the recovery experiment: the quantile base of the most bits whose validation loss is at least recover_ratio
    # times fp32's (chosen on validation only); none such: nothing was lost, nothing to recover
    for b in cfg.recover_bits:
        key = f"q{b}"
        if key not in bases:
            bases[key] = make_base(key, pre)
            measure_base(key)
    lost = [b for b in sorted(cfg.recover_bits, reverse=True)
            if refs[f"q{b}"]["val_loss"] >= cfg.recover_ratio * refs["fp32"]["val_loss"]]
    rec_key = f"q{lost[0]}" if lost else None
    recover_keys[s] = rec_key
    ch.say("recovery_base" if rec_key else "no_recovery_base", seed=s, fp32=refs["fp32"]["val_loss"], base=rec_key,
           losses=", ".join(f"q{b} {refs[f'q{b}']['val_loss']:.3f}" for b in cfg.recover_bits))

    tc = ch.train_config("peft", seed=s, lr=cfg.lr)  # adapters
    tc_full = ch.train_config("peft", seed=s, lr=cfg.full_lr)  # full fine-tuning: every weight, the recipe's rate
    jobs = [("qlora", r, main_key) for r in ranks] + [("qdora", r, main_key) for r in ranks]
    jobs += [("full", None, main_key)] if cfg.full_ft else []
    for key in cfg.extra_bases:
        plain = key == "fp32"
        jobs += [("lora" if plain else "qlora", budget.rank, key), ("dora" if plain else "qdora", budget.rank, key)]
    if rec_key is not None:
        jobs += [("qlora", r, rec_key) for r in ranks] + ([("full", None, rec_key)] if cfg.full_ft else [])
    jobs = list(dict.fromkeys(jobs))
    for method, r, key in jobs:
        bmodel, bbytes, bdesc = bases[key]
        res = finetune(bmodel, d, tc_full if method == "full" else tc, method=method, rank=r,
                       alpha_ratio=cfg.alpha_ratio, n_boot=prof.bootstrap)
        if method == "full":
            stored, setting, vmethod, storage = variants.dense_bytes(res.model), f"from {key}", "full_ft", "dense float32"
        else:
            stored = int(round(bbytes)) + res.adapter_bytes
            setting = f"r={r}" + ("" if key == main_key else f", {key} base")
            vmethod, storage = method, f"{bdesc} + float32 adapters"
        changed = int((res.evaluation.preds != refs[key]["evaluation"].preds).sum())
        log.add(method=vmethod, setting=setting, evaluation=res.evaluation, base="TimesNet", seed=s, model=res.model,
                params=n_pre + res.trainable_params * (method != "full"), stored_bytes=stored,
                train_seconds=res.fit.seconds, save=(r == budget.rank and key == main_key), case_index=d.test.index,
                rank=r if r is not None else np.nan, trainable_params=res.trainable_params,
                cpu_seconds=res.cpu_seconds, storage=storage,
                validation=train.evaluate(res.model, d.val, device=ch.device, n_boot=0),
                **variants.fit_budget(res.fit, tc.epochs))
        if key == main_key:
            histories[(s, method, r)] = res.fit.history
            correct[(s, method, r)] = res.evaluation.correct
        if key == rec_key:
            rec_histories[(s, method, r)] = res.fit.history
        if s == ch.seeds[0] and method != "full":  # adapted vs its own base before fine-tuning, same cases
            recovered.append((method, r, key, mcnemar(res.evaluation.correct, refs[key]["evaluation"].correct)))
        val_after = res.fit.best_record
        rows.append({"seed": s, "method": method, "base": key, "rank": r if r is not None else np.nan,
                     "trainable": res.trainable_params, "stored_bytes": stored, "train_seconds": res.fit.seconds,
                     "cpu_seconds": res.cpu_seconds, "seconds_per_epoch": res.seconds_per_epoch,
                     "best_epoch": res.fit.best_epoch, "epochs_trained": res.fit.epochs_trained,
                     "stopped_by": res.fit.stopped_by, "val_accuracy": res.fit.best_val_accuracy,
                     "val_loss": res.fit.best_val_loss, "changed_preds": changed,
                     "merge_max_diff": res.merge_max_diff, **{f"mem_{k}": v for k, v in res.memory.items()},
                     **res.evaluation.summary("test_")})
        ch.say("adapted", seed=s, method=method, rank=r, key=key, ev=res.evaluation, best=res.fit.best_epoch,
               epochs=res.fit.epochs_trained, stopped=ch.stopped(res.fit), changed=changed, seconds=res.fit.seconds,
               cpu=res.cpu_seconds, merge={lang: names.scientific(res.merge_max_diff, lang) for lang in plots.LANGS})

    if cfg.fast_forward:  # QLoRA at the bit-budget rank again, with Fast Forward every `fast_forward` steps
        res = finetune(bases[main_key][0], d, tc, method="qlora", rank=budget.rank, alpha_ratio=cfg.alpha_ratio,
                       n_boot=prof.bootstrap, fast_forward=cfg.fast_forward)
        ff_info[s] = {"history": res.fit.history, "seconds": res.fit.seconds, "evaluation": res.evaluation,
                      "steps_per_epoch": -(-len(d.train) // tc.batch_size), **res.extra}
        ch.say("fast_forward", seed=s, rank=budget.rank, ev=res.evaluation, seconds=res.fit.seconds, extra=res.extra)

    if cfg.dylora:  # one QDyLoRA run on the main base, every rank 1..R evaluated by truncation
        dy = dylora_finetune(bases[main_key][0], d, tc, max_rank=max(ranks), alpha_ratio=cfg.alpha_ratio)
        dy_info[s] = {"seconds": dy.fit.seconds, "cpu_seconds": dy.cpu_seconds, "epochs": len(dy.fit.history),
                      "best_epoch": dy.fit.best_epoch, "rank_counts": dy.rank_counts}
        for k in range(1, dy.max_rank + 1):
            mk = dy.at_rank(k)
            ev = train.evaluate(mk, d.test, device=ch.device, n_boot=prof.bootstrap, seed=s)
            val = train.evaluate(mk, d.val, device=ch.device, n_boot=0)
            dy_rows.append({"seed": s, "rank": k, "val_accuracy": val.accuracy, "val_loss": val.loss,
                            **ev.summary("test_")})
            correct[(s, "qdylora", k)] = ev.correct
            if k == budget.rank:
                log.add(method="qdylora", setting=f"r={k} of {dy.max_rank}", evaluation=ev, base="TimesNet", seed=s,
                        model=mk, params=n_pre + k * budget.per_rank, stored_bytes=int(round(bases[main_key][1]))
                        + 4 * k * budget.per_rank, train_seconds=dy.fit.seconds, case_index=d.test.index, rank=k,
                        trainable_params=dy.trainable_params, cpu_seconds=dy.cpu_seconds,
                        storage=f"{bases[main_key][2]} + float32 adapters truncated to rank {k}", validation=val)
        ch.say("dylora", seed=s, rank=dy.max_rank, seconds=dy.fit.seconds, best=dy.fit.best_epoch, counts=dy.rank_counts)
sweep = pd.DataFrame(rows)
run.save_table(sweep, "sweep")
dylora_table = pd.DataFrame(dy_rows)
if len(dylora_table):
    run.save_table(dylora_table, "dylora")
log.save()
ch.glue_findings(log)  # the page's opening finding and closing summary: every variant against its fp32 model

# %% [markdown]
# ## Table: rank, accuracy, bytes, time
# Stored size: the 4-bit quantile base by the study's accounting (4 bits per weight plus each group's codebook)
# plus the adapters at float32, i.e. what one keeps to rebuild the model; after merging, the deployed model is a
# dense float32 TimesNet of the original size (or re-quantized). Full fine-tuning yields a dense float32 model.

# %% [markdown] lang=ru
# ## Таблица: ранг, точность, байты, время
# Размер хранения: 4-битная квантильная база по учёту исследования (4 бита на вес плюс кодовая книга каждой группы) плюс
# адаптеры во float32, то есть то, что нужно хранить, чтобы восстановить модель; после слияния развёртываемая модель —
# плотный TimesNet во float32 исходного размера (или заново квантованный). Полное дообучение даёт плотную модель во
# float32.

# %%
s0 = ch.seeds[0]
t_all = sweep[sweep.seed == s0].copy()
t = t_all
t["rank_fmt"] = t["rank"].map(lambda v: "—" if pd.isna(v) else str(int(v)))
t["trainable_fmt"] = t["trainable"].map(lambda v: f"{int(v):,}")
t["kib"] = t["stored_bytes"].map(lambda v: f"{v / 1024:,.1f}")
t["time"] = [("—" if r.train_seconds == 0 else f"{r.train_seconds:.0f} ({r.cpu_seconds:.0f})") for r in t.itertuples()]
t["acc_ci"] = [plots.fmt_ci(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi) for r in t.itertuples()]
t["bacc"] = t["test_balanced_accuracy"].map(plots.fmt_acc)
t["majority"] = t["test_majority_rate"].map(plots.fmt_acc)
t["mem"] = [("—" if pd.isna(r.mem_total) else f"{r.mem_total / 2**20:.1f} ({(r.mem_gradients + r.mem_optimizer) / 2**20:.2f})")
            for r in t.itertuples()]
cols = [("name", "peft_method"), ("rank_fmt", "peft_rank"), ("trainable_fmt", "peft_trainable"),
        ("kib", "stored_kib"), ("time", "peft_train_s"), ("mem", "peft_memory"), ("acc_ci", "test_accuracy"),
        ("bacc", "test_balanced"), ("majority", "majority_short")]
run.save_tables(lambda lang: plots.display_table(t.assign(name=[row_name(m, b, lang, main_key) for m, b in zip(t["method"], t["base"])]),
                                                  cols, lang), "sweep_table")
main = t_all[(t_all["base"] == "") | (t_all["base"] == main_key)]

# %% [markdown]
# ## Accuracy, loss and cost against rank (study: Figures 9–13)

# %% [markdown] lang=ru
# ## Точность, потери и затраты в зависимости от ранга (в исследовании: рисунки 9–13)

# %%
refs = refs_by_seed[s0]
full_hist = histories.get((s0, "full", None))


def ref_lines(lang):
    lines = {base_name(hi_key, lang): refs[hi_key]["evaluation"].accuracy,
             base_name(main_key, lang): refs[main_key]["evaluation"].accuracy}
    full = main[main.method == "full"]
    if len(full):
        lines[row_name("full", main_key, lang, main_key)] = float(full["test_accuracy"].iloc[0])
    return lines


for method, fig_loss, fig_acc in (("qlora", "fig9_qlora_val_loss", "fig10_qlora_accuracy"),
                                  ("qdora", "fig11_qdora_val_loss", "fig12_qdora_accuracy")):
    hs = {r: histories[(s0, method, r)] for r in ranks}
    run.save_figures(lambda lang: pf.val_loss_per_rank(hs, lang, names.method_name(method, lang), reference=full_hist), fig_loss)
    run.save_figures(lambda lang: pf.accuracy_per_rank(main[main.method == method], lang, names.method_name(method, lang),
                                                       references=ref_lines(lang), budget_rank=budget.rank), fig_acc)
tt = main[main.method.isin(["qlora", "qdora"])]
full_row = main[main.method == "full"]
full_spe = float(full_row["seconds_per_epoch"].iloc[0]) if len(full_row) else None
run.save_figures(lambda lang: pf.time_per_rank(tt.assign(method=[names.method_name(m, lang) for m in tt["method"]]), lang,
                                               full_seconds=full_spe), "fig13_time")

# %% [markdown]
# ## QDyLoRA: one run for every rank
# Validation loss and test accuracy of the single QDyLoRA run truncated to each rank 1..R, against the QLoRA runs
# trained separately at each rank (at their selected epoch).

# %% [markdown] lang=ru
# ## QDyLoRA: один запуск для всех рангов
# Потери на валидации и точность на тесте единственного запуска QDyLoRA, усечённого до каждого ранга 1..R, против
# запусков QLoRA, обученных отдельно для каждого ранга (на выбранной ими эпохе).

# %%
if len(dylora_table):
    dy0 = dylora_table[dylora_table.seed == s0]
    sep = main[main.method == "qlora"].copy()
    sep["val_loss"] = [next(h["val_loss"] for h in histories[(s0, "qlora", int(r))] if h["epoch"] == int(e))
                       for r, e in zip(sep["rank"], sep["best_epoch"])]
    run.save_figures(lambda lang: pf.dylora_vs_separate(dy0, sep, lang), "fig_dylora")
    dy_budget = dy0[dy0["rank"] == budget.rank].iloc[0]
    run.glue("dylora_seconds", f"{dy_info[s0]['seconds']:.0f}")
    run.glue("dylora_cpu", f"{dy_info[s0]['cpu_seconds']:.0f}")
    run.glue("dylora_separate_seconds", f"{sep['train_seconds'].sum():.0f}")
    run.glue_counted("dylora_separate_n", len(sep), "run.gen", fmt="{}")
    run.glue("dylora_separate_runs_en", f"{len(sep)} separate QLoRA runs" if len(sep) != 1 else "one separate QLoRA run")
    run.glue_counted("dylora_R", int(dy0["rank"].max()), "rank.acc", fmt="{}")
    for lang in plots.LANGS:
        run.glue(f"dylora_acc_text_{lang}", fpeft.dylora_span_text(dy0["test_accuracy"], "acc", lang))
        run.glue(f"dylora_val_loss_text_{lang}", fpeft.dylora_span_text(dy0["val_loss"], "loss", lang))
    run.glue("dylora_sep_val_loss_range", span(sep["val_loss"]))
    run.glue("dylora_budget_acc", acc_text(dy_budget))
    run.glue("dylora_budget_bacc", f"{dy_budget['test_balanced_accuracy']:.3f}")
    for lang in ("en", "ru"):
        run.glue(f"dylora_budget_verdict_{lang}", report.majority_verdict(dy_budget, lang))
    # the validation-loss sentence may differ in its last digits with the thread count ("loss" in its key says so);
    # the test-set one is built from predictions only (exact McNemar, p < 0.05)
    sep_loss = dict(zip(sep["rank"].astype(int), sep["val_loss"]))
    n_sig = sum(mcnemar(correct[(s0, "qdylora", r)], correct[(s0, "qlora", r)]).significant for r in sep_loss)
    for lang in plots.LANGS:
        run.glue(f"dylora_loss_cmp_{lang}", fpeft.dylora_fit_text(dict(zip(dy0["rank"], dy0["val_loss"])), sep_loss, lang))
        run.glue(f"dylora_test_cmp_{lang}", fpeft.dylora_test_text(n_sig, len(sep_loss), lang))
    ch.say("table", table=dy0[["rank", "val_loss", "val_accuracy", "test_accuracy", "test_loss"]].to_string(index=False))

# %% [markdown]
# ## Fast Forward
# QLoRA at the bit-budget rank with and without Fast Forward: the optimizer steps and seconds each needs to reach the
# lowest validation loss of the run without it.

# %% [markdown] lang=ru
# ## Fast Forward
# QLoRA при ранге по бюджету битов с Fast Forward и без него: сколько шагов оптимизатора и секунд нужно каждому запуску,
# чтобы достичь наименьших потерь на валидации, которых достиг запуск без Fast Forward.

# %%
if ff_info:
    ffi = ff_info[s0]
    plain = histories[(s0, "qlora", budget.rank)]
    run.save_figures(lambda lang: pf.fast_forward_curves(plain, ffi["history"], lang, f"QLoRA, r = {budget.rank}"),
                     "fig_fastforward")
    spe = ffi["steps_per_epoch"]
    gain = fpeft.fast_forward_gain(plain, ffi["history"])  # when each run first reached plain's lowest val loss
    ev_ff = ffi["evaluation"]
    run.glue_counted("ff_every", cfg.fast_forward, "step.nom", fmt="{}")
    run.glue("ff_events", str(ffi["ff_events"]))
    run.glue("ff_repeats", str(ffi["ff_repeats"]))
    run.glue("ff_events_ru", f"{ffi['ff_events']} {report.ru_plural(ffi['ff_events'], 'раз', 'раза', 'раз')}")
    run.glue("ff_repeats_ru", f"{ffi['ff_repeats']} {report.ru_plural(ffi['ff_repeats'], 'повтор', 'повтора', 'повторов')}")
    run.glue("ff_seconds", f"{ffi['ff_seconds']:.1f}")
    run.glue("ff_target", f"{gain.target:.3f}")
    run.glue_counted("ff_plain_steps", gain.plain_epoch * spe, "step.nom", fmt="{}")
    run.glue("ff_plain_seconds", f"{gain.plain_seconds:.1f}")
    run.glue("ff_acc", plots.fmt_ci(ev_ff.accuracy, *ev_ff.accuracy_ci))
    run.glue("ff_best_loss", f"{min(h['val_loss'] for h in ffi['history']):.3f}")
    for lang in plots.LANGS:
        run.glue(f"ff_verdict_{lang}", report.majority_verdict(ev_ff.summary("test_"), lang))
        texts = fpeft.fast_forward_texts(gain, spe, ev_ff.accuracy, refs[hi_key]["evaluation"].accuracy, target_bits,
                                         len(data.test), lang)
        run.glue(f"ff_vs_hi_{lang}", texts["vs_hi"])
        run.glue(f"ff_result_{lang}", texts["result"])

# %% [markdown]
# ## Recovering what quantization lost
# The base is chosen on validation: the quantile base of the most bits (of `peft.recover_bits`) whose validation loss
# is at least `peft.recover_ratio` times fp32's. QLoRA at every rank and full fine-tuning adapt it; each model's
# recovered fraction is read on validation (loss) and on test (accuracy), with fp32 as 1 and the base as 0.

# %% [markdown] lang=ru
# ## Возврат потерянного при квантовании
# База выбирается по валидации: квантильная база с наибольшим числом битов (из `peft.recover_bits`), у которой потери на
# валидации не меньше чем в `peft.recover_ratio` раза больше, чем у fp32. Её адаптируют QLoRA на каждом ранге и полное
# дообучение; доля возвращённого у каждой модели считается на валидации (по потерям) и на тесте (по точности), fp32 —
# это 1, база — 0.

# %%
from tscompress.findings import stops_text
from tscompress.findings.quantization import epochs_words

rec_key = recover_keys[s0]
refs0 = refs_by_seed[s0]
ref_row = lambda key: {"val_loss": refs0[key]["val_loss"], "test_accuracy": refs0[key]["evaluation"].accuracy}  # noqa: E731
if rec_key is not None:
    rec = sweep[(sweep.seed == s0) & (sweep.base == rec_key) & sweep.method.isin(["qlora", "full"])]
    rec_table = pd.DataFrame(fpeft.recovery_rows(rec.to_dict("records"), ref_row(rec_key), ref_row("fp32")))
    run.save_table(rec_table, "recovery")
    run.save_tables(lambda lang: plots.display_table(rec_table.assign(
        how=[("QLoRA, r = %d" % int(r.rank)) if r.method != "full" else names.method_name("full_ft", lang)
             for r in rec_table.itertuples()],
        val=rec_table["recovered_val"].map(lambda v: names.percent(v, lang, 0)),
        test=rec_table["recovered_test"].map(lambda v: names.percent(v, lang, 0)),
        acc=[names.interval(r.test_accuracy, r.test_accuracy_lo, r.test_accuracy_hi, lang) for r in rec_table.itertuples()],
        ended=rec_table["stopped_by"].map(lambda v: plots.label(f"stopped_{v}", lang))),
        [("how", "peft_model"), ("val", "peft_recovered_val"), ("test", "peft_recovered_test"), ("acc", "test_accuracy"),
         ("changed_preds", "peft_changed"), ("ended", "q_ended")], lang), "recovery")
    for lang in plots.LANGS:
        run.glue(f"recovery_{lang}", fpeft.recovery_text(
            int(rec_key[1:]), rec_table.to_dict("records"), ref_row(rec_key), ref_row("fp32"), lang,
            histories={(f"QLoRA r = {k[2]}" if k[1] != "full" else names.method_name("full_ft", lang)): h
                       for k, h in rec_histories.items() if k[0] == s0},
            select=tc.select, val_n=len(ch.data(s0).val)))
else:  # the page's table still exists: one row saying the experiment did not run
    run.save_tables(lambda lang: plots.display_table(pd.DataFrame([{k: "—" for k in ("how", "val", "test", "acc",
                                                                                      "changed_preds", "ended")}]),
        [("how", "peft_model"), ("val", "peft_recovered_val"), ("test", "peft_recovered_test"), ("acc", "test_accuracy"),
         ("changed_preds", "peft_changed"), ("ended", "q_ended")], lang), "recovery")
    for lang in plots.LANGS:
        run.glue(f"recovery_{lang}", fpeft.no_recovery_text(
            cfg.recover_bits, cfg.recover_ratio, refs0["fp32"]["val_loss"],
            {b: refs0[f"q{b}"]["val_loss"] for b in cfg.recover_bits}, lang))
for lang in plots.LANGS:  # how every fine-tuning of the chapter ended, and whether adapters changed predictions
    hs = {k: v for k, v in {**histories, **rec_histories}.items() if k[0] == s0}
    run.glue(f"stops_{lang}", stops_text(hs, lang, cap=epochs_words(cfg.epochs, lang),
                                         names={k: names.method_name("full_ft" if k[1] == "full" else k[1], lang)
                                                + (f" r = {k[2]}" if k[2] else "")
                                                for k in hs}))
adapted = sweep[(sweep.seed == s0) & sweep.method.isin(["qlora", "qdora", "lora", "dora"])]
for lang in plots.LANGS:  # which adapters kept their base's predictions, and why
    run.glue(f"unchanged_{lang}", fpeft.unchanged_text([
        {"name": row_name(r.method, r.base, lang, main_key, int(r.rank)), "changed_preds": r.changed_preds,
         "best_epoch": r.best_epoch, "val_loss": r.val_loss, "base_val_loss": refs0[r.base]["val_loss"]}
        for r in adapted.itertuples()], lang))
from tscompress.findings.quantization import budget_text

for lang in plots.LANGS:
    run.glue(f"budget_{lang}", budget_text(cfg.epochs, cfg.patience, lang))
run.glue("adapter_lr", f"{cfg.lr:g}")
run.glue("recover_bits", ", ".join(str(b) for b in cfg.recover_bits))
run.glue("recover_ratio", f"{cfg.recover_ratio:g}")
run.glue("full_lr", f"{cfg.full_lr:g}")

# %% [markdown]
# ## Numbers for the text

# %% [markdown] lang=ru
# ## Числа для текста

# %%
by = {(r["method"], None if pd.isna(r["rank"]) else int(r["rank"])): r for r in main.to_dict("records")}
extra = {(r["method"], r["base"]): r for r in t_all.to_dict("records") if r["base"] not in ("", main_key)}
for key in cfg.extra_bases:
    ref = by[(key, None)]
    run.glue(f"acc_base_{key}", acc_text(ref))
    run.glue(f"loss_base_{key}", f"{ref['test_loss']:.3f}")
    run.glue(f"val_base_{key}", f"{ref['val_accuracy']:.3f}")
    run.glue(f"kib_base_{key}", f"{ref['stored_bytes'] / 1024:,.1f}")
    for method in (("lora", "dora") if key == "fp32" else ("qlora", "qdora")):
        r = extra[(method, key)]
        slot = method.lstrip("q") if key == "fp32" else method  # glue keys: lora_fp32_acc, qlora_q2_acc, ...
        run.glue(f"{slot}_{key}_acc", acc_text(r))
        run.glue(f"{slot}_{key}_loss", f"{r['test_loss']:.3f}")
        run.glue(f"{slot}_{key}_val", f"{r['val_accuracy']:.3f}")
others = [extra[(m, key)]["test_accuracy"] for key in cfg.extra_bases
          for m in (("lora", "dora") if key == "fp32" else ("qlora", "qdora"))]
if others:  # how far apart the adapted models on the other bases are, in test cases
    for lang in plots.LANGS:
        run.glue(f"others_apart_{lang}", fpeft.apart_text(others, len(data.test), lang))
lo_key = main_key
for lang in plots.LANGS:  # did fine-tuning change its base's predictions beyond chance?
    run.glue(f"recover_{lang}", fpeft.changed_text(
        [(names.variant_name({"method": m, "setting": f"r={r}" + ("" if k == main_key else f", {k} base")}, lang), res)
         for m, r, k, res in recovered], lang))
run.glue("dataset", dataset)
run.glue("n_test", str(len(data.test)))
run.glue("n_train", str(len(data.train)))
run.glue("n_val", str(len(data.val)))
run.glue("case_points", f"{100 / len(data.test):.1f}")
run.glue("test_majority", f"{data.test.majority_rate():.3f}")
run.glue_counted("epochs", cfg.epochs, "epoch.nom", fmt="{}")
run.glue("lr", f"{cfg.lr:g}")
run.glue("alpha_ratio", f"{cfg.alpha_ratio:g}")
run.glue("ranks", ", ".join(str(r) for r in ranks))
run.glue("n_seeds", str(len(ch.seeds)))
for key in ("fp32", hi_key, lo_key):
    r = by[(key, None)]
    k = {"fp32": "fp32", hi_key: "hi", lo_key: "lo"}[key]
    run.glue(f"acc_{k}", acc_text(r))
    run.glue(f"bacc_{k}", f"{r['test_balanced_accuracy']:.3f}")
    run.glue(f"kib_{k}", f"{r['stored_bytes'] / 1024:,.1f}")
    run.glue(f"val_{k}", f"{r['val_accuracy']:.3f}")
    run.glue(f"loss_{k}", f"{r['test_loss']:.3f}")
run.glue_counted("base_bits", base_bits, "bit.gen", fmt="{}")
run.glue("target_bits", str(target_bits))
acc_hi = by[(hi_key, None)]["test_accuracy"]
acc_lo = by[(lo_key, None)]["test_accuracy"]
for method in ("qlora", "qdora"):
    rb = by[(method, budget.rank)]
    run.glue(f"{method}_budget_acc", acc_text(rb))
    run.glue(f"{method}_budget_bacc", f"{rb['test_balanced_accuracy']:.3f}")
    run.glue(f"{method}_budget_kib", f"{rb['stored_bytes'] / 1024:,.1f}")
    run.glue_counted(f"{method}_budget_trainable", int(rb['trainable']), "param.nom", fmt="{:,}")
    run.glue(f"{method}_budget_spe", f"{rb['seconds_per_epoch']:.2f}")
    run.glue(f"{method}_budget_seconds", f"{rb['train_seconds']:.0f}")
    run.glue(f"{method}_budget_cpu", f"{rb['cpu_seconds']:.0f}")
    run.glue(f"{method}_budget_val", f"{rb['val_accuracy']:.3f}")
    run.glue(f"{method}_budget_loss", f"{rb['test_loss']:.3f}")
    run.glue(f"{method}_budget_share", f"{100 * rb['trainable'] / n:.0f}")
    run.glue(f"{method}_max_trainable", f"{int(by[(method, max(ranks))]['trainable']):,}")
    run.glue(f"{method}_max_share", f"{100 * by[(method, max(ranks))]['trainable'] / n:.0f}")
    run.glue(f"{method}_loss_range", span([by[(method, r)]["test_loss"] for r in ranks]))
    run.glue(f"{method}_val_range", span([by[(method, r)]["val_accuracy"] for r in ranks]))
    accs = {r: by[(method, r)]["test_accuracy"] for r in ranks}
    run.glue(f"{method}_acc_range", span(accs.values()))
    run.glue(f"{method}_spe_range", span([by[(method, r)]["seconds_per_epoch"] for r in ranks], "{:.2f}"))
    for lang in plots.LANGS:
        run.glue(f"{method}_beats_{lang}", fpeft.beats_text(accs, acc_hi, lang))
        run.glue(f"{method}_budget_verdict_{lang}", report.majority_verdict(rb, lang))
    run.glue(f"{method}_merge_diff", names.scientific(max(by[(method, r)]["merge_max_diff"] for r in ranks), "en"))
if full_spe is not None:
    peft_spe = [by[(m, r)]["seconds_per_epoch"] for m in ("qlora", "qdora") for r in ranks]
    for lang in plots.LANGS:
        run.glue(f"time_verdict_{lang}", fpeft.time_text(peft_spe, full_spe, lang))
    fr = full_row.iloc[0]
    run.glue("full_acc", acc_text(fr))
    run.glue("full_spe", f"{full_spe:.2f}")
    run.glue("full_seconds", f"{fr['train_seconds']:.0f}")
    run.glue("full_cpu", f"{fr['cpu_seconds']:.0f}")
    run.glue_counted("full_trainable", int(fr['trainable']), "param.nom", fmt="{:,}")
    rbq = by[("qlora", budget.rank)]
    for what, row in (("full", fr), ("qlora_budget", rbq)):
        run.glue(f"{what}_mem_total", f"{row['mem_total'] / 2**20:.1f}")
        run.glue(f"{what}_mem_gradopt", f"{(row['mem_gradients'] + row['mem_optimizer']) / 2**20:.2f}")
        run.glue(f"{what}_mem_act", f"{row['mem_activations'] / 2**20:.1f}")
        run.glue(f"{what}_mem_weights", f"{row['mem_weights'] / 2**20:.1f}")
    mem = {what: {k: row[f"mem_{k}"] for k in ("weights", "gradients", "optimizer", "activations", "total")}
           for what, row in (("full", fr), ("qlora", rbq))}
    for lang in plots.LANGS:
        run.glue(f"mem_verdict_{lang}", report.memory_text(mem["full"], mem["qlora"], lang))
    run.glue("full_bacc", f"{fr['test_balanced_accuracy']:.3f}")
    run.glue("full_loss", f"{fr['test_loss']:.3f}")
    run.glue("full_val", f"{fr['val_accuracy']:.3f}")
    run.glue("full_epoch", str(int(fr["best_epoch"])))
for lang in plots.LANGS:
    run.glue(f"lo_verdict_{lang}", report.majority_verdict(by[(lo_key, None)], lang))
    run.glue(f"hi_verdict_{lang}", report.majority_verdict(by[(hi_key, None)], lang))
summary = [report.summary_line(f"{r['method']}{'' if pd.isna(r['rank']) else ' r=%d' % int(r['rank'])}"
                               f"{' (%s base)' % r['base'] if r['base'] else ''} seed {r['seed']}", r,
                               tail=f", {r['train_seconds']:.1f} s") for r in rows]
summary.append(f"bit-budget rank {budget.rank} ({arith})")
ch.finish(summary=summary)
