"""Seeds as nodes of the run graph (tscompress.runner, tscompress.graph) and the mean and spread over seeds that the
chapter pages show (tscompress.seeds, tscompress.book)."""

import json

import numpy as np
import pandas as pd
import pytest

from tscompress import graph, seeds
from tscompress.errors import ConfigError, DataError
from tscompress.runner import CHAPTERS, resolve_seeds, seed_folder


def test_seeds_are_nodes_each_reading_its_own_seed():
    g = graph.plan(["A", "B"], sorted(CHAPTERS), seeds=[0, 1, 2])
    assert len(g.nodes) == 2 * 3 * len(CHAPTERS)
    for i, node in enumerate(g.nodes):
        for dep in g.inputs[node]:
            assert (dep.dataset, dep.seed) == (node.dataset, node.seed) and g.nodes.index(dep) < i
    # dataset, then seed, then chapter: the local executor finishes seed 0's chapters before seed 1 starts
    assert [n.seed for n in g.nodes[:len(CHAPTERS) + 1]] == [0] * len(CHAPTERS) + [1]
    assert str(graph.Node("A", "00_models", 2)) == "A/00_models/seed 2" and str(graph.Node("A", "00_models")) == "A/00_models"
    assert graph.plan(["A"], ["00_models"]).nodes == [graph.Node("A", "00_models")]  # no seeds: one node
    with pytest.raises(ConfigError, match="distinct"):
        graph.plan(["A"], ["00_models"], seeds=[1, 1])


def test_resolve_seeds_from_the_option_the_parameter_or_the_profile():
    assert resolve_seeds(None, {}, "full") == [0, 1, 2]  # several: one node each
    assert resolve_seeds(None, {}, "quick") is None  # one: the notebook runs it
    assert resolve_seeds(None, {"seed": 4}, "full") is None  # -p seed=N: that seed alone
    assert resolve_seeds("3,1", {}, "quick") == [3, 1]
    params = {}
    assert resolve_seeds("5", params, "full") is None and params == {"seed": 5}  # one seed: the notebook parameter
    for bad, match in (("a,b", "integers"), (",", "no seed"), ("1,1", "distinct"), ("-1,2", "distinct integers")):
        with pytest.raises(ConfigError, match=match):
            resolve_seeds(bad, {}, "quick")
    with pytest.raises(ConfigError, match="not both"):
        resolve_seeds("1,2", {"seed": 1}, "quick")


def test_the_first_seed_keeps_the_datasets_folder_and_the_others_get_their_own(tmp_path):
    assert seed_folder(tmp_path, None, None) == tmp_path
    assert seed_folder(tmp_path, 3, [3, 4]) == tmp_path
    assert seed_folder(tmp_path, 4, [3, 4]) == tmp_path / "seeds" / "4"
    assert seeds.seed_folders(tmp_path, [3, 4]) == {3: tmp_path, 4: tmp_path / "seeds" / "4"}


def _variants(seed, accs, extra=()):
    rows = [{"chapter": "01_sparsification", "method": m, "setting": "50%", "base": "TimesNet", "seed": seed,
             "test_accuracy": a, "test_accuracy_lo": a - 0.1, "test_accuracy_hi": a + 0.1,
             "test_balanced_accuracy": a - 0.2, "test_majority_rate": 0.7}
            for m, a in zip(("lowrank", "magnitude"), accs)]
    rows += [dict(rows[0], method=m, test_accuracy=a) for m, a in extra]
    return pd.DataFrame(rows)


