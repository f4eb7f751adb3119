"""Sentences computed from a chapter's tables (tscompress.findings): what they say follows the numbers."""

import math

import numpy as np
import pytest

from tscompress import findings, names
from tscompress.findings import peft as fpeft
from tscompress.findings import quantization as fq


def _h(*ends):
    return {f"run{k}": [{"epoch": 1}, {"epoch": 2, "stopped_by": e}] for k, e in enumerate(ends)}


def test_stops_text_names_every_capped_curve_and_counts_the_rest():
    assert "all 3 runs stopped" in findings.stops_text(_h("patience", "patience", "patience"), "en")
    assert "все 3 запуска" in findings.stops_text(_h("patience", "patience", "patience"), "ru")
    text = findings.stops_text(_h("patience", "cap", "converged"), "en", cap="30 epochs", names={"run1": "QAT int4"})
    assert "cut at their cap of 30 epochs" in text and "QAT int4" in text and "patience: 1" in text
    assert "converged" in text
    assert "обрезаны пределом в 30 эпох" in findings.stops_text(_h("cap", "patience"), "ru", cap="30 эпох")
    assert findings.stops_text(_h("fixed", "fixed"), "en") == findings.phrase("stops_fixed", "en")
    every = findings.stops_text(_h("cap", "cap", "cap", "cap", "cap"), "en", cap="6 epochs")
    assert every.startswith("all 5 runs reached their cap of 6 epochs") and "run1" not in every  # no list of all
    assert findings.stops_text(_h("cap", "cap", "cap", "cap", "cap"), "ru", cap="6 эпох").startswith(
        "все 5 запусков дошли до предела в 6 эпох")


def test_paired_changes_count_only_significant_changes_in_their_direction():
    before = np.array([1] * 50 + [0] * 50, bool)
    better = before.copy()
    better[50:70] = True  # 20 cases won, none lost
    worse = before.copy()
    worse[:20] = False
    same = before.copy()
    changes = [findings.Change({"en": n, "ru": n}, 0.5, float(a.mean()), a, before)
               for n, a in (("up", better), ("down", worse), ("flat", same))]
    text = findings.paired_changes(changes, "en")
    assert "better than the model they started from: 1; significantly worse: 1" in text
    assert "up 0.500 → 0.700 (20 / 0 cases, p < 0.001)" in text and "flat" not in text
    ru = findings.paired_changes(changes, "ru")
    assert "из 3 моделей" in ru and "p < 0,001" in ru and "p = 0.000" not in ru


def test_budget_and_epoch_words_agree_in_both_editions():
    assert fq.budget_text(30, 10, "en") == "at most 30 epochs, stopping after 10 epochs without improvement on validation"
    assert fq.budget_text(21, 3, "ru").startswith("не больше 21 эпохи, с остановкой после 3 эпох")
    assert fq.budget_text(40, 8, "ru", noun="step").startswith("не больше 40 шагов")
    assert fq.epochs_words(1, "en") == "1 epoch"


def test_fp32_match_says_whether_the_retrained_model_lands_in_the_interval():
    ref = {"test_accuracy": 0.95, "test_accuracy_lo": 0.93, "test_accuracy_hi": 0.97}
    assert "inside the interval" in fq.fp32_match_text(False, 0.94, "0.940", ref, "en")
    assert "outside the interval" in fq.fp32_match_text(False, 0.63, "0.630", ref, "en")
    assert "models chapter's TimesNet itself" in fq.fp32_match_text(True, 0.95, "0.950", ref, "en")


def test_recovered_fraction_is_one_at_fp32_zero_at_the_base_and_undefined_when_nothing_was_lost():
    assert fpeft.recovered(0.95, 0.90, 0.95, True) == pytest.approx(1.0)
    assert fpeft.recovered(0.90, 0.90, 0.95, True) == 0.0
    assert fpeft.recovered(0.20, 0.30, 0.10, False) == pytest.approx(0.5)  # loss: lower is better
    assert math.isnan(fpeft.recovered(0.9, 0.95, 0.95, True))
    rows = fpeft.recovery_rows([{"method": "qlora", "rank": 1, "val_loss": 0.2, "test_accuracy": 0.92}],
                               {"val_loss": 0.3, "test_accuracy": 0.90}, {"val_loss": 0.1, "test_accuracy": 0.95})
    text = fpeft.recovery_text(2, rows, {"val_loss": 0.3, "test_accuracy": 0.90}, {"val_loss": 0.1, "test_accuracy": 0.95},
                               "en")
    assert "r = 1: 50% of the validation loss, 40% of the test accuracy" in text


