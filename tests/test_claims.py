"""The study's conclusions as paired tests (tscompress.claims)."""

import numpy as np
import pandas as pd
import pytest

from tscompress import claims


def _variant(chapter, method, setting, stored, val, base="TimesNet", seed=0):
    vid = f"{chapter}/{method}/{setting}/{base}/s{seed}"
    return {"id": vid, "chapter": chapter, "method": method, "setting": setting, "base": base, "seed": seed,
            "stored_bytes": stored, "val_balanced_accuracy": val}


def _table(rows, correct):
    """A comparison table and its per-case predictions: ``correct`` maps id -> 0/1 vector."""
    table = pd.DataFrame(rows)
    preds = pd.concat([pd.DataFrame({"id": vid, "case": np.arange(len(c)), "correct": np.asarray(c, dtype=int)})
                       for vid, c in correct.items()], ignore_index=True)
    return table, preds


def _pair(n_both, n_only_a, n_only_b, n_neither=0):
    a = [1] * n_both + [1] * n_only_a + [0] * n_only_b + [0] * n_neither
    b = [1] * n_both + [0] * n_only_a + [1] * n_only_b + [0] * n_neither
    return a, b


def _verdict(table, preds, claim_id):
    out = claims.check(table, preds, n_boot=500)
    return out.set_index("claim").loc[claim_id]


def _sparsify_case(only_mag, only_low):
    mag = _variant("01_sparsification", "magnitude", "50%", 100, 0.8)
    low = _variant("01_sparsification", "lowrank", "50%", 60, 0.8)
    a, b = _pair(40, only_mag, only_low)
    return _table([mag, low], {mag["id"]: a, low["id"]: b})


def test_superiority_holds_fails_or_cannot_tell():
    assert _verdict(*_sparsify_case(15, 0), "magnitude_most_accurate")["verdict"] == "holds"
    assert _verdict(*_sparsify_case(0, 15), "magnitude_most_accurate")["verdict"] == "does_not_hold"
    row = _verdict(*_sparsify_case(3, 2), "magnitude_most_accurate")
    assert row["verdict"] == "cannot_tell" and row["pairs"] == 1 and row["better"] == 0 and row["worse"] == 0
    # the other side of the same pair: importance vs low-rank has no importance variant here
    assert _verdict(*_sparsify_case(15, 0), "importance_beats_lowrank")["verdict"] == "not_tested"


def test_a_counter_example_defeats_a_general_claim():
    rows, correct = [], {}
    for level, (only_a, only_b) in {"50%": (15, 0), "75%": (0, 15)}.items():
        mag = _variant("01_sparsification", "magnitude", level, 100, 0.8)
        imp = _variant("01_sparsification", "importance", level, 60, 0.8)
        rows += [mag, imp]
        correct[mag["id"]], correct[imp["id"]] = _pair(40, only_a, only_b)
    row = _verdict(*_table(rows, correct), "magnitude_most_accurate")
    assert (row["pairs"], row["better"], row["worse"], row["verdict"]) == (2, 1, 1, "does_not_hold")


def test_holm_matches_hand_computation():
    adjusted = claims.holm([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.09, 0.09 (monotone), 0.2
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.2])
    assert claims.holm([]).size == 0


def test_holm_can_take_a_single_significant_pair_away():
    """Five pairs at p ~ 0.03 each: one would be significant alone, none is after Holm."""
    rows, correct = [], {}
    for level in ("10%", "20%", "30%", "40%", "50%"):
        imp = _variant("01_sparsification", "importance", level, 60, 0.8)
        low = _variant("01_sparsification", "lowrank", level, 60, 0.8)
        rows += [imp, low]
        correct[imp["id"]], correct[low["id"]] = _pair(30, 9, 1)  # exact McNemar p = 0.021
    row = _verdict(*_table(rows, correct), "importance_beats_lowrank")
    assert row["pairs"] == 5 and row["verdict"] == "cannot_tell"


def _int4_case(only_fp32, n_both=200, only_int4=0):
    base = {**_variant("00_models", "baseline", "fp32", 1000, 0.8)}
    q4 = _variant("03_quantization", "quantile", "int4", 130, 0.8)
    a, b = _pair(n_both, only_int4, only_fp32)
    return _table([base, q4], {q4["id"]: a, base["id"]: b})


