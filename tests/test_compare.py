"""The comparison chapter's computations on hand-made variant tables."""

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from tscompress import compare, variants
from tscompress.metrics import mcnemar


def _table(rows):
    base = {c: 0 for c in variants.VARIANT_COLUMNS}
    return pd.DataFrame([{**base, "model_file": "", **r} for r in rows])


def _preds(vid, correct):
    return pd.DataFrame({"id": vid, "case": np.arange(len(correct)), "label": 0, "pred": 0,
                         "correct": np.asarray(correct, int)})


def test_mcnemar_on_a_known_contingency_table():
    # 10 cases only A got right, 2 only B: exact two-sided p = 2 * (C(12,0)+C(12,1)+C(12,2)) / 2**12
    a = np.array([1] * 10 + [0] * 2 + [1] * 30, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 30, bool)
    res = mcnemar(a, b)
    assert (res.b, res.c) == (10, 2)
    assert res.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert res.significant
    weak = mcnemar(np.array([1, 1, 1, 0, 1], bool), np.array([0, 0, 0, 1, 1], bool))  # 3 vs 1
    assert weak.p_value == pytest.approx(2 * (1 + 4) / 16) and not weak.significant


def test_paired_tests_against_the_baseline_of_the_same_seed():
    table = _table([
        {"id": "b0", "method": "baseline", "base": "TimesNet", "seed": 0, "test_accuracy": 0.5},
        {"id": "v0", "method": "int4", "base": "TimesNet", "seed": 0, "test_accuracy": 0.8},
        {"id": "v1", "method": "int4", "base": "TimesNet", "seed": 1, "test_accuracy": 0.8},
    ])
    base = [1] * 20 + [0] * 20
    better = [1] * 20 + [1] * 12 + [0] * 8
    preds = pd.concat([_preds("b0", base), _preds("v0", better), _preds("v1", better)])
    out = compare.paired_tests(table, preds).set_index("id")
    assert out.loc["v0", "only_variant"] == 12 and out.loc["v0", "only_baseline"] == 0
    assert out.loc["v0", "p_value"] == pytest.approx(2 / 2**12) and out.loc["v0", "significant"]
    assert math.isnan(out.loc["v1", "p_value"]) and not out.loc["v1", "significant"]  # no seed-1 baseline
    assert math.isnan(out.loc["b0", "p_value"])


def test_fronts_and_recommendations_chosen_on_validation():
    table = _table([
        {"id": "fp32", "method": "baseline", "base": "TimesNet", "stored_bytes": 1000, "test_accuracy": 0.80,
         "val_balanced_accuracy": 0.70},
        {"id": "int8", "method": "int8", "base": "TimesNet", "stored_bytes": 260, "test_accuracy": 0.81,
         "val_balanced_accuracy": 0.72},
        {"id": "int4", "method": "int4", "base": "TimesNet", "stored_bytes": 140, "test_accuracy": 0.78,
         "val_balanced_accuracy": 0.70},
        {"id": "prune", "method": "magnitude", "base": "TimesNet", "stored_bytes": 600, "test_accuracy": 0.95,
         "val_balanced_accuracy": 0.60},
        {"id": "unscored", "method": "nf", "base": "TimesNet", "stored_bytes": 100, "test_accuracy": 0.99,
         "val_balanced_accuracy": np.nan},
    ])
    marked = compare.mark_fronts(table, {"bytes": "stored_bytes"}).set_index("id")
    assert marked["front_bytes"].to_dict() == {"fp32": False, "int8": False, "int4": False, "prune": False,
                                               "unscored": True}
    rec = compare.recommend(table, [1.0, 0.2, 0.1]).set_index("budget")
    # the best test accuracy (prune, unscored) is never what decides
    assert rec.loc[1.0, "id"] == "int8" and rec.loc[0.2, "id"] == "int4" and rec.loc[0.1, "id"] == ""
    assert rec.loc[1.0, "val_drop"] == pytest.approx(-0.02) and rec.loc[1.0, "test_accuracy"] == 0.81
    assert compare.smallest_not_worse(table)["id"] == "int4"  # ties with fp32 on validation, smallest
    with pytest.raises(ValueError, match="test column"):
        compare.recommend(table, [1.0], criterion="test_accuracy")