def test_recovered_validation_fraction_is_read_at_the_printed_loss_precision():
    """Losses that print alike give the same fraction: float noise below the third decimal (which moves with the
    thread count) cannot change what the page says."""
    base, fp32 = {"val_loss": 1.2608134, "test_accuracy": 0.3}, {"val_loss": 1.2531, "test_accuracy": 0.4}
    a = fpeft.recovery_rows([{"method": "qlora", "rank": 1, "val_loss": 1.26041, "test_accuracy": 0.3}], base, fp32)
    b = fpeft.recovery_rows([{"method": "qlora", "rank": 1, "val_loss": 1.26019, "test_accuracy": 0.3}], base, fp32)
    assert a[0]["recovered_val"] == b[0]["recovered_val"] == pytest.approx(1 / 8)


def test_unchanged_adapters_are_named_with_why_their_predictions_did_not_move():
    """An adapter that predicts what its base predicts is either the start kept by validation (epoch 0) or an epoch
    that moved the loss but no prediction; the sentence says which, per model, and agrees in number."""
    rows = [{"name": "QLoRA r = 3", "changed_preds": 0, "best_epoch": 0, "val_loss": 0.1029, "base_val_loss": 0.1029},
            {"name": "LoRA r = 3", "changed_preds": 0, "best_epoch": 1, "val_loss": 0.0984, "base_val_loss": 0.0990},
            {"name": "QDoRA r = 1", "changed_preds": 7, "best_epoch": 3, "val_loss": 0.12, "base_val_loss": 0.13}]
    en = fpeft.unchanged_text(rows, "en")
    assert en.startswith("Of 3 adapted models, 2 predict exactly")
    assert "epoch 0" in en and "for QLoRA r = 3;" in en
    assert "LoRA r = 3 (epoch 1: 0.098 against the base's 0.099)" in en and "QDoRA" not in en
    ru = fpeft.unchanged_text(rows[1:], "ru")
    assert ru.startswith("Из 2 моделей с адаптерами 1 предсказывает") and "эпоха 0" not in ru
    assert fpeft.unchanged_text(rows[2:], "en") == "Every adapted model (1) changes at least one test prediction of its base"


def test_below_majority_names_each_model_under_the_rate_and_reads_why_from_balanced_accuracy():
    from tscompress.findings import models as fm

    def row(model, acc, lo, hi, bacc, blo, bhi):
        return {"model": model, "test_accuracy": acc, "test_accuracy_lo": lo, "test_accuracy_hi": hi,
                "test_majority_rate": 0.72, "test_balanced_accuracy": bacc, "test_balanced_accuracy_lo": blo,
                "test_balanced_accuracy_hi": bhi}

    rows = [row("TimesNet", 0.75, 0.70, 0.81, 0.69, 0.62, 0.76), row("Transformer", 0.58, 0.51, 0.65, 0.61, 0.54, 0.68),
            row("iTransformer", 0.55, 0.48, 0.62, 0.52, 0.45, 0.60)]
    text = fm.below_majority_text(rows, 2, "en")
    assert "TimesNet" not in text and "Transformer (0.580" in text and "gave up accuracy" in text
    assert "iTransformer (0.550" in text and "did not learn" in text
    assert fm.below_majority_text(rows[:1], 2, "ru").startswith("При кросс-валидации каждая модель")


def test_recovery_text_says_which_runs_stopped_while_their_validation_loss_still_fell():
    """Selection on an accuracy over few validation cases may stop a run whose loss still falls; the paragraph says
    so with the chosen and the last epoch's losses, and says nothing when the loss did not fall (printed precision)."""
    rows = fpeft.recovery_rows([{"method": "full", "rank": None, "val_loss": 0.2886, "test_accuracy": 0.911}],
                               {"val_loss": 0.301, "test_accuracy": 0.908}, {"val_loss": 0.099, "test_accuracy": 0.949})
    falling = {"full fine-tuning": [{"epoch": 0, "val_loss": 0.301, "best": True},
                                    {"epoch": 1, "val_loss": 0.2886, "best": True},
                                    {"epoch": 6, "val_loss": 0.210, "best": False}]}
    flat = {"QLoRA r = 1": [{"epoch": 0, "val_loss": 0.301, "best": True},
                            {"epoch": 3, "val_loss": 0.30102, "best": False}]}
    args = ({"val_loss": 0.301, "test_accuracy": 0.908}, {"val_loss": 0.099, "test_accuracy": 0.949})
    en = fpeft.recovery_text(2, rows, *args, "en", histories={**falling, **flat}, select="balanced_accuracy", val_n=54)
    assert "kept falling — full fine-tuning (0.289 at epoch 1, 0.210 at epoch 6)" in en and "QLoRA" not in en
    assert "54 validation cases" in en
    ru = fpeft.recovery_text(2, rows, *args, "ru", histories=falling, select="balanced_accuracy", val_n=54)
    assert "на 54 валидационных примерах" in ru and "0,210 на эпохе 6" in ru
    assert "kept falling" not in fpeft.recovery_text(2, rows, *args, "en", histories=flat, select="balanced_accuracy",
                                                     val_n=54)
    assert "kept falling" not in fpeft.recovery_text(2, rows, *args, "en", histories=falling, select="loss", val_n=54)