def test_over_seeds_gives_every_variants_first_interval_mean_spread_and_range():
    table = seeds.over_seeds({0: _variants(0, [0.6, 0.8]), 1: _variants(1, [0.7, 0.8], [("importance", 0.5)]),
                              2: _variants(2, [0.8, 0.8])})
    assert list(table["method"]) == ["lowrank", "magnitude", "importance"]  # the first seed's order, then the rest
    low = table.iloc[0]
    assert low["n_seeds"] == 3 and low["first_seed"] == 0
    assert (low["first_accuracy"], low["first_accuracy_lo"], low["first_accuracy_hi"]) == pytest.approx((0.6, 0.5, 0.7))
    assert low["accuracy_mean"] == pytest.approx(0.7) and low["accuracy_sd"] == pytest.approx(0.1)
    assert (low["accuracy_min"], low["accuracy_max"]) == pytest.approx((0.6, 0.8))
    assert low["balanced_mean"] == pytest.approx(0.5) and low["majority_mean"] == pytest.approx(0.7)
    only = table.iloc[2]  # a variant one seed produced: no spread, and no first-seed interval to show
    assert only["n_seeds"] == 1 and np.isnan(only["accuracy_sd"]) and only["first_seed"] == 1
    en = seeds.display_over_seeds(table, "en")
    ru = seeds.display_over_seeds(table, "ru")
    assert list(en.iloc[0])[1:4] == ["0.600 [0.500, 0.700]", "0.700 ± 0.100", "0.600–0.800"]
    assert list(ru.iloc[0])[1:4] == ["0,600 [0,500; 0,700]", "0,700 ± 0,100", "0,600–0,800"]
    assert en.columns[1] == "seed 0: test accuracy [95% CI]" and ru.columns[1].startswith("сид 0")
    assert list(en.iloc[2])[1:4] == ["—", "0.500", "0.500"]
    assert "magnitude" in en.iloc[1, 0] and "TimesNet" in en.iloc[1, 0]
    with pytest.raises(DataError, match="no column 'test_majority_rate'"):
        seeds.over_seeds({0: _variants(0, [0.5, 0.5]).drop(columns="test_majority_rate")})


def test_chapter_tables_name_the_missing_seed_and_add_the_reference(tmp_path):
    (tmp_path / "00_models").mkdir()
    _variants(0, [0.6, 0.8]).assign(chapter="00_models").to_csv(tmp_path / "00_models" / "variants.csv", index=False)
    pd.DataFrame([{"model": "MiniRocket", "seed": 0, "test_accuracy": 0.9, "test_accuracy_lo": 0.8,
                   "test_accuracy_hi": 1.0, "test_balanced_accuracy": 0.85, "test_majority_rate": 0.7,
                   "ridge_alpha": 1.0}]).to_csv(tmp_path / "00_models" / "reference.csv", index=False)
    with pytest.raises(DataError, match=r"seeds/1/00_models/variants.csv is missing: 00_models has not run for seed 1"):
        seeds.chapter_tables(tmp_path, "00_models", [0, 1])
    table = seeds.over_seeds(seeds.chapter_tables(tmp_path, "00_models", [0]))
    assert list(table["base"]) == ["TimesNet", "TimesNet", "MiniRocket"]
    assert seeds.display_over_seeds(table, "en").iloc[2, 0] == "MiniRocket"


def test_a_compression_chapters_tables_start_with_the_models_it_compresses(tmp_path):
    for seed, folder in ((0, tmp_path), (1, tmp_path / "seeds" / "1")):
        (folder / "00_models").mkdir(parents=True)
        (folder / "01_sparsification").mkdir()
        models = pd.concat([_variants(seed, [0.7]).assign(chapter="00_models", method="baseline", setting="fp32",
                                                          base=b, test_accuracy=0.7 + 0.1 * seed) for b in
                            ("TimesNet", "Transformer")])
        models.drop(columns="test_majority_rate").assign(test_majority_rate=0.7).to_csv(
            folder / "00_models" / "variants.csv", index=False)
        _variants(seed, [0.6, 0.8]).to_csv(folder / "01_sparsification" / "variants.csv", index=False)
    table = seeds.over_seeds(seeds.chapter_tables(tmp_path, "01_sparsification", [0, 1]))
    # only the base the chapter compresses (TimesNet), first, with its own spread over the seeds
    assert list(zip(table["method"], table["base"])) == [("baseline", "TimesNet"), ("lowrank", "TimesNet"),
                                                         ("magnitude", "TimesNet")]
    assert table.iloc[0]["accuracy_mean"] == pytest.approx(0.75) and table.iloc[0]["n_seeds"] == 2
    assert seeds.display_over_seeds(table, "en").iloc[0, 0] == "TimesNet fp32"
    # the models chapter's own table is unchanged (no row twice)
    assert len(seeds.over_seeds(seeds.chapter_tables(tmp_path, "00_models", [0, 1]))) == 2


