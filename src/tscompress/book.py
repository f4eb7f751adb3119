"""``tscompress book``: run the chapters, stage their results, build both editions (HTML, PDF).

The build never writes into the repository's own ``book/`` folder. It assembles a source tree in
``<output>/src`` — the two configs and tables of contents, the narrative pages, and under
``book/_generated/`` the computed tables, figures, numbers and executed notebooks of the chosen
profile plus the run manifest — and builds each edition from it with Jupyter Book 1.x into
``<output>/<lang>/_build/{html,latex}``. A landing page ``<output>/index.html`` links the
editions and the PDFs. Sphinx warnings fail the build (a missing figure, table or glue key is a
warning), so a book that builds is a book with nothing missing.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import BookError, ConfigError, DataError
from .names import localize_numbers
from .results import FIGURE_METADATA, TABLE_METADATA, ShownTable, atomic_write_text, read_json, write_json
from .runner import chapter_names

__all__ = ["build_book", "stage_sources", "manifest_markdown", "LANGS"]

LANGS = {"ru": ("_config.yml", "_toc.yml"), "en": ("_config.en.yml", "_toc.en.yml")}
STAGED_SUFFIXES = {".csv", ".png", ".svg", ".json", ".ipynb"}

TEXT = {
    "heading": {"ru": "Параметры этого запуска", "en": "This run"},
    "profile": {"ru": "Профиль", "en": "Profile"},
    "dataset": {"ru": "Датасет", "en": "Dataset"},
    "protocol": {"ru": "Протокол", "en": "Protocol"},
    "splits": {"ru": "Разбиение (обучение / валидация / тест)", "en": "Split (train / validation / test)"},
    "seeds": {"ru": "Сиды", "en": "Seeds"},
    "device": {"ru": "Устройство", "en": "Device"},
    "versions": {"ru": "Версии", "en": "Versions"},
    "commit": {"ru": "Коммит", "en": "Commit"},
    "dirty": {"ru": "(с незакоммиченными изменениями)", "en": "(with uncommitted changes)"},
    "built": {"ru": "Собрано", "en": "Built"},
    "files": {"ru": "Файлы данных", "en": "Data files"},
    "file_official": {"ru": "совпадает с официальным файлом", "en": "identical to the official file"},
    "file_differs": {"ru": "**не совпадает побайтно с официальным файлом** (контрольная сумма другая); использован как есть",
                     "en": "**not byte-identical to the official file** (the checksum differs); used as is"},
    "file_unknown": {"ru": "официальная контрольная сумма неизвестна", "en": "no official checksum known"},
    "chapter": {"ru": "Глава", "en": "Chapter"},
    "datasets_intro": {"ru": "Каждая глава выполнена на каждом датасете; первый — основной в книге, таблица выше описывает его.",
                       "en": "Every chapter ran on every dataset; the first is the book's main thread, the table above describes it."},
    "classes_majority": {"ru": "Классов; доля мажоритарного в тесте", "en": "Classes; test majority rate"},
    "shape": {"ru": "Каналы × длина", "en": "Channels × length"},
    "wall": {"ru": "Время счёта, с", "en": "Wall time, s"},
    "finished": {"ru": "Завершена", "en": "Finished"},
    "total": {"ru": "Всего", "en": "Total"},
    "seeds_nodes": {"ru": "{seeds}; каждый сид — отдельный запуск каждой главы; страницы показывают сид {first}, а в разделе "
                          "«По сидам» — среднее и разброс по всем",
                    "en": "{seeds}; each seed is its own run of every chapter; the pages show seed {first} and, in their "
                          "section \"Over seeds\", the mean and spread over all of them"},
    "wall_first": {"ru": "Время счёта сида {first}, с", "en": "Wall time of seed {first}, s"},
    "wall_seeds": {"ru": "Время счёта всех сидов, с", "en": "Wall time of all seeds, s"},
    "seeds_heading": {"ru": "По сидам", "en": "Over seeds"},
    "seeds_intro": {
        "ru": "Каждая модель этой главы обучена и проверена по одному разу на каждый сид ({seeds}): от сида зависят "
              "инициализация и порядок батчей, а при протоколе resample и само разбиение. Рисунки и таблицы выше "
              "показывают сид {first}. Ниже рядом с интервалом сида {first} — среднее, стандартное отклонение и размах "
              "точности по сидам. Разброс по сидам и бутстреп-интервал отвечают на разные вопросы: первый — насколько "
              "результат зависит от случайности обучения, второй — насколько от выбора тестовых примеров.",
        "en": "Every model of this chapter was trained and tested once per seed ({seeds}): the seed sets the "
              "initialization and the order of the batches, and under the resample protocol the split as well. The "
              "figures and tables above show seed {first}. Below, beside seed {first}'s interval, are the mean, standard "
              "deviation and range of the accuracy over the seeds. The spread over seeds and the bootstrap interval "
              "answer different questions: the first how much a result depends on the randomness of training, the "
              "second how much on the choice of test cases.",
    },
    "seeds_bases": {
        "ru": "Таблица начинается с несжатых моделей из главы «Модели», которые эта глава сжимает: их разброс по "
              "сидам — мерка для разброса сжатых вариантов.",
        "en": "The table starts with the uncompressed models (from the models chapter) that this chapter compresses: "
              "their spread over seeds is the yardstick for the compressed variants' spread.",
    },
    "seeds_caption": {"ru": "{dataset}: каждая модель главы по сидам {seeds}.",
                      "en": "{dataset}: every model of the chapter over the seeds {seeds}."},
    "warn_title": {"ru": "Это не официальное разбиение", "en": "This is not the official split"},
    "warn_resample": {
        "ru": "Тестовая выборка — стратифицированная часть доступных размеченных примеров (протокол resample), а не "
              "официальный тест UEA из 205 примеров. Точности этой книги поэтому нельзя напрямую сравнивать с числами "
              "исследования: у нас другой и меньший тест, один пример = {pts} п.п. точности.",
        "en": "The test set is a stratified part of the labelled cases available (the resample protocol), not UEA's "
              "official 205-case test split. This book's accuracies are therefore not directly comparable with the "
              "study's: the test set is different and smaller, one case = {pts} accuracy points.",
    },
    "warn_tslib": {
        "ru": "Протокол tslib: валидация проводится на тестовой выборке, как в Time-Series-Library и в исследовании. "
              "Выбор эпохи по тесту делает точности оптимистичными; используйте его только для сравнения с исследованием.",
        "en": "The tslib protocol validates on the test split, as Time-Series-Library and the study did. Choosing the "
              "epoch on the test set makes the accuracies optimistic; use it only to compare with the study.",
    },
    "warn_cv": {
        "ru": "Протокол cv: одна из {k} стратифицированных частей; это не официальное разбиение.",
        "en": "The cv protocol: one of {k} stratified folds; this is not the official split.",
    },
}


def _t(key: str, lang: str, **kw: Any) -> str:
    return TEXT[key][lang].format(**kw)


def _chapter_seconds(results_dir: Path, chapter: str) -> float:
    """A chapter's wall time: the runner's record of its last run, else the notebook's own manifest."""
    run = results_dir / chapter / "run.json"
    if run.exists():
        return float(read_json(run).get("seconds", 0.0))
    return float(read_json(results_dir / chapter / "manifest.json").get("wall_seconds") or 0.0)


