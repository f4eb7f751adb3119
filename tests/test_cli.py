"""The command line: real runs and bad input. Bad input ends with one line and a non-zero exit."""

import json
import shutil
import subprocess

import pytest

from conftest import tscompress


def test_run_models_chapter_smoke(smoke_results):
    root, proc = smoke_results
    results = root / "BasicMotions"
    out = results / "00_models"
    for name in ["table1.csv", "table1.en.csv", "table1.ru.csv", "table2.csv", "fig_curves.en.png",
                 "fig_curves.ru.svg", "fig_accuracy.en.png", "manifest.json", "numbers.json", "run.json",
                 "00_models.ipynb", "test_predictions.csv", "speed.csv"]:
        assert (out / name).is_file(), name
    for model in ("TimesNet", "Transformer", "iTransformer"):
        assert (out / "checkpoints" / f"{model}_seed0.pt").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and manifest["dataset"] == "BasicMotions"
    assert manifest["protocol"] == "official"
    assert manifest["environment"]["torch"] and "wall_seconds" in manifest
    # the CLI tells where things are and reports accuracy with n, interval and the majority rate
    assert "manifest:" in proc.stdout and "table1.csv" in proc.stdout
    assert "95% CI" in proc.stdout and "majority rate" in proc.stdout and "n=" in proc.stdout
    assert not list(results.glob(".tmp-*"))
    # the kernel's own start-up and shutdown chatter goes to a log beside the results, not the terminal
    assert (out / "kernel.log").is_file()
    assert "IPKernelApp" not in proc.stderr, proc.stderr


def test_each_dataset_runs_into_its_own_folder(smoke_results):
    """--datasets A,B runs a chapter once per dataset, into <results>/<dataset>/; channels, lengths and
    classes come from the data (JapaneseVowels: 12 channels, unequal lengths, 9 classes, official split)."""
    from conftest import SMOKE_DATASETS

    root, proc = smoke_results
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == sorted(SMOKE_DATASETS)
    manifest = json.loads((root / "JapaneseVowels" / "00_models" / "manifest.json").read_text())
    data = next(iter(manifest["data"].values()))
    assert manifest["dataset"] == "JapaneseVowels" and manifest["protocol"] == "official"
    assert data["n_channels"] == 12 and data["n_classes"] == 9 and data["seq_len"] == 29
    assert any("unequal" in n or "padded" in n for n in data["notes"]), data["notes"]
    for dataset in SMOKE_DATASETS:
        assert f"on {dataset}" in proc.stdout
        assert json.loads((root / dataset / "00_models" / "run.json").read_text())["parameters"]["dataset"] == dataset


def test_rerun_is_skipped_when_nothing_changed(smoke_results):
    results, _ = smoke_results
    proc = tscompress("run", "00_models", "--profile", "smoke", "--results-dir", str(results), "--quiet",
                      "-p", "dataset=BasicMotions")
    assert proc.returncode == 0, proc.stderr
    assert "unchanged since its last run" in proc.stdout
    proc = tscompress("run", "00_models", "--profile", "smoke", "--results-dir", str(results), "--quiet",
                      "--datasets", "JapaneseVowels,BasicMotions")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("unchanged since its last run") == 2


def _one_line_error(proc):
    assert proc.returncode != 0
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) <= 2, proc.stderr  # argparse prints usage + error; ours print one line
    return lines[-1]


@pytest.mark.parametrize("args,expect", [
    (["run", "99_nothing"], "unknown chapter"),
    (["run", "00_models", "--profile", "huge"], "unknown profile"),
    (["run", "00_models", "-p", "colour=blue"], "unknown parameter"),
    (["run", "00_models", "-p", "seed=abc"], "takes int"),
    (["run", "00_models", "-p", "models.epochs=many"], "models.epochs"),
    (["run", "00_models", "-p", "novalue"], "key=value"),
    (["run", "00_models", "-p", "train.recipe=magic"], "unknown training recipe"),
    (["run", "00_models", "--data-dir", "/nonexistent/folder"], "not a folder"),
    (["book", "--lang", "de"], "unknown edition"),
    (["run", "00_models", "--datasets", "BasicMotions,BasicMotions"], "more than once"),
    (["run", "00_models", "--datasets", "../elsewhere"], "not a dataset name"),
    (["run", "00_models", "--datasets", ","], "no dataset"),
    (["run", "00_models", "--datasets", "BasicMotions", "-p", "dataset=BasicMotions"], "not both"),
])
def test_bad_arguments_fail_with_one_line(args, expect, tmp_path, capsys):
    """The command's own checks, in this process (``cli.main`` is what ``python -m tscompress`` calls; the process
    around it is checked once below, for the one-line contract of a real run)."""
    from tscompress import cli

    try:
        code = cli.main([*args, "--results-dir", str(tmp_path / "r")])
    except SystemExit as exc:  # argparse's own errors exit from parse_args
        code = exc.code
    err = capsys.readouterr().err
    line = _one_line_error(subprocess.CompletedProcess(args, code, "", err))
    assert expect in line, line
    assert not list((tmp_path / "r").rglob("00_models"))