def test_noninferiority_needs_a_narrow_paired_interval():
    assert _verdict(*_int4_case(0), "int4_loses_little")["verdict"] == "holds"  # identical predictions
    assert _verdict(*_int4_case(30), "int4_loses_little")["verdict"] == "does_not_hold"
    # 3 cases lost, 1 won out of 12: not significant, but the interval is far too wide on 12 cases
    assert _verdict(*_int4_case(3, n_both=8, only_int4=1), "int4_loses_little")["verdict"] == "cannot_tell"


def test_per_bit_pairs_by_size_and_validation_only():
    sparse = _variant("01_sparsification", "lowrank", "75%", 250, 0.7)
    small_good = _variant("03_quantization", "quantile", "int2", 200, 0.9)
    small_bad = _variant("03_quantization", "uniform", "int2", 190, 0.5)
    too_big = _variant("03_quantization", "quantile", "int4", 400, 0.99)
    rows = [sparse, small_good, small_bad, too_big]
    a, b = _pair(30, 15, 0)
    correct = {small_good["id"]: a, sparse["id"]: b, small_bad["id"]: b, too_big["id"]: b}
    out = claims.check(*_table(rows, correct), n_boot=200).set_index("claim")
    row = out.loc["quantization_beats_sparsification_per_bit"]
    # paired with the int2 quantile model: at most as large and best on validation (not the larger int4)
    assert row["pairs"] == 1 and row["verdict"] == "holds"
    assert "int2" in row["evidence_en"] and "int4" not in row["evidence_en"]
    # the test labels play no part in the pairing: flipping who is right on the test cases flips the verdict,
    # it does not pick another partner
    flipped = {small_good["id"]: b, sparse["id"]: a, small_bad["id"]: a, too_big["id"]: a}
    row2 = claims.check(*_table(rows, flipped), n_boot=200).set_index("claim").loc[
        "quantization_beats_sparsification_per_bit"]
    assert row2["verdict"] == "does_not_hold" and "int2" in row2["evidence_en"]


def test_claims_by_dataset_keeps_claim_order_and_marks_missing():
    a = pd.DataFrame({"claim": ["ofa_beats_kl", "magnitude_most_accurate"], "verdict": ["holds", "cannot_tell"],
                      "text_en": ["x", "y"], "text_ru": ["x", "y"]})
    b = pd.DataFrame({"claim": ["magnitude_most_accurate"], "verdict": ["does_not_hold"],
                      "text_en": ["y"], "text_ru": ["y"]})
    t = claims.claims_by_dataset({"Heartbeat": a, "JapaneseVowels": b}, "en")
    assert list(t.columns)[1:] == ["Heartbeat", "JapaneseVowels"]
    assert len(t) == len(claims.CLAIMS)
    first = t.iloc[0]
    assert first["Heartbeat"] == "cannot be told apart" and first["JapaneseVowels"] == "does not hold"
    ofa = t[t.iloc[:, 0].str.startswith("OFA")].iloc[0]
    assert ofa["Heartbeat"] == "holds" and ofa["JapaneseVowels"] == "not tested"
    ru = claims.claims_by_dataset({"Heartbeat": a}, "ru")
    assert ru.columns[0] == "Вывод исследования" and "неразличимо" in set(ru["Heartbeat"])


def test_paired_interval_is_paired():
    a = np.array([1, 1, 0, 0, 1] * 20)
    lo, hi = claims.paired_difference_interval(a, a)
    assert lo == hi == 0.0  # the same predictions: no difference in any resample
    with pytest.raises(ValueError):
        claims.paired_difference_interval(a, a[:-1])


def test_the_plain_student_is_not_a_distilled_model():
    """KL at α = 0 trains on the labels alone: the distillation claims never pick it, however well it validates."""
    rows, correct = [], {}
    for k, (student, setting, method, val) in enumerate((
            ("Transformer", "alpha=0", "kl", 0.99), ("Transformer", "alpha=0.5", "kl", 0.8),
            ("Transformer", "ofa=0.5, kd=0.25", "ofa", 0.7), ("iTransformer", "alpha=0.5", "kl", 0.8))):
        v = _variant("02_distillation", method, setting, 100, val, base=student)
        rows.append(v)
        correct[v["id"]] = [1, 0, 1, 1] * 5 + [(k >> i) & 1 for i in range(4)]  # every pair has discordant cases
    out = claims.check(*_table(rows, correct), n_boot=100).set_index("claim")
    for claim in ("ofa_beats_kl", "transformer_better_student"):
        assert "α = 0 " not in out.loc[claim, "evidence_en"] + " " and "α = 0.5" in out.loc[claim, "evidence_en"]