def test_recommendation_does_not_change_when_the_test_labels_are_permuted():
    rng = np.random.default_rng(0)
    n = 60
    labels = rng.integers(0, 2, n)
    rows, preds = [], []
    for i, (method, size) in enumerate([("baseline", 1000), ("int8", 260), ("int4", 140), ("int2", 80),
                                        ("magnitude", 500), ("lowrank", 300)]):
        p = np.where(rng.random(n) < 0.7, labels, 1 - labels)
        rows.append({"id": method, "method": method, "base": "TimesNet", "seed": 0, "stored_bytes": size,
                     "val_balanced_accuracy": round(float(rng.uniform(0.5, 0.8)), 2)})
        preds.append(pd.DataFrame({"id": method, "case": np.arange(n), "label": labels, "pred": p}))
    preds = pd.concat(preds, ignore_index=True)

    def pipeline(labels_seen):
        pr = preds.assign(label=np.tile(labels_seen, len(rows)))
        pr["correct"] = (pr["label"] == pr["pred"]).astype(int)
        table = _table(rows)
        acc = pr.groupby("id")["correct"].mean()
        table["test_accuracy"] = table["id"].map(acc)
        tested = compare.paired_tests(table, pr)
        return (compare.recommend(tested, [1.0, 0.5, 0.25, 0.1])["id"].tolist(),
                compare.smallest_not_worse(tested)["id"], tested["test_accuracy"].tolist())

    picks, smallest, acc = pipeline(labels)
    for k in range(5):
        p2, s2, acc2 = pipeline(rng.permutation(labels))
        assert p2 == picks and s2 == smallest
    assert acc2 != acc  # the permutation did change what the test columns say


def test_nothing_to_lose_when_the_baseline_is_at_the_majority_rate_and_chance():
    row = {"test_accuracy": 0.72, "test_accuracy_lo": 0.60, "test_accuracy_hi": 0.82, "test_majority_rate": 0.72,
           "test_balanced_accuracy_lo": 0.45}
    assert compare.nothing_to_lose(row)
    assert not compare.nothing_to_lose({**row, "test_balanced_accuracy_lo": 0.55})  # learned the minority class
    assert not compare.nothing_to_lose({**row, "test_accuracy_lo": 0.75, "test_accuracy": 0.85})
    assert compare.nothing_to_lose({**row, "test_balanced_accuracy_lo": np.nan})


def test_dedupe_lists_one_model_recorded_under_two_settings_once():
    table = _table([
        {"id": "i75", "chapter": "01", "method": "importance", "setting": "75%", "base": "T", "stored_bytes": 10,
         "params_nonzero": 5},
        {"id": "i90", "chapter": "01", "method": "importance", "setting": "90%", "base": "T", "stored_bytes": 10,
         "params_nonzero": 5},
        {"id": "i50", "chapter": "01", "method": "importance", "setting": "50%", "base": "T", "stored_bytes": 10,
         "params_nonzero": 5},  # same size, other predictions: kept
    ])
    preds = pd.concat([_preds("i75", [1, 0, 1]), _preds("i90", [1, 0, 1]), _preds("i50", [1, 1, 1])])
    preds["pred"] = preds["correct"]
    out = compare.dedupe(table, preds)
    assert out["id"].tolist() == ["i75", "i50"]
    assert out.set_index("id").loc["i75", "also_settings"] == "90%"
    assert out.set_index("id").loc["i75", "duplicates"] == "i90"


def test_latency_is_measured_for_saved_models_relative_to_the_baseline(tmp_path):
    torch.manual_seed(0)
    small, big = nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), nn.Sequential(nn.Flatten(), nn.Linear(12, 512),
                                                                             nn.Linear(512, 2))
    variants.save_model(big, tmp_path / "big.pt")
    variants.save_model(small, tmp_path / "small.pt")
    table = _table([
        {"id": "b", "method": "baseline", "base": "M", "seed": 0, "model_file": str(tmp_path / "big.pt")},
        {"id": "s", "method": "x", "base": "M", "seed": 0, "model_file": str(tmp_path / "small.pt")},
        {"id": "n", "method": "y", "base": "M", "seed": 0, "model_file": ""},
    ])
    out = compare.measure_latencies(table, torch.randn(5, 3, 4), batch_sizes=(1, 8), repeats=3).set_index("id")
    assert out.loc["b", "latency_b1_rel"] == 1.0 and out.loc["b", "latency_b8"] > 0
    assert math.isnan(out.loc["n", "latency_b8"])


