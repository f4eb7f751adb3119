"""Staging the book's sources: no path of the build machine, the data files on the first page."""

import json
import sys
from pathlib import Path

from conftest import ROOT
from tscompress import book


def test_scrub_paths_replaces_whole_machine_paths_only(tmp_path):
    root = tmp_path / "project"
    results = root / "results" / "quick"
    pairs = book.path_replacements(root, results)
    text = (f"{results}/00_models/x.csv {root}/notebooks {tmp_path}/shared/data/Heartbeat "
            f"{tmp_path}x/other {sys.prefix}/bin/python")
    out = book.scrub_paths(text, pairs)
    assert out.startswith("results/quick/00_models/x.csv ./notebooks ../shared/data/Heartbeat ")
    assert f"{tmp_path}x/other" in out  # a longer name that merely starts like a machine path stays
    assert str(root) not in out and "PYTHON/bin/python" in out


def _manifest(folder: Path, official):
    folder.mkdir(parents=True)
    rec = {"path": "/somewhere/on/the/machine/Heartbeat_TRAIN.ts", "sha256": "0a2e28e6e7aa35028707", "bytes": 10,
           "official": official}
    data = {"name": "Heartbeat", "protocol": "resample", "sizes": {"train": 1, "val": 1, "test": 1},
            "files": {"source": "data_dir", "dir": "/somewhere", "train": rec, "test": None}}
    (folder / "manifest.json").write_text(json.dumps({"profile": "quick", "protocol": "resample", "seeds": [0],
                                                      "data": {"0": data}, "wall_seconds": 1.0,
                                                      "finished": "2026-12-06T03:32:11+00:00"}))


def test_first_page_names_the_data_file_and_says_when_it_is_not_the_official_one(tmp_path):
    _manifest(tmp_path / "00_models", False)
    en = book.manifest_markdown(tmp_path, ["00_models"], "en")
    ru = book.manifest_markdown(tmp_path, ["00_models"], "ru")
    assert "`Heartbeat_TRAIN.ts` (sha256 `0a2e28e6e7aa…`)" in en and "not byte-identical" in en
    assert "не совпадает побайтно" in ru
    assert "/somewhere" not in en + ru
    _manifest(tmp_path / "other" / "00_models", True)
    assert "identical to the official file" in book.manifest_markdown(tmp_path / "other", ["00_models"], "en")
    # each edition's own chapter names, dates and numbers; no chapter id, no ISO timestamp
    assert "| 1. Модели | 1 | 06.12.2026, 03:32 UTC |" in ru and "один пример = 100,0 п.п." in ru
    assert "| 1. Models | 1 | 2026-12-06 03:32 UTC |" in en and "one case = 100.0 accuracy points" in en
    assert "00_models" not in ru + en and "T03:32" not in ru + en


def test_russian_tables_get_russian_numbers_without_breaking_columns():
    text = 'model,accuracy,params\nTimesNet,0.725,"895,442"\niTransformer,"0.667 [0.598, 0.730]",int4\n'
    out = book.localize_table(text, "ru")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1] == ["TimesNet", "0,725", "895\u00a0442"]
    assert rows[2] == ["iTransformer", "0,667 [0,598; 0,730]", "int4"]
    assert book.localize_table(text, "en") == text


def test_russian_notebook_copy_localizes_glue_and_shows_the_russian_figure(tmp_path):
    import base64

    from tscompress.results import FIGURE_METADATA

    (tmp_path / "fig_x.ru.png").write_bytes(b"russian png")
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "acc",
                                                                   "mime_prefix": "application/papermill.record/"}},
         "data": {"application/papermill.record/text/plain": "'0.725 [0.662, 0.784]'"}},
        {"output_type": "display_data", "metadata": {FIGURE_METADATA: {"name": "fig_x", "lang": "en"}},
         "data": {"image/png": base64.b64encode(b"english png").decode()}},
        {"output_type": "stream", "name": "stdout", "text": "version 2.13.0"}]}], "metadata": {}, "nbformat": 4,
        "nbformat_minor": 5}
    out = json.loads(book.edition_notebook(json.dumps(nb), "ru", tmp_path))
    glue, fig, stream = out["cells"][0]["outputs"]
    assert glue["data"]["application/papermill.record/text/plain"] == "'0,725 [0,662; 0,784]'"
    assert base64.b64decode(fig["data"]["image/png"]) == b"russian png"
    assert stream["text"] == "version 2.13.0"
    assert json.loads(book.edition_notebook(json.dumps(nb), "en", tmp_path)) == nb


