"""Several seeds: where each seed's results are, and every variant's mean and spread over them.

When a profile has several seeds, every (dataset, seed, chapter) is its own node of the run graph
(:mod:`tscompress.graph`): the first seed's chapters go to the dataset's results folder, as in a one-seed book
(they are what the pages show in full), every further seed's to ``<dataset>/seeds/<seed>/``
(:func:`tscompress.runner.seed_folder`). Each chapter records every model it tests in ``variants.csv``
(:mod:`tscompress.variants`); :func:`over_seeds` joins those tables across the seeds, variant by variant, and
:func:`display_over_seeds` is the table each chapter page shows beside the first seed's intervals.

    folders = seed_folders(results / "Heartbeat", [0, 1, 2])
    table = over_seeds({s: pd.read_csv(f / "01_sparsification" / "variants.csv") for s, f in folders.items()})
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from . import phrases
from .errors import DataError

__all__ = ["KEY", "seed_folders", "chapter_tables", "over_seeds", "display_over_seeds"]

KEY = ["chapter", "method", "setting", "base"]
"""What makes two seeds' rows the same variant (the seed aside)."""


def seed_folders(dataset_dir: Path, seeds: list[int]) -> dict[int, Path]:
    """Each seed's results folder inside one dataset's: the first seed's is the dataset's own."""
    from .runner import seed_folder

    return {s: seed_folder(Path(dataset_dir), s, list(seeds)) for s in seeds}


REFERENCE_METHOD = "reference"
"""The method of the models chapter's reference classifier (MiniRocket) in the seeds tables: not a variant of the
comparison, but every table of models shows it beside them."""


MODELS_CHAPTER = "00_models"


def chapter_tables(dataset_dir: Path, chapter: str, seeds: list[int]) -> dict[int, pd.DataFrame]:
    """Every seed's ``variants.csv`` of ``chapter`` (one line naming the first that is missing); the models
    chapter's tables also get its reference classifier (``reference.csv``) as method ``reference``, and every other
    chapter's tables start with the same seed's uncompressed models (the models chapter's rows) that the chapter
    compresses, so each compressed variant's spread over seeds stands beside its base's."""
    tables = {}
    for seed, folder in seed_folders(dataset_dir, seeds).items():
        path = folder / chapter / "variants.csv"
        if not path.is_file():
            raise DataError(f"{path} is missing: {chapter} has not run for seed {seed}")
        table = pd.read_csv(path)
        models = folder / MODELS_CHAPTER / "variants.csv"
        if chapter != MODELS_CHAPTER and models.is_file() and "base" in table:
            bases = pd.read_csv(models)
            bases = bases[bases["base"].isin(set(table["base"]))]
            table = pd.concat([bases[[c for c in bases.columns if c in table.columns]], table], ignore_index=True)
        ref = folder / chapter / "reference.csv"
        if ref.is_file():
            rows = pd.read_csv(ref).rename(columns={"model": "base"})
            rows = rows.assign(chapter=chapter, method=REFERENCE_METHOD, setting="")
            table = pd.concat([table, rows[[c for c in rows.columns if c in table.columns or c in KEY]]],
                              ignore_index=True)
        tables[seed] = table
    return tables


def over_seeds(tables: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """One row per variant (``KEY``) of the seeds' ``variants.csv`` tables, in the first seed's order (variants
    that only later seeds have follow): the first seed's test accuracy with its 95% interval, and over every seed
    that has the variant, the mean, standard deviation (``n - 1``; NaN for one seed) and range of the test
    accuracy, the mean and range of the balanced accuracy and the mean majority rate of the test cases."""
    if not tables:
        raise DataError("over_seeds needs at least one seed's table")
    seeds = list(tables)
    frames = []
    for seed, table in tables.items():
        missing = [c for c in KEY + ["test_accuracy", "test_balanced_accuracy", "test_majority_rate"] if c not in table]
        if missing:
            raise DataError(f"the variants table of seed {seed} has no column {missing[0]!r}")
        frame = table.copy()
        frame["seed"] = seed  # the node's seed, whatever the table says
        frame["setting"] = frame["setting"].astype(str)
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    rows = []
    for key, group in both.groupby(KEY, sort=False):
        first = group.iloc[0]
        acc = group["test_accuracy"].to_numpy(float)
        bacc = group["test_balanced_accuracy"].to_numpy(float)
        row = dict(zip(KEY, key))
        row.update({
            "removed": first.get("removed", np.nan) if "removed" in group else np.nan,
            "n_seeds": int(group["seed"].nunique()),
            "first_seed": int(first["seed"]),
            "first_accuracy": float(first["test_accuracy"]),
            "first_accuracy_lo": float(first.get("test_accuracy_lo", np.nan)),
            "first_accuracy_hi": float(first.get("test_accuracy_hi", np.nan)),
            "accuracy_mean": float(acc.mean()),
            "accuracy_sd": float(acc.std(ddof=1)) if acc.size > 1 else float("nan"),
            "accuracy_min": float(acc.min()),
            "accuracy_max": float(acc.max()),
            "balanced_mean": float(bacc.mean()),
            "balanced_min": float(bacc.min()),
            "balanced_max": float(bacc.max()),
            "majority_mean": float(group["test_majority_rate"].astype(float).mean()),
        })
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["seeds"] = seeds
    return out


_COLUMNS = phrases.table("seeds")


def display_over_seeds(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """:func:`over_seeds`'s table as a page shows it, in the edition's names and number format."""
    from .names import interval, number, variant_name

    first = int(table["first_seed"].iloc[0]) if len(table) else 0

    def pm(mean: float, sd: float) -> str:
        return number(mean, lang) + ("" if np.isnan(sd) else f" ± {number(sd, lang)}")

    def span(lo: float, hi: float) -> str:
        return f"{number(lo, lang)}–{number(hi, lang)}" if lo != hi else number(lo, lang)

    rows = []
    for r in table.to_dict("records"):
        shown_first = (interval(r["first_accuracy"], r["first_accuracy_lo"], r["first_accuracy_hi"], lang)
                       if r["first_seed"] == first else "—")
        rows.append({
            _COLUMNS["model"][lang]: r["base"] if r["method"] == REFERENCE_METHOD else variant_name(r, lang, base=True),
            _COLUMNS["first"][lang].format(seed=first): shown_first,
            _COLUMNS["mean"][lang]: pm(r["accuracy_mean"], r["accuracy_sd"]),
            _COLUMNS["range"][lang]: span(r["accuracy_min"], r["accuracy_max"]),
            _COLUMNS["balanced"][lang]: f"{number(r['balanced_mean'], lang)} ({span(r['balanced_min'], r['balanced_max'])})",
            _COLUMNS["majority"][lang]: number(r["majority_mean"], lang),
            _COLUMNS["n"][lang]: str(r["n_seeds"]),
        })
    return pd.DataFrame(rows)
