"""Every compressed model a chapter produces, on one scale, for the comparison chapter.

A method chapter records each model it evaluates on the test set as a *variant*: what it is
(chapter, method, setting, base model, seed), how big it is (non-zero parameters, stored bytes as
measured by the chapter — a real file where there is one), how it did (test accuracy with its 95%
interval, balanced accuracy, the majority rate of the same cases), what it cost (training or
fine-tuning seconds) and, optionally, the saved model so that latency can be measured later side by
side. Per-case test predictions go with it, so that paired tests (McNemar) against the baseline
are possible.

    reg = VariantLog(run)
    reg.add(method="magnitude", setting="50%", model=pruned, evaluation=ev, base="TimesNet", seed=0,
            stored_bytes=storage, train_seconds=fit.seconds, save=True)
    reg.save()          # variants.csv + variant_predictions.csv (+ variants/<id>.pt)

:func:`collect` reads them back from every chapter of a results folder.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .errors import DataError
from .results import ChapterRun, atomic_write_bytes

__all__ = ["relative_model_files", "VARIANT_COLUMNS", "VALIDATION_COLUMNS", "OPTIONAL_COLUMNS", "VariantLog", "collect", "count_nonzero", "fit_budget", "dense_bytes", "save_model", "load_model",
           "pareto_front", "variant_id"]

VARIANT_COLUMNS = [
    "id", "chapter", "method", "setting", "base", "seed", "params", "params_nonzero", "stored_bytes",
    "test_n", "test_accuracy", "test_accuracy_lo", "test_accuracy_hi", "test_balanced_accuracy",
    "test_majority_rate", "test_single_class", "train_seconds", "model_file",
]

VALIDATION_COLUMNS = ["val_n", "val_accuracy", "val_balanced_accuracy"]
"""The variant's scores on the validation part of its seed (NaN when the chapter did not give them):
what the comparison chapter selects on, so that no recommendation reads the test cases."""

BUDGET_COLUMNS = ["epochs_trained", "epoch_cap", "stopped_by"]
"""A trained variant's budget (:func:`fit_budget`); NaN for a variant that was not trained."""

OPTIONAL_COLUMNS = ["test_balanced_accuracy_lo", "test_balanced_accuracy_hi", *VALIDATION_COLUMNS, *BUDGET_COLUMNS]
"""Columns :func:`collect` fills with NaN (``val_n``: 0) when a chapter's table predates them."""


def variant_id(chapter: str, method: str, setting: str, base: str, seed: int) -> str:
    """A stable, file-name-safe identifier such as ``01_sparsification/magnitude/50pct/TimesNet/s0``."""
    def slug(text: Any) -> str:
        text = str(text).replace("%", "pct")
        return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "_"

    return "/".join([chapter, slug(method), slug(setting), slug(base), f"s{int(seed)}"])


def fit_budget(fit: Any, cap: int) -> dict[str, Any]:
    """A variant's training budget, for its row: ``epochs_trained`` (epochs or steps that ran, epoch 0 — the
    start's evaluation — not counted), ``epoch_cap`` (the most it could run) and ``stopped_by`` (``patience``,
    ``cap``, ``converged`` or ``fixed``: :attr:`tscompress.train.FitResult.stopped_by`)."""
    return {"epochs_trained": int(fit.epochs_trained), "epoch_cap": int(cap), "stopped_by": str(fit.stopped_by)}


def count_nonzero(model: nn.Module) -> int:
    """Non-zero parameter entries (pruning masks applied: reads the effective weights)."""
    total = 0
    seen: set[int] = set()
    for module in model.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if id(param) in seen:
                continue
            seen.add(id(param))
            effective = getattr(module, name[:-5], None) if name.endswith("_orig") else param
            tensor = effective if isinstance(effective, torch.Tensor) else param
            total += int(torch.count_nonzero(tensor.detach()))
    return total


def dense_bytes(model: nn.Module) -> int:
    """Bytes of all parameters stored densely at their own dtype (the fp32 reference; the study's
    accounting: buffers such as fixed positional encodings are recomputed, not stored)."""
    tensors = {id(t): t for t in model.parameters()}
    return int(sum(t.numel() * t.element_size() for t in tensors.values()))


