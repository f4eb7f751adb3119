"""The variants contract between method chapters and the comparison chapter."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from tscompress import variants
from tscompress.errors import DataError
from tscompress.results import ChapterRun
from tscompress.train import EvalResult


def _eval(labels, preds):
    labels, preds = np.asarray(labels), np.asarray(preds)
    acc = float(np.mean(labels == preds))
    return EvalResult(n=len(labels), loss=0.5, accuracy=acc, accuracy_ci=(acc - 0.1, acc + 0.1),
                      balanced_accuracy=acc, balanced_accuracy_ci=(acc - 0.1, acc + 0.1),
                      majority_rate=float(np.bincount(labels).max() / len(labels)), labels=labels, preds=preds,
                      logits=np.zeros((len(labels), 2)))


def test_pareto_front_on_a_hand_made_example():
    cost = [1, 2, 3, 4, 2, 5]
    acc = [0.5, 0.7, 0.6, 0.9, 0.7, 0.9]
    # (3, .6) is dominated by (2, .7); (5, .9) by (4, .9); the two (2, .7) tie and both stay
    assert variants.pareto_front(cost, acc).tolist() == [True, True, False, True, True, False]
    with pytest.raises(ValueError):
        variants.pareto_front([1, 2], [0.5])


def test_nonzero_counts_see_pruning_masks_and_dense_bytes_count_fp32():
    lin = nn.Linear(10, 4)
    assert variants.count_nonzero(lin) == 44 and variants.dense_bytes(lin) == 44 * 4
    prune.l1_unstructured(lin, "weight", amount=0.5)
    assert variants.count_nonzero(lin) == 20 + 4


def test_log_save_collect_round_trip(tmp_path):
    run = ChapterRun("01_x", tmp_path)
    log = variants.VariantLog(run)
    model = nn.Linear(3, 2)
    log.add(method="magnitude", setting="50%", evaluation=_eval([0, 1, 1, 1], [0, 1, 0, 1]), base="TimesNet", seed=0,
            model=model, train_seconds=1.5, save=True, case_index=[10, 11, 12, 13])
    log.add(method="int4", setting="quantile", evaluation=_eval([0, 1, 1, 1], [1, 1, 1, 1]), base="TimesNet", seed=0,
            params=6, stored_bytes=7)
    with pytest.raises(ValueError, match="twice"):
        log.add(method="int4", setting="quantile", evaluation=_eval([0], [0]), base="TimesNet", seed=0, params=1,
                stored_bytes=1)
    log.save()
    table, preds = variants.collect(tmp_path)
    assert list(table["id"]) == ["01_x/magnitude/50pct/TimesNet/s0", "01_x/int4/quantile/TimesNet/s0"]
    assert table.loc[0, "stored_bytes"] == 8 * 4 and table.loc[1, "stored_bytes"] == 7
    assert table.loc[0, "test_accuracy"] == 0.75 and table.loc[1, "model_file"] == ""
    loaded = variants.load_model(table.loc[0, "model_file"])
    x = torch.randn(5, 3)
    assert torch.equal(loaded(x), model(x))
    assert sorted(preds["case"].unique()) == [0, 1, 2, 3, 10, 11, 12, 13]
    assert preds.groupby("id")["correct"].sum().to_dict() == {"01_x/int4/quantile/TimesNet/s0": 3,
                                                               "01_x/magnitude/50pct/TimesNet/s0": 3}


def test_collect_refuses_incomplete_chapters(tmp_path):
    (tmp_path / "02_y").mkdir()
    pd.DataFrame({"id": ["a"]}).to_csv(tmp_path / "02_y" / "variants.csv", index=False)
    with pytest.raises(DataError, match="variant_predictions"):
        variants.collect(tmp_path, ["02_y"])
    pd.DataFrame({"id": ["a"]}).to_csv(tmp_path / "02_y" / "variant_predictions.csv", index=False)
    with pytest.raises(DataError, match="lacks columns"):
        variants.collect(tmp_path, ["02_y"])
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(DataError, match="cannot load"):
        variants.load_model(tmp_path / "bad.pt")


def test_validation_scores_are_recorded_and_old_tables_read_with_nan(tmp_path):
    run = ChapterRun("01_x", tmp_path)
    log = variants.VariantLog(run)
    log.add(method="int8", setting="quantile", evaluation=_eval([0, 1, 1, 1], [0, 1, 0, 1]), base="TimesNet", seed=0,
            params=6, stored_bytes=7, validation=_eval([0, 0, 1], [0, 1, 1]))
    log.add(method="int4", setting="quantile", evaluation=_eval([0, 1], [0, 1]), base="TimesNet", seed=0,
            params=6, stored_bytes=4)
    log.save()
    table, _ = variants.collect(tmp_path)
    assert table.loc[0, "val_n"] == 3 and table.loc[0, "val_accuracy"] == pytest.approx(2 / 3)
    assert table.loc[0, "test_balanced_accuracy_lo"] == pytest.approx(0.65)
    assert table.loc[1, "val_n"] == 0 and np.isnan(table.loc[1, "val_balanced_accuracy"])
    # a chapter table written before validation scores existed still reads, with NaN scores
    path = tmp_path / "01_x" / "variants.csv"
    old = pd.read_csv(path).drop(columns=variants.OPTIONAL_COLUMNS, errors="ignore")
    old.to_csv(path, index=False)
    again, _ = variants.collect(tmp_path)
    assert again["val_balanced_accuracy"].isna().all() and (again["val_n"] == 0).all()
    assert again["epochs_trained"].isna().all() and again["stopped_by"].isna().all()  # no budget recorded


def test_relative_model_files_are_read_against_each_variants_chapter_folder(tmp_path):
    import pandas as pd

    from tscompress.variants import relative_model_files

    results, own = tmp_path / "r", tmp_path / "r" / ".tmp-05"
    table = pd.DataFrame({"chapter": ["01_sparsification", "05_comparison", "00_models"],
                          "model_file": [str(results / "01_sparsification" / "models" / "a.pt"),
                                         str(own / "pipelines" / "b.tsq"), ""]})
    assert relative_model_files(table, results, "05_comparison", own) == ["models/a.pt", "pipelines/b.tsq", ""]