def test_peft_sentences_moved_from_the_notebook_count_and_agree():
    from types import SimpleNamespace

    from tscompress.findings import peft as fp

    # DyLoRA against separate runs: compared at three decimals, so 0.4004 and 0.4001 are the same loss
    dy, sep = {1: 0.5, 2: 0.4004, 3: 0.3}, {1: 0.45, 2: 0.4001, 3: 0.31}
    assert fp.dylora_fit_text(dy, sep, "en") == ("the separately trained run has the lower validation loss (to three "
                                                 "decimals) at 1 of the 3 ranks compared, the higher at 1, the same at 1"
                                                 " — neither fits the validation set better overall")
    assert "ниже при 1 из 3 сравнённых рангов, выше — при 1, одинаковые — при 1" in fp.dylora_fit_text(dy, sep, "ru")
    assert "has a price" in fp.dylora_fit_text({1: 0.5}, {1: 0.4}, "en")
    assert "из 1 сравнённого ранга" in fp.dylora_fit_text({1: 0.5}, {1: 0.4}, "ru")
    assert fp.dylora_test_text(2, 5, "ru").startswith("на тесте значимое различие") and "из 5 сравнённых рангов" in \
        fp.dylora_test_text(2, 5, "ru")
    assert "no truncated rank differs" in fp.dylora_test_text(0, 5, "en")
    # test accuracies 0.500 and 0.540 on 50 cases: two cases apart
    assert fp.apart_text([0.5, 0.54], 50, "en") == "Their test accuracies lie at most 2 test cases apart."
    assert fp.apart_text([0.5, 0.52], 50, "ru") == "Их точности на тесте расходятся не больше чем на 1 тестовый пример."
    assert fp.apart_text([0.5, 0.5], 50, "en").startswith("All of them")
    # the smallest rank above the reference, whatever the order the ranks come in; numbers in the edition's format
    assert fp.beats_text({16: 0.95, 3: 0.9, 1: 0.8}, 0.85, "ru") == "r = 3 (точность на тесте 0,900 против 0,850)"
    assert fp.beats_text({1: 0.8, 3: 0.81}, 0.85, "en") == "none of the ranks tried (1, 3; best 0.810 against 0.850)"
    assert fp.time_text([1.0, 2.0, 3.0], 2.5, "en").startswith("2 of the 3 adapter runs are faster")
    assert fp.time_text([3.0], 2.5, "ru").startswith("ни один запуск")
    assert fp.time_text([1.0] * 21, 2.5, "ru").startswith("21 из 21 запуска с адаптерами быстрее")
    assert fp.time_text([1.0, 3.0, 3.0, 3.0], 2.5, "ru").startswith("1 из 4 запусков с адаптерами")
    tests = [("A", SimpleNamespace(significant=True, b=9, c=1, p_value=0.02)),
             ("B", SimpleNamespace(significant=False, b=1, c=1, p_value=1.0))]
    assert fp.changed_text(tests, "en") == ("1 of 2 adapted models differs significantly from their base before "
                                            "fine-tuning (cases only the adapted / only the base got right): "
                                            "A (9 / 1, p = 0.020)")
    assert fp.changed_text(tests[1:], "ru") == "значимо отличаются от своей базы до дообучения 0 из 1 модели с адаптерами"
    assert fp.changed_text(tests[:1] * 21, "ru").startswith("значимо отличается от своей базы до дообучения 21 из 21 модели")