# ------------------------------------------------------------------ sound comparisons
def _with_interval(v, acc, lo, hi, majority):
    return {**v, "test_accuracy": acc, "test_accuracy_lo": lo, "test_accuracy_hi": hi, "test_majority_rate": majority,
            "test_single_class": False}


def test_a_pair_with_a_majority_rate_variant_never_decides_a_verdict():
    mag = _with_interval(_variant("01_sparsification", "magnitude", "50%", 100, 0.8), 0.9, 0.85, 0.95, 0.3)
    low = _with_interval(_variant("01_sparsification", "lowrank", "50%", 60, 0.8), 0.32, 0.25, 0.4, 0.3)
    a, b = _pair(20, 40, 0)
    row = _verdict(*_table([mag, low], {mag["id"]: a, low["id"]: b}), "magnitude_most_accurate")
    assert row["verdict"] == "uninformative" and row["dropped"] == 1 and row["pairs"] == 0
    assert "majority" in row["evidence_en"] and "мажоритарного" in row["evidence_ru"]
    # above the majority rate, the same pair decides it
    low = _with_interval(low, 0.6, 0.5, 0.7, 0.3)
    row = _verdict(*_table([mag, low], {mag["id"]: a, low["id"]: b}), "magnitude_most_accurate")
    assert row["verdict"] == "holds" and row["dropped"] == 0


def test_a_claim_about_a_collapse_keeps_its_collapsed_side():
    q8 = _with_interval(_variant("03_quantization", "qat", "int8", 100, 0.8), 0.9, 0.85, 0.95, 0.3)
    q4 = _with_interval(_variant("03_quantization", "qat", "int4", 60, 0.3), 0.2, 0.15, 0.25, 0.3)
    a, b = _pair(10, 40, 0)
    row = _verdict(*_table([q8, q4], {q8["id"]: a, q4["id"]: b}), "qat_int8_beats_int4")
    assert row["verdict"] == "holds" and row["dropped"] == 0


def test_same_level_means_the_same_fraction_actually_removed():
    imp = {**_variant("01_sparsification", "importance", "75%", 100, 0.8), "removed": 0.574}
    low75 = {**_variant("01_sparsification", "lowrank", "75%", 60, 0.8), "removed": 0.75}
    low50 = {**_variant("01_sparsification", "lowrank", "50%", 80, 0.8), "removed": 0.55}
    a, b = _pair(20, 15, 0)
    table, preds = _table([imp, low75, low50], {imp["id"]: a, low75["id"]: b, low50["id"]: b})
    out = claims.check(table, preds, n_boot=100).set_index("claim").loc["importance_beats_lowrank"]
    assert out["pairs"] == 1 and "50" in out["evidence_en"]  # paired with the 55% low-rank model, not the 75% one
    far = {**low50, "removed": 0.40}
    table, preds = _table([imp, low75, far], {imp["id"]: a, low75["id"]: b, far["id"]: b})
    out = claims.check(table, preds, n_boot=100).set_index("claim").loc["importance_beats_lowrank"]
    assert out["pairs"] == 0 and out["unmatched"] == 1 and out["verdict"] == "not_tested"


def test_strongest_names_a_pair_with_discordant_cases_and_a_lone_pair_is_said():
    rows, correct = [], {}
    for level, (only_a, only_b) in {"50%": (0, 0), "75%": (15, 0)}.items():
        mag = _variant("01_sparsification", "magnitude", level, 100, 0.8)
        imp = _variant("01_sparsification", "importance", level, 60, 0.8)
        rows += [mag, imp]
        correct[mag["id"]], correct[imp["id"]] = _pair(40, only_a, only_b)
    row = _verdict(*_table(rows, correct), "magnitude_most_accurate")
    assert row["verdict"] == "holds" and "15 / 0" in row["evidence_en"] and "0 / 0" not in row["evidence_en"]
    assert "single significant pair" in row["evidence_en"] and "одной значимой паре" in row["evidence_ru"]
