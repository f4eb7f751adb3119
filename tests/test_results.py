import json
import os

import numpy as np
import pandas as pd
import pytest

from tscompress.results import ChapterRun, atomic_write_text, read_json, to_jsonable, write_json


def test_atomic_write_leaves_no_temp_files_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "first")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "second")
    monkeypatch.undo()
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_writes_get_the_permissions_of_a_plain_open(tmp_path):
    """mkstemp creates 0600 files; results, checkpoints and packed models must be readable like any file."""
    import torch

    from tscompress.models import build_model, save_checkpoint
    from tscompress.quantize import quantile_quantize
    from tscompress.quantize.storage import save_quantized

    old = os.umask(0o022)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        atomic_write_text(tmp_path / "a.txt", "a")
        model = build_model("iTransformer", n_channels=3, seq_len=8, n_classes=2, d_model=8, d_ff=8, e_layers=1)
        save_checkpoint(model, tmp_path / "m.pt")
        save_quantized(quantile_quantize(model, 4), tmp_path / "m.tsq")
    finally:
        os.umask(old)
    want = plain.stat().st_mode & 0o777
    for name in ("a.txt", "m.pt", "m.tsq"):
        assert (tmp_path / name).stat().st_mode & 0o777 == want, name
    assert torch.load(tmp_path / "m.pt", weights_only=False)["hparams"]["n_channels"] == 3


def test_to_jsonable_handles_numpy_and_nan(tmp_path):
    obj = {"a": np.float32(0.5), "b": np.int64(3), "c": np.array([1, 2]), "d": float("nan"), "e": (1, 2)}
    assert to_jsonable(obj) == {"a": 0.5, "b": 3, "c": [1, 2], "d": None, "e": [1, 2]}
    write_json(tmp_path / "x.json", obj)
    assert read_json(tmp_path / "x.json")["d"] is None


def test_chapter_run_writes_tables_figures_numbers_and_manifest(tmp_path):
    import matplotlib.pyplot as plt

    run = ChapterRun("00_test", tmp_path, parameters={"seed": 1})
    run.save_table(pd.DataFrame({"a": [1, 2]}), "t")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    run.save_figure(fig, "f")
    plt.close(fig)
    assert run.glue("acc", 0.81234, "{:.3f}") == "0.812"
    with run.timed("stage"):
        pass
    calls = []
    assert run.cached("piece", lambda: calls.append(1) or {"v": 1}) == {"v": 1}
    assert run.cached("piece", lambda: calls.append(1) or {"v": 2}) == {"v": 1}
    assert calls == [1]
    path = run.finish(summary=["ok"])
    manifest = json.loads(path.read_text())
    assert manifest["chapter"] == "00_test" and manifest["summary"] == ["ok"]
    assert {"t.csv", "f.png", "f.svg", "piece.json"} <= set(manifest["files"])
    assert "stage" in manifest["timings"] and manifest["environment"]["torch"]
    assert read_json(tmp_path / "00_test" / "numbers.json") == {"acc": "0.812"}
    assert not [p for p in (tmp_path / "00_test").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("text", ["3,498", "0.70", "1e3", "(a, b)", "it's \"quoted\"", "0.705 [0.590, 0.820]"])
def test_glued_strings_render_exactly_as_written(text):
    from myst_nb.core.variables import format_plain_text

    from tscompress.results import _Plain

    assert format_plain_text(repr(_Plain(text)), "s") == text


def test_a_glue_key_can_be_set_only_once(tmp_path):
    run = ChapterRun("00_models", tmp_path)
    run.glue("x", "1")
    with pytest.raises(ValueError, match="set twice"):
        run.glue("x", "2")