def test_comparison_sentences_name_few_count_many_and_never_repeat_the_verdict():
    from tscompress.findings import comparison as fc

    row = {"method": "quantile", "setting": "int4", "base": "TimesNet", "stored_bytes": 40_000, "test_accuracy": 0.9,
           "p_value": 0.0004, "significant": True, "latency_b1_rel": 0.8}
    assert fc.recommendation_text(False, row, "ru") == ("Самый маленький вариант, не уступающий TimesNet fp32 на "
                                                        "валидации, — квантильное int4 (TimesNet, 39,1\u00a0КиБ, точность на "
                                                        "тесте 0,900).")
    # nothing to lose: said once at the top; the picks' section points back instead of saying it again
    top, note = fc.recommendation_text(True, None, "en"), fc.recommendation_note(True, None, "en")
    assert "recommends nothing" in top and note != top and "verdict at the top" in note
    assert fc.recommendation_note(False, row, "en") == fc.recommendation_text(False, row, "en")
    assert fc.significance_text([row], "en") == ("significantly different from the fp32 TimesNet: quantile int4 "
                                                 "(TimesNet, p < 0.001)")
    assert fc.significance_text([row] * 21, "ru").startswith("21 значимо отличается от TimesNet fp32 (")
    assert fc.significance_text([row] * 5, "en").startswith("5 differ significantly")  # after "of the N variants …,"
    assert fc.significance_text([], "ru").startswith("ни один из них")
    slow = {**row, "setting": "int8", "latency_b1_rel": 1.3}
    assert fc.latency_text([slow, row], "ru") == ("Относительная задержка при батче 1 — от 0,80× (квантильное int4) до "
                                                  "1,30× (квантильное int8) от времени TimesNet fp32.")
    assert fc.latency_text([], "en") == "No other TimesNet variant was saved for timing."


def test_majority_counts_agree_with_their_numbers_in_both_editions():
    from tscompress.findings import quantization as fq

    near = {"test_single_class": False, "test_accuracy_lo": 0.2, "test_accuracy_hi": 0.6, "test_majority_rate": 0.5}
    far = {**near, "test_accuracy_lo": 0.7, "test_accuracy_hi": 0.9}
    one_class = {**far, "test_single_class": True}  # predicts one class: at the majority rate whatever its interval
    assert [findings.at_majority(r) for r in (near, far, one_class)] == [True, False, True]
    assert findings.majority_count_text([near] + [far] * 20, "ru", "model_with_base") == (
        "1 из 21 модели (включая несжатую) неотличима от доли мажоритарного класса")
    assert findings.majority_count_text([near] * 3 + [far] * 3, "ru", "student") == (
        "3 из 6 учеников неотличимы от доли мажоритарного класса")
    assert findings.majority_count_text([near] + [far] * 4, "ru", "student").startswith("1 из 5 учеников неотличим ")
    assert findings.majority_count_text([far] * 6, "en", "student") == (
        "all 6 students can be told apart from the majority-class rate")  # never "0 of 6 … cannot be told apart"
    assert findings.majority_count_text([far] * 6, "ru", "student").startswith("все 6 учеников отличимы")
    assert fq.ptq_summary([near, far], 1, "en") == ("1 of 2 PTQ models cannot be told apart from the majority-class "
                                                    "rate, and 1 differs significantly from the fp32 model (exact "
                                                    "McNemar, p < 0.05)")
    assert fq.ptq_summary([near, far], 2, "ru").endswith(", и 2 значимо отличаются от модели fp32 (точный критерий "
                                                         "Мак-Немара, p < 0,05)")


def test_significant_counts_and_pairs_by_level_read_in_each_edition():
    from types import SimpleNamespace

    assert findings.significant_count_text(1, 16, "en") == "1 of 16 differences is significant at p < 0.05"
    assert findings.significant_count_text(3, 16, "en") == "3 of 16 differences are significant at p < 0.05"
    assert findings.significant_count_text(0, 16, "ru") == "значимых при p < 0,05 различий: 0 из 16"
    pair = (0.75, {"weight_error": 0.412, "test_accuracy": 0.751}, {"weight_error": 0.63, "test_accuracy": 0.392},
            SimpleNamespace(p_value=0.0001))
    assert findings.pair_by_level_text([pair], "ru") == (
        f"{names.percent(0.75, 'ru')}: ошибка весов 0,41 против 0,63, точность 0,751 против 0,392 (p < 0,001)")
    assert findings.pair_by_level_text([pair, pair], "en").count("; ") == 1