def _dataset_rows(results_dir: Path, chapters: list[str], lang: str,
                  seeds: list[int] | None = None) -> tuple[str, str, str, str, str, str]:
    """One dataset's row of the first page: name, protocol, train / val / test cases, classes and the test
    set's majority rate, channels × length, and the wall time of all its chapters (over every seed)."""
    from .names import number

    first = read_json(results_dir / chapters[0] / "manifest.json")
    data = next(iter(first.get("data", {}).values()), {})
    sizes = data.get("sizes", {})
    split = " / ".join(number(sizes[k], lang, 0) if k in sizes else "?" for k in ("train", "val", "test"))
    majority = (data.get("majority_rate") or {}).get("test")
    seconds = sum(_all_seeds_seconds(results_dir, c, seeds) for c in chapters)
    shape = f"{data.get('n_channels', '?')} × {data.get('seq_len', '?')}"
    return (str(first.get("dataset")), f"`{first.get('protocol', '?')}`", split,
            f"{data.get('n_classes', '?')}; {number(majority, lang) if majority is not None else '—'}",
            shape, number(seconds, lang, 0))


def _all_seeds_seconds(dataset_dir: Path, chapter: str, seeds: list[int] | None) -> float:
    """A chapter's wall time summed over the seeds' runs (one run without seed nodes)."""
    from .seeds import seed_folders

    folders = seed_folders(dataset_dir, seeds).values() if seeds else [dataset_dir]
    return sum(_chapter_seconds(folder, chapter) for folder in folders)