def save_model(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save a whole module (architecture included — compressed models change it) atomically."""
    buf = io.BytesIO()
    torch.save(model, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_model(path: str | os.PathLike) -> nn.Module:
    """Load a module written by :func:`save_model` (a file of this project: trusted)."""
    try:
        model = torch.load(Path(path), map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise DataError(f"saved model not found: {path}") from None
    except Exception as exc:  # corrupt or foreign file
        raise DataError(f"cannot load saved model {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise DataError(f"{path} does not hold a model")
    return model.eval()


@dataclass
class VariantLog:
    """Collects a chapter's variants and writes them (see the module docstring)."""

    run: ChapterRun
    rows: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[pd.DataFrame] = field(default_factory=list)

    def add(self, *, method: str, setting: str, evaluation: Any, base: str, seed: int, model: nn.Module | None = None,
            params: int | None = None, params_nonzero: int | None = None, stored_bytes: int | None = None,
            train_seconds: float | None = None, save: bool = False, case_index: Sequence[int] | None = None,
            validation: Any = None, **extra: Any) -> dict[str, Any]:
        """Record one evaluated model. ``evaluation`` is a :class:`tscompress.train.EvalResult` on the
        test part; ``validation``, the same model's on the validation part (columns
        :data:`VALIDATION_COLUMNS`; what the comparison chapter selects on).

        ``params``/``params_nonzero``/``stored_bytes`` default to the model's dense figures; pass the
        chapter's own measurement (packed file, sparse encoding) where it has one."""
        vid = variant_id(self.run.chapter, method, setting, base, seed)
        if any(r["id"] == vid for r in self.rows):
            raise ValueError(f"variant {vid} recorded twice")
        if model is None and (params is None or stored_bytes is None):
            raise ValueError("give the model, or params and stored_bytes")
        if model is not None:
            params = sum(p.numel() for p in model.parameters()) if params is None else params
            params_nonzero = count_nonzero(model) if params_nonzero is None else params_nonzero
            stored_bytes = dense_bytes(model) if stored_bytes is None else stored_bytes
        model_file = ""
        if save:
            if model is None:
                raise ValueError("save=True needs the model")
            rel = f"variants/{vid.split('/', 1)[1]}.pt"
            save_model(model, self.run.path(rel))
            self.run._record(self.run.path(rel))
            model_file = rel
        summary = evaluation.summary("test_")
        row = {"id": vid, "chapter": self.run.chapter, "method": method, "setting": str(setting), "base": base,
               "seed": int(seed), "params": int(params), "params_nonzero": int(params_nonzero if params_nonzero
                                                                                   is not None else params),
               "stored_bytes": int(stored_bytes),
               **{k: summary[k] for k in [*VARIANT_COLUMNS, *OPTIONAL_COLUMNS] if k in summary},
               "train_seconds": float(train_seconds) if train_seconds is not None else float("nan"),
               "model_file": model_file,
               "val_n": int(validation.n) if validation is not None else 0,
               "val_accuracy": float(validation.accuracy) if validation is not None else float("nan"),
               "val_balanced_accuracy": (float(validation.balanced_accuracy) if validation is not None
                                         else float("nan")), **extra}
        self.rows.append(row)
        cases = np.asarray(case_index if case_index is not None else np.arange(len(evaluation.labels)))
        self.predictions.append(pd.DataFrame({"id": vid, "case": cases, "label": evaluation.labels,
                                              "pred": evaluation.preds,
                                              "correct": np.asarray(evaluation.correct, dtype=int)}))
        return row

    def table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows)
        if df.empty:
            return pd.DataFrame(columns=VARIANT_COLUMNS)
        extra = [c for c in df.columns if c not in VARIANT_COLUMNS]
        return df[[c for c in VARIANT_COLUMNS if c in df.columns] + extra]

    def save(self) -> tuple[Path, Path]:
        preds = pd.concat(self.predictions) if self.predictions else pd.DataFrame(
            columns=["id", "case", "label", "pred", "correct"])
        return self.run.save_table(self.table(), "variants"), self.run.save_table(preds, "variant_predictions")


def relative_model_files(table: pd.DataFrame, results_dir: str | os.PathLike, chapter: str,
                         folder: str | os.PathLike) -> list[str]:
    """The ``model_file`` column of a table :func:`collect` read (absolute paths of this run) as the chapters wrote
    it: relative to each variant's chapter folder, ``folder`` for ``chapter`` itself (a chapter still being
    written), ``results_dir/<chapter>`` for the others; empty where a variant kept no model."""
    out = []
    for path, owner in zip(table["model_file"], table["chapter"]):
        if not isinstance(path, str) or not path:
            out.append("")
            continue
        base = Path(folder) if owner == chapter else Path(results_dir) / owner
        out.append(str(Path(path).resolve().relative_to(base.resolve())))
    return out


def collect(results_dir: str | os.PathLike, chapters: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variants (and their per-case predictions) that the chapters in ``results_dir`` wrote."""
    results_dir = Path(results_dir)
    if chapters is None:
        chapters = sorted(p.parent.name for p in results_dir.glob("*/variants.csv"))
    tables, preds = [], []
    for chapter in chapters:
        folder = results_dir / chapter
        table_path, pred_path = folder / "variants.csv", folder / "variant_predictions.csv"
        if not table_path.exists() or not pred_path.exists():
            raise DataError(f"chapter {chapter} wrote no variants.csv / variant_predictions.csv in {folder}")
        t = pd.read_csv(table_path, keep_default_na=False, na_values=[""])
        missing = [c for c in VARIANT_COLUMNS if c not in t.columns]
        if missing:
            raise DataError(f"{table_path} lacks columns {missing}")
        for column in OPTIONAL_COLUMNS:  # written before these were recorded
            if column not in t.columns:
                t[column] = 0 if column == "val_n" else np.nan
        t["model_file"] = [str(folder / f) if isinstance(f, str) and f else "" for f in t["model_file"]]
        tables.append(t)
        preds.append(pd.read_csv(pred_path))
    if not tables:
        return pd.DataFrame(columns=VARIANT_COLUMNS), pd.DataFrame(columns=["id", "case", "label", "pred", "correct"])
    table = pd.concat(tables, ignore_index=True)
    dup = table["id"][table["id"].duplicated()]
    if len(dup):
        raise DataError(f"variant ids recorded twice: {sorted(set(dup))[:3]}")
    return table, pd.concat(preds, ignore_index=True)


def pareto_front(cost: Sequence[float], quality: Sequence[float]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (cost ≤, quality ≥, one strictly).

    Lower cost (bytes, latency) and higher quality (accuracy) are better; ties in both are all kept."""
    cost = np.asarray(cost, dtype=float)
    quality = np.asarray(quality, dtype=float)
    if cost.shape != quality.shape:
        raise ValueError("cost and quality must have the same length")
    keep = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (quality >= quality[i]) & ((cost < cost[i]) | (quality > quality[i]))
        keep[i] = not dominated.any()
    return keep