def test_ste_against_the_studys_qat_in_each_edition():
    fits = [(8, 0.412, 0.398, 61.2, 40.4), (4, 1.1, 0.52, 70, 41)]
    en = fq.ste_vs_qat_text(fits, 0.35, "en")
    assert en.startswith("at 8 bits the training loss at the selected epoch is 0.41 for the variant and 0.40 for the "
                         "STE (61 s against 40 s); at 4 bits") and en.endswith("; trained normally: 0.35")
    assert "на 4 битах функция потерь на обучении в выбранную эпоху — 1,10 у варианта и 0,52 у STE (70 с против 41 с)" \
        in fq.ste_vs_qat_text(fits, 0.35, "ru")


def test_peft_row_names_grid_note_and_dylora_spans_in_both_editions():
    assert fpeft.row_name("q4", "", "ru", "q4") == "квантильная 4-битная"
    assert fpeft.row_name("fp32", "", "en", "q4") == "pretrained fp32"
    assert fpeft.row_name("full", "q4", "en", "q4") == "full fine-tuning (quantile 4-bit start)"
    assert fpeft.row_name("qlora", "q4", "en", "q4", 3) == "QLoRA r = 3"
    assert fpeft.row_name("qdora", "nf4", "ru", "q4", 1) == "QDoRA r = 1 (база: NF4)"
    assert fpeft.grid_note([1, 3, 16], [1, 3, 16], "en") == "The rank grid here is the full profile's (1, 3, 16)."
    assert "ранги этого запуска: 1, 3." in fpeft.grid_note([1, 3], [1, 3, 16], "ru")
    assert fpeft.span([0.5, 0.5004]) == "0.500" and fpeft.span([0.5, 0.61]) == "0.500–0.610"
    assert fpeft.dylora_span_text([0.5, 0.5], "acc", "ru") == "равна 0.500 при каждом ранге"
    assert fpeft.dylora_span_text([0.5, 0.6], "loss", "ru") == "лежат в пределах 0.500–0.600"


def test_fast_forward_gain_reads_when_each_run_first_reached_the_plain_runs_lowest_loss():
    hist = lambda losses, sec: [{"epoch": e, "val_loss": v, "seconds": 0 if e == 0 else sec}  # noqa: E731
                                for e, v in enumerate(losses)]
    plain, fast = hist([1.0, 0.8, 0.7, 0.75], 2.0), hist([1.0, 0.69, 0.6], 3.0)
    g = fpeft.fast_forward_gain(plain, fast)
    assert (g.target, g.plain_epoch, g.plain_seconds, g.ff_epoch, g.ff_seconds) == (0.7, 2, 4.0, 1, 3.0)
    en = fpeft.fast_forward_texts(g, 5, 0.70, 0.65, 8, 40, "en")
    assert en["vs_hi"] == "above the 8-bit model's 0.650 by 2 test cases"
    assert en["result"].startswith("reaches it after 5 optimizer steps and 3.0 s (50% fewer steps, 25% less time")
    ru = fpeft.fast_forward_texts(g, 1, 0.65, 0.65, 8, 40, "ru")
    assert ru["vs_hi"] == "не выше, чем у 8-битной модели (0.650)"
    assert ru["result"].startswith("достигает их за 1 шаг оптимизатора")
    slow = fpeft.fast_forward_gain(plain, hist([1.0, 0.9, 0.8], 1.0))
    assert slow.ff_epoch is None and slow.ff_seconds is None
    assert fpeft.fast_forward_texts(slow, 5, 0.7, 0.65, 8, 40, "en")["result"] == \
        "does not reach it within the same number of epochs"
    assert "на 1 тестовый пример" in fpeft.fast_forward_texts(g, 5, 0.675, 0.65, 8, 40, "ru")["vs_hi"]


def _variant(vid, method, setting, stored, acc, base="TimesNet", lo=None, hi=None, majority=0.5):
    return {"id": vid, "chapter": "x", "method": method, "setting": setting, "base": base, "seed": 0,
            "stored_bytes": stored, "test_accuracy": acc, "test_accuracy_lo": acc - 0.1 if lo is None else lo,
            "test_accuracy_hi": acc + 0.1 if hi is None else hi, "test_majority_rate": majority,
            "test_single_class": False, "test_n": 40}


def _predictions(vid, correct):
    import pandas as pd

    return pd.DataFrame({"id": vid, "case": np.arange(len(correct)), "label": 0, "pred": 0,
                         "correct": np.asarray(correct, int)})


