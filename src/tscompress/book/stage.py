"""The source tree of a build: configs, pages, and under ``book/_generated/`` the results they show."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import phrases
from ..errors import BookError, DataError
from ..results import atomic_write_text, read_json
from .localize import (APPENDIX_CAPTION, LANGS, NOTEBOOK_FOLDERS, STAGED_SUFFIXES, edition_notebook, localize_table,
                       path_replacements, scrub_paths)
from .manifest import _t, manifest_markdown
from .verdict import verdict_markdown


def _toc_with_datasets(text: str, lang: str, chapters: list[str], main: str, extra: list[str]) -> str:
    """The edition's table of contents: its appendix part named after the main dataset, and one appendix part
    per further dataset."""
    caption = APPENDIX_CAPTION["dataset"][lang]
    text = text.replace(f'caption: "{APPENDIX_CAPTION["root"][lang]}"', f'caption: "{caption.format(dataset=main)}"', 1)
    lines = [text.rstrip("\n")]
    for dataset in extra:
        lines += [f'  - caption: "{caption.format(dataset=dataset)}"', "    chapters:"]
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
    main = datasets[0] if datasets else _dataset_name(main_dir, chapters)
    for lang, (config, toc) in LANGS.items():
        shutil.copy2(root / config, tmp / config)
        text = (root / toc).read_text(encoding="utf-8")
        atomic_write_text(tmp / toc, _toc_with_datasets(text, lang, chapters, main, extra))
    shutil.copytree(root / "book", tmp / "book", ignore=shutil.ignore_patterns("_generated", ".*"))
    gen = tmp / "book" / "_generated"
    (gen / "nb").mkdir(parents=True)
    paths = path_replacements(root, results_dir)
    _stage_results(main_dir, chapters, gen, paths)
    for dataset in extra:
        _stage_results(results_dir / dataset, chapters, gen / dataset, paths)
    for lang in LANGS:
        atomic_write_text(gen / f"glossary.{lang}.md", phrases.glossary_markdown(lang))
        atomic_write_text(gen / f"manifest.{lang}.md", manifest_markdown(
            main_dir, chapters, lang, datasets=[results_dir / d for d in datasets] if extra else None, seeds=seeds))
        for chapter in chapters:
            atomic_write_text(tmp / "book" / lang / f"{chapter}{FURTHER_SUFFIX}",
                              further_sections(root, chapter, lang, extra))
    folders = {d: results_dir / d for d in datasets} if datasets else {_dataset_name(main_dir, chapters): main_dir}
    for lang in LANGS:
        atomic_write_text(gen / f"verdict.{lang}.md", verdict_markdown(folders, lang))
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
    from ..seeds import MODELS_CHAPTER

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
    from ..seeds import chapter_tables, display_over_seeds, over_seeds

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

    from ..claims import claims_by_dataset

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