@pytest.mark.slow
@pytest.mark.ci
def test_seed_nodes_give_the_numbers_of_a_run_over_both_seeds_and_pages_show_their_spread(tmp_path):
    """``--seeds 0,1``: each seed runs the models and sparsification chapters as nodes of its own (the first into the
    dataset's folder, the second into seeds/1, reading seed 1's models); every variant's numbers equal those of one
    notebook run over both seeds, and the staged pages carry a table of the mean and spread over the two seeds."""
    from conftest import ROOT, tscompress
    from tscompress.book import stage_sources

    from concurrent.futures import ThreadPoolExecutor

    results, both = tmp_path / "smoke", tmp_path / "both"
    chapters = ["00_models", "01_sparsification"]

    def seed_nodes():
        return [tscompress("run", chapter, "--profile", "smoke", "--datasets", "BasicMotions", "--seeds", "0,1",
                           "--results-dir", str(results), "--quiet") for chapter in chapters]

    def one_run_over_both_seeds():  # as before seeds were nodes
        return tscompress("run", "00_models", "--profile", "smoke", "--datasets", "BasicMotions", "--results-dir",
                          str(both), "--quiet", "-p", 'overrides={"seeds": [0, 1]}')

    with ThreadPoolExecutor(2) as pool:  # side by side: a smoke chapter runs on one torch thread
        nodes, whole = pool.submit(seed_nodes), pool.submit(one_run_over_both_seeds)
        for proc in [*nodes.result(), whole.result()]:
            assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all("seed 1" in proc.stdout for proc in nodes.result())
    home = results / "BasicMotions"
    for seed, folder in ((0, home), (1, home / "seeds" / "1")):
        for chapter in chapters:
            manifest = json.loads((folder / chapter / "manifest.json").read_text())
            assert manifest["seeds"] == [seed] and manifest["parameters"]["seed"] == seed
    assert (home / "seeds" / "1" / "00_models" / "checkpoints" / "TimesNet_seed1.pt").is_file()
    table01 = pd.read_csv(home / "seeds" / "1" / "01_sparsification" / "variants.csv")
    assert set(table01["seed"]) == {1}

    one = pd.read_csv(both / "BasicMotions" / "00_models" / "variants.csv")
    split = pd.concat([pd.read_csv(f / "00_models" / "variants.csv") for f in (home, home / "seeds" / "1")])
    keep = ["id", "test_n", "test_accuracy", "test_accuracy_lo", "test_accuracy_hi", "test_balanced_accuracy",
            "test_majority_rate", "params", "stored_bytes"]
    pd.testing.assert_frame_equal(one[keep].sort_values("id").reset_index(drop=True),
                                  split[keep].sort_values("id").reset_index(drop=True))

    src = stage_sources(ROOT, results, chapters, tmp_path / "src", datasets=["BasicMotions"], seeds=[0, 1])
    expected = seeds.over_seeds(seeds.chapter_tables(home, "01_sparsification", [0, 1]))
    for lang in ("en", "ru"):
        page = (src / "book" / lang / "01_sparsification.seeds.md").read_text(encoding="utf-8")
        assert "../_generated/seeds/BasicMotions/01_sparsification." + lang + ".csv" in page
        shown = pd.read_csv(src / "book" / "_generated" / "seeds" / "BasicMotions" / f"01_sparsification.{lang}.csv",
                            dtype=str)
        pd.testing.assert_frame_equal(shown, seeds.display_over_seeds(expected, lang).astype(str))
        manifest = (src / "book" / "_generated" / f"manifest.{lang}.md").read_text(encoding="utf-8")
        assert "0, 1;" in manifest
    # one seed: no section
    src1 = stage_sources(ROOT, results, chapters, tmp_path / "src1", datasets=["BasicMotions"])
    assert (src1 / "book" / "en" / "01_sparsification.seeds.md").read_text() == ""