def test_claims_count_dominated_sparsified_variants_and_say_what_is_missing():
    rows = [
        {"id": "b", "chapter": "00_models", "method": "baseline", "setting": "fp32", "base": "TimesNet",
         "stored_bytes": 1000, "test_accuracy": 0.70},
        {"id": "s1", "chapter": "01_sparsification", "method": "magnitude", "setting": "50%", "base": "TimesNet",
         "stored_bytes": 500, "test_accuracy": 0.68},
        {"id": "s2", "chapter": "01_sparsification", "method": "lowrank", "setting": "90%", "base": "TimesNet",
         "stored_bytes": 100, "test_accuracy": 0.75},
        {"id": "q1", "chapter": "03_quantization", "method": "quantile", "setting": "int4", "base": "TimesNet",
         "stored_bytes": 150, "test_accuracy": 0.69},
    ]
    table = _table(rows)
    assert compare.dominated(table.iloc[[1, 2]], table.iloc[[3]]).tolist() == [True, False]
    en = compare.claims(table, "en")
    assert en["per_bit"].startswith("1 of 2 sparsified") and "partly" in en["per_bit"]
    assert "quantile int4, 0.1\u00a0KiB, accuracy 0.690" in en["per_bit"]  # display names, edition's format
    assert en["combined"].startswith("not checked")
    assert "квантильное int4, 0,1\u00a0КиБ, точность 0,690" in compare.claims(table, "ru")["per_bit"]
    ru = compare.claims(table.iloc[[0, 1]], "ru")
    assert ru["per_bit"].startswith("не проверено") and "квантования" in ru["per_bit"]


def test_pipeline_sources_take_saved_models_of_the_listed_chapters_and_settings():
    rows = [
        {"id": "a", "chapter": "01_sparsification", "setting": "50%", "model_file": "variants/a.pt"},
        {"id": "b", "chapter": "01_sparsification", "setting": "90%", "model_file": "variants/b.pt"},
        {"id": "s", "chapter": "01_sparsification", "setting": "50%", "model_file": "variants/s.pt",
         "method": "sparse_lowrank"},
        {"id": "c", "chapter": "01_sparsification", "setting": "50%", "model_file": ""},
        {"id": "d", "chapter": "02_distillation", "setting": "alpha=0.5", "model_file": "variants/d.pt"},
        {"id": "e", "chapter": "03_quantization", "setting": "int4", "model_file": "variants/e.pt"},
    ]
    table = _table(rows)
    only = compare.pipeline_sources(table, settings={"01_sparsification": ["50%"]})
    assert only["id"].tolist() == ["a", "s", "d"]
    assert compare.pipeline_sources(table)["id"].tolist() == ["a", "b", "s", "d"]
    assert compare.pipeline_sources(table, skip_methods=["sparse_lowrank"])["id"].tolist() == ["a", "b", "d"]


def test_smoke_comparison_keeps_every_variant_and_real_file_sizes(smoke_results):
    """The comparison table holds every variant every chapter wrote (no silent drops) plus its own
    combined pipelines, whose stored sizes are the sizes of their files on disk."""
    root, _ = smoke_results
    results = root / "BasicMotions"
    from tscompress.runner import CHAPTERS

    written = set()
    for chapter in CHAPTERS["05_comparison"]:
        written |= set(pd.read_csv(results / chapter / "variants.csv")["id"])
    own = set(pd.read_csv(results / "05_comparison" / "variants.csv")["id"])
    table = pd.read_csv(results / "05_comparison" / "comparison.csv")
    assert set(table["id"]) == written | own
    assert table["id"].is_unique
    for row in table[table["chapter"] == "05_comparison"].itertuples():
        stem = row.source.split("/", 1)[1]
        bits = row.setting.rsplit("+int", 1)[1]
        assert (results / "05_comparison" / "pipelines" / f"{stem}.int{bits}.tsq").stat().st_size == row.stored_bytes
    for row in table[table["model_file"].fillna("").astype(str).ne("")].itertuples():
        assert (results / row.chapter / row.model_file).is_file()