def manifest_markdown(results_dir: Path, chapters: list[str], lang: str,
                      datasets: list[Path] | None = None, seeds: list[int] | None = None) -> str:
    """The run manifest shown on each edition's first page, from the chapters' manifests
    (``results_dir``: the main dataset's results; ``datasets``: every dataset's folder, when there are several;
    ``seeds``: the seeds, when each ran as its own node)."""
    manifests = {c: read_json(results_dir / c / "manifest.json") for c in chapters}
    seconds = {c: _chapter_seconds(results_dir, c) for c in chapters}
    first = manifests[chapters[0]]
    env = first.get("environment", {})
    data = next(iter(first.get("data", {}).values()), {})
    sizes = data.get("sizes", {})
    git = first.get("git", {})
    protocol = first.get("protocol", "?")
    # a rubric, not a section: on the root page sections would become numbered chapters in the PDF
    lines = [f"```{{rubric}} {_t('heading', lang)}", "```", ""]
    if protocol != "official":
        n_test = sizes.get("test") or 0
        pts = f"{100 / n_test:.1f}" if n_test else "?"
        key = {"tslib": "warn_tslib", "cv": "warn_cv"}.get(protocol, "warn_resample")
        body = _t(key, lang, pts=pts, k=data.get("n_folds", "k"))
        # a titled admonition: {warning} takes no title, its argument would run into the body text
        lines += [":::{admonition} " + _t("warn_title", lang), ":class: warning", "", body, ":::", ""]
    versions = ", ".join(f"{k} {env[k]}" for k in ("tscompress", "python", "torch", "aeon", "numpy") if env.get(k))
    commit = git.get("commit") or "—"
    if git.get("dirty"):
        commit += " " + _t("dirty", lang)
    split = " / ".join(str(sizes.get(k, "?")) for k in ("train", "val", "test"))
    rows = [
        (_t("profile", lang), f"`{first.get('profile')}`"),
        (_t("dataset", lang), str(first.get("dataset"))),
        (_t("protocol", lang), f"`{protocol}`"),
        (_t("splits", lang), split),
        (_t("seeds", lang), _t("seeds_nodes", lang, seeds=", ".join(map(str, seeds)), first=seeds[0]) if seeds
         else ", ".join(str(s) for s in first.get("seeds", []))),
        (_t("device", lang), f"{first.get('device')} ({env.get('cpu_count')} CPU, {env.get('torch_threads')} torch threads)"),
        (_t("versions", lang), versions),
        (_t("commit", lang), f"`{commit}`"),
        (_t("files", lang), _files_text(data.get("files") or {}, lang)),
        (_t("built", lang), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    if seeds:  # the first seed's run, then every seed's
        every = {c: _all_seeds_seconds(results_dir, c, seeds) for c in chapters}
        lines += [f"| {_t('chapter', lang)} | {_t('wall_first', lang, first=seeds[0])} | {_t('wall_seeds', lang)} | "
                  f"{_t('finished', lang)} |", "|---|---:|---:|---|"]
        for c in chapters:
            lines.append(f"| {c} | {seconds[c]:.0f} | {every[c]:.0f} | {manifests[c].get('finished', '')} |")
        lines.append(f"| **{_t('total', lang)}** | **{sum(seconds.values()):.0f}** | **{sum(every.values()):.0f}** | |")
    else:
        lines += [f"| {_t('chapter', lang)} | {_t('wall', lang)} | {_t('finished', lang)} |", "|---|---:|---|"]
        for c in chapters:
            lines.append(f"| {c} | {seconds[c]:.0f} | {manifests[c].get('finished', '')} |")
        lines.append(f"| **{_t('total', lang)}** | **{sum(seconds.values()):.0f}** | |")
    if datasets:
        lines += ["", _t("datasets_intro", lang), "",
                  "| " + " | ".join(_t(k, lang) for k in ("dataset", "protocol", "splits", "classes_majority",
                                                          "shape", "wall")) + " |",
                  "|---|---|---|---|---|---:|"]
        lines += ["| " + " | ".join(_dataset_rows(folder, chapters, lang, seeds)) + " |" for folder in datasets]
    return "\n".join(lines) + "\n"


def _files_text(files: dict[str, Any], lang: str) -> str:
    """The data files by name (never the build machine's path), checksum and whether they are the official ones."""
    parts = []
    for split in ("train", "test"):
        rec = files.get(split)
        if not isinstance(rec, dict) or not rec.get("path"):
            continue
        verdict = {True: "file_official", False: "file_differs"}.get(rec.get("official"), "file_unknown")
        parts.append(f"`{Path(rec['path']).name}` (sha256 `{str(rec.get('sha256', ''))[:12]}…`): {_t(verdict, lang)}")
    return "; ".join(parts) or "—"


def path_replacements(root: Path, results_dir: Path) -> list[tuple[str, str]]:
    """Absolute paths of the build machine and what the rendered book shows instead, longest first:
    the results folder and the project relative to the project root, a folder beside the project
    (the data) as ``../<name>``, installed packages as ``site-packages``, the Python installation as
    ``PYTHON``, the home folder as ``~``."""
    import site
    import sysconfig

    root = root.resolve()
    results = results_dir.resolve()
    pairs = {str(results): os.path.relpath(results, root) if results.is_relative_to(root) else results.name,
             str(root): ".", str(root.parent): ".."}
    for prefix in {sysconfig.get_paths()["purelib"], *site.getsitepackages()}:
        pairs[str(Path(prefix).resolve())] = pairs[str(prefix)] = "site-packages"
    for prefix in {sys.prefix, sys.base_prefix}:
        pairs[str(Path(prefix).resolve())] = pairs[str(prefix)] = "PYTHON"
    home = str(Path.home())
    if home not in ("/", ""):
        pairs[home] = "~"
    return sorted(((k, v) for k, v in pairs.items() if k and k != "/"), key=lambda kv: -len(kv[0]))


def scrub_paths(text: str, replacements: list[tuple[str, str]]) -> str:
    """``text`` with every absolute path of :func:`path_replacements` replaced (longest first; a path
    matches only whole: ``/work`` is not replaced inside ``/workspace``)."""
    import re

    for old, new in replacements:
        text = re.sub(re.escape(old) + r"(?![\w.-])", lambda _: new, text)
    return text


NOTEBOOK_FOLDERS = {"en": "nb", "ru": "nb_ru"}
"""Where each edition's copy of the executed chapter notebooks is staged (under ``book/_generated``)."""


def localize_table(text: str, lang: str) -> str:
    """A CSV table's cells with their numbers in the edition's format (cell by cell: a decimal comma
    never splits a column)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[localize_numbers(cell, lang) for cell in row] for row in rows])
    return buf.getvalue()


def _cell_lang(cell: dict) -> str | None:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return next((t[len("lang-"):] for t in tags if t.startswith("lang-")), None)


def _edition_cells(cells: list[dict], lang: str) -> list[dict]:
    """The cells an edition shows: markdown cells tagged ``lang-<xx>`` only in that edition, and an
    untagged (English) markdown cell only where no cell in the edition's language follows it."""
    out = []
    for i, cell in enumerate(cells):
        own = _cell_lang(cell)
        if own is not None:
            if own == lang:
                out.append(cell)
            continue
        following = cells[i + 1] if i + 1 < len(cells) else None
        if cell.get("cell_type") == "markdown" and lang != "en" and following is not None \
                and _cell_lang(following) == lang:
            continue
        out.append(cell)
    return out


def _read_shown_csv(text: str):
    """A staged table as text cells (nothing re-parsed as a number: it is shown as written)."""
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def edition_notebook(text: str, lang: str, folder: Path) -> str:
    """An executed notebook (JSON text) as the ``lang`` edition shows it: glued values and their
    numbers in the edition's format (:func:`tscompress.names.localize_numbers`), and every figure
    that :meth:`~tscompress.results.ChapterRun.save_figures` showed replaced by the edition's own
    file from the chapter's ``folder``."""
    import base64
    import json

    nb = json.loads(text)
    nb["cells"] = _edition_cells(nb.get("cells", []), lang)
    if lang == "en":
        return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) or []:
            meta, data = out.get("metadata") or {}, out.get("data") or {}
            if "scrapbook" in meta:  # a glued value: stored as "<mime_prefix>text/plain" (papermill's record)
                for mime in list(data):
                    if mime.endswith(("text/plain", "text/markdown", "text/html")):
                        value = data[mime]
                        data[mime] = ([localize_numbers(v, lang) for v in value] if isinstance(value, list)
                                      else localize_numbers(value, lang))
            figure = meta.get(FIGURE_METADATA)
            if figure and "image/png" in data:
                own = folder / f"{figure['name']}.{lang}.png"
                if own.is_file():
                    data["image/png"] = base64.b64encode(own.read_bytes()).decode("ascii")
                    meta[FIGURE_METADATA] = {**figure, "lang": lang}
            table = meta.get(TABLE_METADATA)
            if table and "text/html" in data:
                own = folder / f"{table['name']}.{lang}.csv"
                if own.is_file():
                    shown = ShownTable(_read_shown_csv(localize_table(own.read_text(encoding="utf-8"), lang)))
                    data["text/html"] = shown._repr_html_()
                    data["text/plain"] = repr(shown)
                    meta[TABLE_METADATA] = {**table, "lang": lang}
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


APPENDIX_CAPTION = {"en": "Appendix: executed notebooks on {dataset}", "ru": "Приложение: исполненные ноутбуки на {dataset}"}
"""The table of contents' part for each dataset after the first (the first is the book's main appendix)."""


def _toc_with_datasets(text: str, lang: str, chapters: list[str], extra: list[str]) -> str:
    """The edition's table of contents with one appendix part per further dataset."""
    lines = [text.rstrip("\n")]
    for dataset in extra:
        lines += [f'  - caption: "{APPENDIX_CAPTION[lang].format(dataset=dataset)}"', "    chapters:"]
        lines += [f"      - file: book/_generated/{dataset}/{NOTEBOOK_FOLDERS[lang]}/{c}" for c in chapters]
    return "\n".join(lines) + "\n"


def stage_sources(root: Path, results_dir: Path, chapters: list[str], src: Path,
                  datasets: list[str] | None = None, seeds: list[int] | None = None) -> Path:
    """Assemble the book's source tree in ``src`` (replacing what was there).

    With ``datasets``, ``results_dir`` holds one folder per dataset: the first dataset's results are
    the book's main thread (``book/_generated/<chapter>``, ``book/_generated/nb``), each further
    one is staged under ``book/_generated/<dataset>/`` with its own appendix part in each edition's
    table of contents. Without, ``results_dir`` is one dataset's folder. With ``seeds`` (each seed a run of its
    own, :mod:`tscompress.seeds`), every chapter page gets a section with every model's mean and spread over
    the seeds, on every dataset."""
    tmp = src.with_name(src.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    main_dir = results_dir / datasets[0] if datasets else results_dir
    extra = list(datasets[1:]) if datasets else []
    for lang, (config, toc) in LANGS.items():
        shutil.copy2(root / config, tmp / config)
        text = (root / toc).read_text(encoding="utf-8")
        atomic_write_text(tmp / toc, _toc_with_datasets(text, lang, chapters, extra) if extra else text)
    shutil.copytree(root / "book", tmp / "book", ignore=shutil.ignore_patterns("_generated", ".*"))
    gen = tmp / "book" / "_generated"
    (gen / "nb").mkdir(parents=True)
    paths = path_replacements(root, results_dir)
    _stage_results(main_dir, chapters, gen, paths)
    for dataset in extra:
        _stage_results(results_dir / dataset, chapters, gen / dataset, paths)
    for lang in LANGS:
        atomic_write_text(gen / f"manifest.{lang}.md", manifest_markdown(
            main_dir, chapters, lang, datasets=[results_dir / d for d in datasets] if extra else None, seeds=seeds))
        for chapter in chapters:
            atomic_write_text(tmp / "book" / lang / f"{chapter}{FURTHER_SUFFIX}",
                              further_sections(root, chapter, lang, extra))
    folders = {d: results_dir / d for d in datasets} if datasets else {_dataset_name(main_dir, chapters): main_dir}
    for lang in LANGS:
        for chapter in chapters:
            atomic_write_text(tmp / "book" / lang / f"{chapter}{SEEDS_SUFFIX}",
                              seeds_section(chapter, lang, list(folders), seeds))
    if seeds:
        _stage_over_seeds(folders, chapters, seeds, gen / SEEDS_GENERATED)
    if "05_comparison" in chapters:
        for lang in LANGS:
            table = claims_table(folders, lang)
            atomic_write_text(gen / f"claims_by_dataset.{lang}.csv", table.to_csv(index=False, lineterminator="\n"))
    shutil.rmtree(src, ignore_errors=True)
    os.replace(tmp, src)
    return src


FURTHER_SUFFIX = ".further.md"
"""A chapter page includes ``<chapter>.further.md`` (staged beside it): one section per dataset after the
first, from the template ``book/<lang>/further/<chapter>.md`` (empty when the book has one dataset)."""

FURTHER_TOKENS = ("@DATASET@", "@LABEL@", "@GEN@", "@NB@")


def further_sections(root: Path, chapter: str, lang: str, datasets: list[str]) -> str:
    """The sections of ``chapter``'s page in ``lang`` for each dataset after the book's first: the template
    ``book/<lang>/further/<chapter>.md`` with ``@DATASET@`` (the name), ``@LABEL@`` (a label-safe form for
    figure and table names), ``@GEN@`` (that dataset's staged results, relative to the page) and ``@NB@``
    (its executed notebooks in the edition's language, for glue) filled in. No template: no section."""
    import re

    template = root / "book" / lang / "further" / f"{chapter}.md"
    if not datasets or not template.is_file():
        return ""
    text = template.read_text(encoding="utf-8")
    parts = []
    for dataset in datasets:
        values = {"@DATASET@": dataset, "@LABEL@": re.sub(r"[^a-z0-9]+", "-", dataset.lower()).strip("-"),
                  "@GEN@": f"../_generated/{dataset}", "@NB@": f"../_generated/{dataset}/{NOTEBOOK_FOLDERS[lang]}"}
        part = text
        for token in FURTHER_TOKENS:
            part = part.replace(token, values[token])
        parts.append(part.rstrip("\n") + "\n")
    return "\n".join(parts)


SEEDS_SUFFIX = ".seeds.md"
"""A chapter page includes ``<chapter>.seeds.md`` (staged beside it): its models' mean and spread over the seeds,
one table per dataset (empty when each chapter ran once, for one seed or for all of them in one run)."""

SEEDS_GENERATED = "seeds"
"""``book/_generated/seeds/<dataset>/<chapter>.<lang>.csv``: the tables of the seeds sections."""


def seeds_section(chapter: str, lang: str, datasets: list[str], seeds: list[int] | None) -> str:
    """The section "Over seeds" of ``chapter``'s page in ``lang``: one table per dataset (``seeds``: ``None`` or one
    seed, no section)."""
    import re

    if not seeds or len(seeds) < 2:
        return ""
    listed = ", ".join(map(str, seeds))
    from .seeds import MODELS_CHAPTER

    intro = _t("seeds_intro", lang, seeds=listed, first=seeds[0])
    if chapter != MODELS_CHAPTER:  # its table starts with the models it compresses (seeds.chapter_tables)
        intro += " " + _t("seeds_bases", lang)
    lines = [f"## {_t('seeds_heading', lang)}", "", intro, ""]
    for dataset in datasets:
        label = re.sub(r"[^a-z0-9]+", "-", f"seeds-{chapter}-{dataset}".lower()).strip("-")
        lines += [f"```{{csv-table}} {_t('seeds_caption', lang, dataset=dataset, seeds=listed)}",
                  f":file: ../_generated/{SEEDS_GENERATED}/{dataset}/{chapter}.{lang}.csv",
                  ":header-rows: 1", f":name: {label}", "```", ""]
    return "\n".join(lines)


def _stage_over_seeds(folders: dict[str, Path], chapters: list[str], seeds: list[int], dest: Path) -> None:
    from .seeds import chapter_tables, display_over_seeds, over_seeds

    for dataset, folder in folders.items():
        for chapter in chapters:
            try:
                table = over_seeds(chapter_tables(folder, chapter, seeds))
            except DataError as exc:
                raise BookError(f"{exc}; run the book without --reuse") from None
            for lang in LANGS:
                shown = display_over_seeds(table, lang)
                atomic_write_text(dest / dataset / f"{chapter}.{lang}.csv", shown.to_csv(index=False, lineterminator="\n"))


def _dataset_name(results_dir: Path, chapters: list[str]) -> str:
    return str(read_json(results_dir / chapters[0] / "manifest.json").get("dataset") or results_dir.name)


def claims_table(folders: dict[str, Path], lang: str):
    """The study's conclusions × datasets (each dataset's ``05_comparison/claims.csv``), verdicts in ``lang``."""
    import pandas as pd

    from .claims import claims_by_dataset

    tables = {}
    for dataset, folder in folders.items():
        path = folder / "05_comparison" / "claims.csv"
        if not path.is_file():
            raise BookError(f"{path} is missing: the comparison chapter on {dataset} predates the claims table; "
                            "rerun it (tscompress book without --reuse)")
        tables[dataset] = pd.read_csv(path)
    return claims_by_dataset(tables, lang)


def _stage_results(results_dir: Path, chapters: list[str], gen: Path, paths: list[tuple[str, str]]) -> None:
    """One dataset's chapter results as the book reads them: tables (Russian ones localized), figures,
    numbers, and each executed notebook once per edition, with no path of the build machine."""
    for c in chapters:
        folder = results_dir / c
        for path in folder.rglob("*"):
            rel = path.relative_to(folder)
            if path.is_file() and path.suffix in STAGED_SUFFIXES and rel.parts[0] != "checkpoints":
                if path.suffix == ".ipynb" and rel == Path(f"{c}.ipynb"):  # the executed chapter: one per edition
                    text = scrub_paths(path.read_text(encoding="utf-8"), paths)
                    for lang, folder_name in NOTEBOOK_FOLDERS.items():
                        dest = gen / folder_name / path.name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_text(edition_notebook(text, lang, folder), encoding="utf-8")
                    continue
                dest = gen / c / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix in (".csv", ".json"):  # shown text: no absolute path of this machine
                    text = scrub_paths(path.read_text(encoding="utf-8"), paths)
                    if path.name.endswith(".ru.csv"):
                        text = localize_table(text, "ru")
                    dest.write_text(text, encoding="utf-8")
                else:
                    shutil.copy2(path, dest)


def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if not found:
        raise BookError("jupyter-book is not installed: pip install 'jupyter-book<2'")
    return [found]


def _run_build(src: Path, lang: str, out: Path, builder: str, log: Path) -> None:
    config, toc = LANGS[lang]
    cmd = _jupyter_book() + ["build", str(src), "--config", str(src / config), "--toc", str(src / toc),
                             "--path-output", str(out), "--builder", builder, "-W", "--keep-going", "--all"]
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
        problems = [l for l in text if "WARNING" in l or "ERROR" in l or "Error" in l]
        first = problems[0].strip() if problems else (text[-1] if text else "no output")
        raise BookError(f"{lang} {builder} build failed ({len(problems)} problem(s)); first: {first}; full log: {log}")


def _landing(output: Path, langs: list[str], pdfs: dict[str, Path], profile: str) -> Path:
    titles = {"ru": "Русское издание", "en": "English edition"}
    items = []
    for lang in langs:
        link = f'<a href="{lang}/_build/html/index.html">{titles[lang]} (HTML)</a>'
        if lang in pdfs:
            link += f' · <a href="{html.escape(os.path.relpath(pdfs[lang], output))}">PDF</a>'
        items.append(f"<li>{link}</li>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tscompress book ({html.escape(profile)})</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}}</style></head>
<body><h1>tscompress</h1>
<p>Сжатие нейронных сетей для классификации временных рядов · Compressing neural networks for time-series
classification. Profile <code>{html.escape(profile)}</code>.</p>
<ul>{''.join(items)}</ul></body></html>
"""
    return atomic_write_text(output / "index.html", page)


def _check_outputs(out: Path, lang: str, src: Path) -> None:
    html_dir = out / "_build" / "html"
    config, toc = LANGS[lang]
    missing = []
    for line in (src / toc).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        for prefix in ("root:", "- file:"):
            if line.startswith(prefix):
                page = line[len(prefix):].strip()
                if not (html_dir / f"{page}.html").exists():
                    missing.append(f"{page}.html")
    if missing:
        raise BookError(f"{lang} edition is missing page(s): {', '.join(missing)}")


def _counterpart(rel: str, lang: str, other: str) -> str:
    """The page of the ``other`` edition that shows what ``rel`` (a page of ``lang``) shows."""
    parts = rel.split("/")
    if parts[:2] == ["book", lang]:
        parts[1] = other
    elif len(parts) >= 3 and parts[:2] == ["book", "_generated"] and NOTEBOOK_FOLDERS[lang] in parts[2:-1]:
        i = parts.index(NOTEBOOK_FOLDERS[lang], 2)
        parts[i] = NOTEBOOK_FOLDERS[other]
    return "/".join(parts)


def link_editions(output: Path, langs: list[str]) -> int:
    """Point every page's edition switch (``a.tscompress-lang``) at the same page of the other edition,
    or at its first page where that edition has no such page, by a path relative to the page: it
    works without JavaScript, at any depth of the book. Returns the number of pages changed."""
    import re

    changed = 0
    for lang in langs:
        html_dir = output / lang / "_build" / "html"
        for other in (o for o in LANGS if o != lang):
            other_dir = output / other / "_build" / "html"
            pattern = re.compile(r'(<a class="tscompress-lang" href=")[^"]*(" data-other="' + other + '")')
            for page in html_dir.rglob("*.html"):
                text = page.read_text(encoding="utf-8")
                if "tscompress-lang" not in text:
                    continue
                target = other_dir / _counterpart(page.relative_to(html_dir).as_posix(), lang, other)
                if not target.is_file():
                    target = other_dir / "book" / other / "index.html"
                href = Path(os.path.relpath(target, page.parent)).as_posix()
                new = pattern.sub(lambda m: m.group(1) + html.escape(href) + m.group(2), text)
                if new != text:
                    atomic_write_text(page, new)
                    changed += 1
    return changed


def build_book(root: Path, profile: str, datasets: list[str], params: dict[str, Any], results_dir: Path, *,
               langs: str = "ru,en", pdf: bool = False, reuse: bool = False, force: bool = False,
               output: str | os.PathLike | None = None, executor: str = "local", ray_address: str | None = None,
               seeds: list[int] | None = None) -> int:
    """Run every chapter on every dataset (and every seed of ``seeds``, each its own node) — the run graph,
    :mod:`tscompress.graph`; unchanged chapters are kept — stage the results and build the editions ``langs``
    (HTML, and PDF with ``pdf``) into ``output``."""
    from .graph import execute, plan
    from .runner import ChapterTask, node_resources, seed_folder

    langs = [l.strip() for l in langs.split(",") if l.strip()]
    bad = [l for l in langs if l not in LANGS]
    if bad or not langs:
        raise ConfigError(f"unknown edition(s) {', '.join(bad) or '(none)'}; choose from: {', '.join(LANGS)}")
    output = Path(output).resolve() if output else root / "_build" / profile
    output.mkdir(parents=True, exist_ok=True)
    chapters = chapter_names(root)
    steps: list[tuple[str, str, float]] = []
    t_all = time.perf_counter()

    def elapsed() -> str:
        s = int(time.perf_counter() - t_all)
        return f"{s // 60:02d}:{s % 60:02d}"

    graph = plan(datasets, chapters, seeds=seeds)
    if reuse:
        for node in graph.nodes:
            folder = seed_folder(results_dir / node.dataset, node.seed, seeds)
            if not (folder / node.chapter / "manifest.json").exists():
                raise ConfigError(f"--reuse: no results for {node.chapter} on {node.dataset} in {folder}; "
                                  "run without --reuse first")
            steps.append((str(node), "reused", 0.0))
    else:
        def started(node, i, n):
            print(f"[{i}/{n}] {node} (elapsed {elapsed()})", flush=True)

        def finished(result):
            status = "unchanged, kept" if result.status == "cached" else result.status
            print(f"      {result.node}: {status} ({result.seconds:.0f} s)", flush=True)

        task = ChapterTask(root, params, results_dir, force=force, progress=executor == "local", seeds=seeds)
        results = execute(graph, task, executor, ray_address=ray_address,
                          **node_resources(profile, params), on_start=started, on_done=finished)
        steps += [(str(r.node), "unchanged, kept" if r.status == "cached" else r.status, r.seconds) for r in results]

    t0 = time.perf_counter()
    src = stage_sources(root, results_dir, chapters, output / "src", datasets=datasets, seeds=seeds)
    steps.append(("stage sources", "ok", time.perf_counter() - t0))
    logs = output / "logs"
    logs.mkdir(exist_ok=True)
    pdfs: dict[str, Path] = {}
    for lang in langs:
        print(f"html {lang} (elapsed {elapsed()})", flush=True)
        t0 = time.perf_counter()
        _run_build(src, lang, output / lang, "html", logs / f"html-{lang}.log")
        _check_outputs(output / lang, lang, src)
        steps.append((f"html {lang}", "ok", time.perf_counter() - t0))
    link_editions(output, langs)
    if pdf:
        if not shutil.which("xelatex") or not shutil.which("latexmk"):
            raise BookError("--pdf needs xelatex and latexmk (Debian: texlive-xetex texlive-latex-extra "
                            "texlive-lang-cyrillic fonts-freefont-otf latexmk texlive-fonts-recommended)")
        for lang in langs:
            print(f"pdf {lang} (elapsed {elapsed()})", flush=True)
            t0 = time.perf_counter()
            _run_build(src, lang, output / lang, "pdflatex", logs / f"pdf-{lang}.log")
            pdf_file = output / lang / "_build" / "latex" / f"tscompress-{lang}.pdf"
            if not pdf_file.exists() or pdf_file.stat().st_size == 0:
                raise BookError(f"the {lang} PDF was not produced; see {logs / f'pdf-{lang}.log'}")
            pdfs[lang] = pdf_file
            steps.append((f"pdf {lang}", "ok", time.perf_counter() - t0))
    landing = _landing(output, langs, pdfs, profile)
    total = time.perf_counter() - t_all
    write_json(output / "build_times.json", {"profile": profile, "datasets": datasets, "seeds": seeds,
                                             "executor": executor, "steps": [
        {"step": s, "status": st, "seconds": round(sec, 1)} for s, st, sec in steps], "total_seconds": round(total, 1)})
    width = max(33, *(len(step) + 1 for step, _, _ in steps))
    print("\nstep".ljust(width + 1) + "status".ljust(18) + "seconds")
    for step, status, sec in steps:
        print(f"{step:<{width}}{status:<18}{sec:>7.0f}")
    print(f"{'total':<{width + 18}}{total:>7.0f}")
    print(f"\nlanding page: {landing}")
    for lang in langs:
        print(f"{lang} HTML:      {output / lang / '_build' / 'html' / 'index.html'}")
        if lang in pdfs:
            print(f"{lang} PDF:       {pdfs[lang]}")
    return 0