def test_russian_notebook_copy_shows_the_russian_table(tmp_path):
    import pandas as pd

    from tscompress.results import TABLE_METADATA, ShownTable

    en = ShownTable(pd.DataFrame({"method": ["quantile"], "file, KiB": ["1,475.0"]}))
    (tmp_path / "ptq.ru.csv").write_text("метод,\"файл, КиБ\"\nквантильное,1475.0\n", encoding="utf-8")
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "metadata": {TABLE_METADATA: {"name": "ptq", "lang": "en"}},
         "data": {"text/html": en._repr_html_(), "text/plain": repr(en)}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = json.loads(book.edition_notebook(json.dumps(nb), "ru", tmp_path))
    shown = out["cells"][0]["outputs"][0]
    assert "квантильное" in shown["data"]["text/html"] and "quantile" not in shown["data"]["text/html"]
    assert "1\u00a0475,0" in shown["data"]["text/html"] or "1 475,0" in shown["data"]["text/html"]
    assert "<th>файл, КиБ</th>" in shown["data"]["text/html"]
    assert shown["metadata"][TABLE_METADATA]["lang"] == "ru"
    assert json.loads(book.edition_notebook(json.dumps(nb), "en", tmp_path)) == nb


def test_save_tables_writes_every_language_and_shows_one(tmp_path, monkeypatch):
    import pandas as pd

    from tscompress import results

    shown = []
    monkeypatch.setattr(results, "_in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, metadata=None: shown.append((obj, metadata)))
    run = results.ChapterRun("01_sparsification", results_dir=tmp_path)
    run.save_tables(lambda lang: pd.DataFrame({"lang": [lang]}), "t")
    assert pd.read_csv(tmp_path / "01_sparsification" / "t.ru.csv")["lang"].tolist() == ["ru"]
    assert pd.read_csv(tmp_path / "01_sparsification" / "t.en.csv")["lang"].tolist() == ["en"]
    assert len(shown) == 1 and shown[0][1][results.TABLE_METADATA] == {"name": "t", "lang": "en"}
    assert "<td>en</td>" in shown[0][0]._repr_html_()


def test_each_edition_shows_its_own_markdown_cells(tmp_path):
    md = lambda text, tags=None: {"cell_type": "markdown", "source": text,  # noqa: E731
                                  "metadata": {"tags": tags} if tags else {}}
    nb = {"cells": [md("# Models"), md("# Модели", ["lang-ru"]), {"cell_type": "code", "source": "x = 1",
                                                                  "metadata": {}, "outputs": []},
                    md("untranslated")], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ru = [c["source"] for c in json.loads(book.edition_notebook(json.dumps(nb), "ru", tmp_path))["cells"]]
    en = [c["source"] for c in json.loads(book.edition_notebook(json.dumps(nb), "en", tmp_path))["cells"]]
    assert ru == ["# Модели", "x = 1", "untranslated"] and en == ["# Models", "x = 1", "untranslated"]


def test_no_directive_argument_holds_a_backtick():
    """A fence's info string may not contain a backtick (CommonMark): ```{csv-table} with a {numref}`…` in its
    title is not a directive but a paragraph, and the table silently disappears."""
    import re

    offenders = []
    for path in sorted((ROOT / "book").rglob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(```+|:::+)\{", line) and "`" in re.sub(r"^\s*(```+|:::+)", "", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, offenders


def test_every_page_reads_its_own_editions_notebooks():
    """A page glues from, and links to, its own edition's staged notebooks (a Russian page reading ``nb/``
    finds the English copy, where a ``*_ru`` key may not exist at all and numbers are in English format);
    the full build catches the missing key, this catches the wrong folder in a second."""
    import re

    offenders = []
    for lang, own in book.NOTEBOOK_FOLDERS.items():
        for path in sorted((ROOT / "book" / lang).glob("*.md")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for folder in re.findall(r"_generated/([\w-]+)/", line):
                    if folder in book.NOTEBOOK_FOLDERS.values() and folder != own:
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {folder}/")
    assert not offenders, offenders


def test_the_first_page_says_what_the_book_found_on_each_dataset(tmp_path):
    """Per dataset: the fp32 TimesNet against the majority rate, the significant variants, the conclusions' verdicts,
    read from the results and phrased per edition (Russian numbers, noun agreement)."""
    import json

    from tscompress.book.verdict import verdict_markdown

    folders = {}
    for dataset, n_test, acc, tested, sig, verdicts in (("A", 61, "0.607", 91, 1, ["holds", "uninformative", "uninformative"]),
                                                         ("B", 370, "0.962", 98, 24, ["cannot_tell"])):
        folder = tmp_path / dataset
        (folder / "00_models").mkdir(parents=True)
        (folder / "05_comparison").mkdir()
        (folder / "00_models" / "numbers.json").write_text(json.dumps({
            "n_test": n_test, "timesnet_acc": acc, "timesnet_ci": "[0.475, 0.721]",
            "timesnet_verdict_en": "is what it is", "timesnet_verdict_ru": "такова"}))
        (folder / "05_comparison" / "numbers.json").write_text(json.dumps({"n_tested": str(tested),
                                                                           "n_significant": str(sig)}))
        (folder / "05_comparison" / "claims.csv").write_text("claim,verdict\n" + "".join(f"c{i},{v}\n" for i, v in enumerate(verdicts)))
        folders[dataset] = folder
    ru = verdict_markdown(folders, "ru")
    en = verdict_markdown(folders, "en")
    assert ru.startswith("```{rubric} Что нашла книга\n```") and en.startswith("```{rubric} What the book found\n```")
    assert "На A TimesNet во float32 достигает точности 0,607 [0,475; 0,721] на 61 тестовом примере" in ru
    assert "Из 91 варианта," in ru and "Из 98 вариантов," in ru and "значимо отличаются: 24" in ru
    assert "«подтверждается» — 1" in ru and "«не проверяемо" in ru and "0.607" not in ru
    assert "On B, the fp32 TimesNet reaches 0.962 [0.475, 0.721] on 370 test cases" in en and "“cannot be told apart” 1" in en
    assert verdict_markdown({"C": tmp_path / "missing"}, "en") == ""


def test_a_line_the_notebook_said_is_shown_in_each_editions_words(tmp_path, capsys):
    """Chapter.say formats a line of the phrase table in both editions (numbers the Russian way, an evaluation
    described in the edition's words); outside a kernel it prints the English line; the Russian copy of the
    executed notebook shows the Russian line in its place."""
    from types import SimpleNamespace

    from tscompress.chapter import Chapter
    from tscompress.results import SAY_METADATA

    said = []
    from tscompress.train import EvalResult

    class Described(EvalResult):  # an evaluation that describes itself without test data
        def __init__(self):
            pass

        def describe(self, lang="en", localized=True):
            return {"en": "accuracy 0.5", "ru": "точность 0,5" if localized else "точность 0.5"}[lang]

    ev = Described()
    fake = SimpleNamespace(run=SimpleNamespace(say=said.append))
    Chapter.say(fake, "model", name="TimesNet", seed=0, ev=ev, best=3, epochs=10, seconds=12.4)
    assert said == [{"en": "TimesNet seed 0: accuracy 0.5; best epoch 3/10, 12 s",
                     "ru": "TimesNet, сид 0: точность 0,5; лучшая эпоха 3 из 10, 12 с"}]
    Chapter.say(fake, "recovery_base", seed=1, fp32=0.6284, losses="q4 0.628", base="q4")
    assert said[-1]["ru"] == "сид 1: потери на валидации fp32 0,628, q4 0,628; база для восстановления: q4"
    Chapter.say(fake, "settings", section="peft", settings={"en": "a", "ru": "б"})
    assert said[-1] == {"en": "peft settings: a", "ru": "настройки раздела peft: б"}

    from tscompress.results import ChapterRun

    ChapterRun.say(None, said[0])  # not in a kernel: printed
    assert capsys.readouterr().out == said[0]["en"] + "\n"
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "metadata": {SAY_METADATA: {"ru": said[0]["ru"]}},
         "data": {"text/plain": said[0]["en"]}}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = json.loads(book.edition_notebook(json.dumps(nb), "ru", tmp_path))
    assert out["cells"][0]["outputs"][0]["data"]["text/plain"] == said[0]["ru"]
    assert json.loads(book.edition_notebook(json.dumps(nb), "en", tmp_path)) == nb