def test_chapter_finding_counts_directions_and_names_the_smallest_model_not_significantly_worse():
    import pandas as pd

    from tscompress.findings import chapter as fc

    base_correct = np.r_[np.ones(30), np.zeros(10)]
    worse = base_correct.copy(); worse[:20] = 0  # 20 cases only the fp32 model gets right: significantly worse
    same = base_correct.copy(); same[0], same[35] = 0, 1  # one each way: not significant
    fp32 = pd.DataFrame([_variant("fp32", "baseline", "", 1000, 0.75, majority=0.5)])
    own = pd.DataFrame([_variant("m90", "magnitude", "90%", 100, 0.25), _variant("m50", "magnitude", "50%", 500, 0.75),
                        _variant("q4", "quantile", "int4", 130, 0.75)])
    preds = pd.concat([_predictions("m90", worse), _predictions("m50", same), _predictions("q4", same)])
    paired = fc.against_fp32(own, preds, fp32, _predictions("fp32", base_correct), seed=0)
    assert list(paired["id"]) == ["m90", "m50", "q4"] and paired["significant"].tolist() == [True, False, False]
    en = fc.finding_text(paired, "en")
    assert en.startswith("1 of the 3 models of this chapter differs significantly from fp32 on the same test cases")
    assert "(0 better, 1 worse;" in en and "is quantile int4 (TimesNet): 0.1\u00a0KiB, 13.0% of" in en
    assert "majority class" not in en  # the fp32 model is clearly above its majority rate
    ru = fc.finding_text(paired, "ru")
    assert ru.startswith("В этой главе значимо отличается от своей модели fp32 на тех же тестовых примерах 1 из 3 моделей")
    summary = fc.summary_text(paired, "en")
    assert "magnitude pruning: 50% (0.5\u00a0KiB, test accuracy 0.750)" in summary and "quantile" in summary
    only_worse = fc.against_fp32(own.iloc[:1], preds, fp32, _predictions("fp32", base_correct), seed=0)
    assert fc.finding_text(only_worse, "en").endswith("every one of them is significantly worse.")
    assert "прунинг по модулю: единственная настройка значимо хуже" in fc.summary_text(only_worse, "ru")
    two_worse = fc.against_fp32(own.iloc[:1].assign(id="m95", setting="95%"), _predictions("m95", worse), fp32,
                                _predictions("fp32", base_correct), seed=0)
    both = pd.concat([only_worse, two_worse], ignore_index=True)
    assert "magnitude pruning: none of its 2 settings" in fc.summary_text(both, "en")
    weak = fp32.assign(test_accuracy_lo=0.4)  # interval reaches the majority rate
    text = fc.finding_text(fc.against_fp32(own, preds, weak, _predictions("fp32", base_correct), seed=0), "en")
    assert text.endswith("The fp32 TimesNet they are measured against is itself no better than always predicting "
                         "the majority class, so “not significantly worse” says little here.")
    assert fc.against_fp32(own.assign(seed=1), preds, fp32, _predictions("fp32", base_correct), seed=0).empty


def test_models_finding_reads_the_majority_rate_from_each_interval():
    from tscompress.findings.models import models_finding

    def row(model, acc, lo, hi):
        return {"model": model, "test_accuracy": acc, "test_accuracy_lo": lo, "test_accuracy_hi": hi,
                "test_majority_rate": 0.721, "test_single_class": False, "test_n": 61}

    rows = [row("TimesNet", 0.607, 0.475, 0.721), row("Transformer", 0.754, 0.639, 0.852)]
    en = models_finding(rows, {"model": "MiniRocket", "test_accuracy": 0.7}, "en")
    assert en == ("None of the 2 models lies clearly above the majority-class rate 0.721 on the test split (with its "
                  "whole 95% interval); the most accurate is Transformer, 0.754 [0.639, 0.852] (MiniRocket on the "
                  "same cases: 0.700).")
    rows.append(row("iTransformer", 0.9, 0.8, 0.95))
    ru = models_finding(rows, None, "ru", "cv")
    assert ru.startswith("Долю мажоритарного класса 0,721 в кросс-валидации по всем размеченным примерам всем своим "
                         "95-процентным интервалом превосходит 1 из 3 моделей: iTransformer;")
    clear = [dict(r, test_accuracy_lo=0.8, test_accuracy_hi=0.95) for r in rows]
    assert models_finding(clear, None, "en").startswith("All 3 models lie clearly above the majority-class rate")
    assert models_finding(clear, None, "ru").startswith("Все 3 модели превосходят долю мажоритарного класса")