def test_side_by_side_latency_times_every_model_and_restores_modes():
    from tscompress.latency import side_by_side

    small, big = nn.Linear(4, 2).train(), nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)]).eval()
    times = side_by_side({"small": small, "big": nn.Sequential(nn.Linear(4, 256), big)}, torch.randn(64, 4), repeats=3)
    assert set(times) == {"small", "big"} and all(v > 0 for v in times.values())
    assert times["big"] > times["small"]
    assert small.training  # mode restored


def test_mcnemar_cell_shows_the_counts_p_and_a_star_or_a_dash():
    row = {"only_variant": 3, "only_baseline": 11, "p_value": 0.0574, "significant": False}
    assert compare.mcnemar_cell(row, "en") == "3 / 11, 0.06"
    assert compare.mcnemar_cell({**row, "p_value": 0.012, "significant": True}, "ru") == "3 / 11, 0,01 *"
    assert compare.mcnemar_cell({"p_value": float("nan")}, "en") == "—"


def test_recommendations_table_shows_each_budget_in_the_editions_words_and_dashes_where_nothing_fits():
    table = _table([
        {"id": "fp32", "method": "baseline", "base": "TimesNet", "stored_bytes": 1000, "test_accuracy": 0.80,
         "test_balanced_accuracy": 0.75, "val_balanced_accuracy": 0.70, "significant": False},
        {"id": "int4", "method": "quantile", "setting": "int4", "base": "TimesNet", "stored_bytes": 140,
         "test_accuracy": 0.625, "test_balanced_accuracy": 0.6, "val_balanced_accuracy": 0.72, "significant": True,
         "epochs_trained": 0, "stopped_by": ""},
    ])
    rec = compare.recommend(table, [1.0, 0.5, 0.1])
    ru = compare.recommendations_table(rec, table, "ru")
    assert list(ru.iloc[:, 0]) == ["100%", "50%", "10%"]
    assert ru.iloc[0, 1] == ru.iloc[1, 1] != "—" and ru.iloc[0, 1].endswith("(TimesNet)") and ru.iloc[2, 1] == "—"
    assert list(ru.iloc[:, 4]) == ["0,625", "0,625", "—"] and list(ru.iloc[:, 6]) == ["да", "да", "—"]
    en = compare.recommendations_table(rec, table, "en")
    assert list(en.iloc[:, 6]) == ["yes", "yes", "—"] and en.iloc[2, 2] == "—" and en.iloc[0, 2] == "0.1"


def test_the_pages_comparison_tables_are_the_librarys_display_of_the_saved_tables(smoke_results):
    """What the comparison page shows (table_all, recommendations, table_claims per edition) is
    :func:`compare.comparison_table`, :func:`compare.recommendations_table` and :func:`claims.display` of the
    chapter's saved tables."""
    from tscompress import claims

    root, _ = smoke_results
    out = root / "BasicMotions" / "05_comparison"
    cmp = pd.read_csv(out / "comparison.csv", keep_default_na=False, na_values=[""])
    cmp["id"] = cmp["id"].astype(str)
    rec = pd.read_csv(out / "recommendations.csv", keep_default_na=False, na_values=[""])
    rec["id"] = rec["id"].fillna("").astype(str)
    claim_table = pd.read_csv(out / "claims.csv")
    for lang in ("en", "ru"):
        for name, made in (("table_all", compare.comparison_table(cmp, lang)),
                           ("recommendations", compare.recommendations_table(rec, cmp, lang)),
                           ("table_claims", claims.display(claim_table, lang))):
            shown = pd.read_csv(out / f"{name}.{lang}.csv", dtype=str, keep_default_na=False)
            expected = pd.read_csv(io.StringIO(made.to_csv(index=False)), dtype=str, keep_default_na=False)
            pd.testing.assert_frame_equal(shown, expected, obj=f"{name}.{lang}")