def test_bad_argument_in_a_real_process_is_one_line(tmp_path):
    """The same contract through ``python -m tscompress`` itself: nothing printed at import time adds lines."""
    for args, expect in ((["run", "00_models", "-p", "seed=abc"], "takes int"), (["book", "--lang", "de"], "unknown edition")):
        line = _one_line_error(tscompress(*args, "--results-dir", str(tmp_path / "r")))
        assert expect in line, line


def test_unknown_dataset_fails_cleanly_and_leaves_nothing(tmp_path):
    results = tmp_path / "r"
    proc = tscompress("run", "00_models", "--profile", "smoke", "--results-dir", str(results), "--quiet",
                      "-p", "dataset=NoSuchDatasetAnywhere", env={"TSCOMPRESS_CACHE_DIR": str(tmp_path / "cache")})
    line = _one_line_error(proc)
    assert "00_models" in line and "unknown dataset" in line.lower()
    assert not list(results.rglob("00_models")) and not list(results.rglob(".tmp-*"))


def test_corrupt_data_fails_cleanly_and_keeps_previous_results(smoke_results, tmp_path):
    """The command reads every dataset before its first chapter: a corrupt file is one line in seconds, no
    notebook started. A chapter that fails inside its notebook anyway (here: run directly, without the command's
    checks) keeps the executed notebook and its kernel log in .failed/ and the earlier results intact."""
    from tscompress.errors import TscompressError
    from tscompress.runner import run_chapter

    results, _ = smoke_results
    copy = tmp_path / "smoke"
    shutil.copytree(results, copy)
    one = copy / "BasicMotions"
    before = (one / "00_models" / "table1.csv").read_bytes()
    data = tmp_path / "data" / "BasicMotions"
    data.mkdir(parents=True)
    (data / "BasicMotions_TRAIN.ts").write_text("@problemName BasicMotions\n@data\n1,2,oops:::\n")
    proc = tscompress("run", "00_models", "--profile", "smoke", "--results-dir", str(copy), "--quiet",
                      "--data-dir", str(tmp_path / "data"), "-p", "dataset=BasicMotions")
    line = _one_line_error(proc)
    assert "dataset BasicMotions: cannot parse" in line and "failed in cell" not in line, line
    assert not (one / ".failed").exists() and proc.stdout == "", proc.stdout  # no chapter started
    with pytest.raises(TscompressError, match="failed in cell"):
        run_chapter("00_models", {"profile": "smoke", "dataset": "BasicMotions", "data_dir": str(tmp_path / "data")},
                    one, progress=False)
    assert (one / "00_models" / "table1.csv").read_bytes() == before  # earlier results intact
    assert (one / ".failed" / "00_models.ipynb").is_file()
    assert (one / ".failed" / "00_models.kernel.log").is_file()
    assert not list(one.glob(".tmp-*"))


def test_book_pdf_without_tex_fails_in_seconds(tmp_path):
    """`book --pdf` on a machine without xelatex: one line before any chapter runs, not after the whole book."""
    import os
    import sys
    import time

    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("jupyter-book",):  # this Python's own tools stay; TeX (in /usr/bin) does not
        found = shutil.which(tool)
        if found:
            os.symlink(found, bare / tool)
    t0 = time.perf_counter()
    proc = tscompress("book", "--profile", "smoke", "--pdf", "--output", str(tmp_path / "out"),
                      "--results-dir", str(tmp_path / "results"), env={"PATH": f"{bare}:{os.path.dirname(sys.executable)}"})
    seconds = time.perf_counter() - t0
    line = _one_line_error(proc)
    assert "--pdf needs xelatex" in line, line
    assert seconds < 10, seconds
    assert not (tmp_path / "results").exists() and not (tmp_path / "out").exists()


def test_list():
    proc = tscompress("list")
    assert proc.returncode == 0 and "00_models" in proc.stdout and "smoke" in proc.stdout


@pytest.mark.slow
def test_recipe_study_runs_only_on_its_datasets(tmp_path):
    """models.recipe_datasets: on any other dataset the models chapter cross-validates the book's recipe alone."""
    import pandas as pd

    proc = tscompress("run", "00_models", "--profile", "smoke", "--datasets", "BasicMotions", "--quiet",
                      "--results-dir", str(tmp_path), "-p", 'models.recipe_datasets=["Heartbeat"]')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = pd.read_csv(tmp_path / "BasicMotions" / "00_models" / "table_recipes.csv")
    assert set(table["recipe"]) == {"weighted"} and sorted(table["model"]) == ["TimesNet", "Transformer", "iTransformer"]
