"""The chapter's figures (counterparts of the study's Figures 9–13), in both languages."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import _style, label

__all__ = ["val_loss_per_rank", "accuracy_per_rank", "time_per_rank"]


def val_loss_per_rank(histories: Mapping[int, Sequence[Mapping[str, Any]]], lang: str, title: str,
                      reference: Sequence[Mapping[str, Any]] | None = None) -> plt.Figure:
    """Validation loss per epoch, one line per rank (Figures 9 and 11); full fine-tuning dashed."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    cmap = plt.get_cmap("viridis")
    ranks = sorted(histories)
    for i, r in enumerate(ranks):
        h = pd.DataFrame(histories[r])
        ax.plot(h["epoch"], h["val_loss"], marker="o", ms=3, color=cmap(i / max(1, len(ranks) - 1) * 0.85),
                label=f"r = {r}")
    if reference is not None:
        h = pd.DataFrame(reference)
        ax.plot(h["epoch"], h["val_loss"], ls="--", color="C3", label=label("peft_full_ft", lang))
    ax.set_xlabel(label("epoch", lang))
    ax.set_ylabel(label("peft_val_loss", lang))
    ax.set_title(title)
    ax.legend(loc="best", ncol=2)
    fig.tight_layout()
    return fig


def accuracy_per_rank(rows: pd.DataFrame, lang: str, title: str, references: Mapping[str, float] | None = None,
                      budget_rank: int | None = None) -> plt.Figure:
    """Test accuracy per rank with its 95% interval, balanced accuracy and the majority-class rate
    (Figures 10 and 12); horizontal lines for reference models (e.g. the 8-bit pretrained model)."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    rows = rows.sort_values("rank")
    x = np.arange(len(rows))
    acc = rows["test_accuracy"].to_numpy()
    lo, hi = rows["test_accuracy_lo"].to_numpy(), rows["test_accuracy_hi"].to_numpy()
    ax.errorbar(x, acc, yerr=[acc - lo, hi - acc], fmt="o", color="C0", capsize=4, label=label("this_run", lang))
    ax.scatter(x + 0.12, rows["test_balanced_accuracy"], marker="D", s=18, color="C2", label=label("balanced", lang))
    ax.scatter(x, rows["test_majority_rate"], marker="_", s=400, color="C3", label=label("majority", lang))
    styles = ["--", ":", "-."]
    for i, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, ls=styles[i % len(styles)], color=f"C{4 + i}", lw=1, label=name)
    ticks = [f"{int(r)}" + (" *" if budget_rank is not None and int(r) == budget_rank else "") for r in rows["rank"]]
    ax.set_xticks(x, ticks)
    ax.set_xlabel(label("peft_rank", lang) + (f" (* {label('peft_budget_rank', lang)})" if budget_rank else ""))
    ax.set_ylabel(label("accuracy", lang))
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_title(title)
    ax.legend(loc="lower left", ncol=2)
    fig.tight_layout()
    return fig


def time_per_rank(rows: pd.DataFrame, lang: str, full_seconds: float | None = None) -> plt.Figure:
    """Seconds per training epoch against the rank, per method (Figure 13), with full fine-tuning's
    seconds per epoch as a horizontal line. ``rows``: ``method`` (label), ``rank``, ``seconds_per_epoch``."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (method, g) in enumerate(rows.groupby("method", sort=False)):
        g = g.sort_values("rank")
        ax.plot(g["rank"], g["seconds_per_epoch"], marker="o", color=f"C{i}", label=method)
    if full_seconds is not None:
        ax.axhline(full_seconds, ls="--", color="C3", label=label("peft_full_ft", lang))
    ax.set_xscale("log", base=2)
    ranks = sorted(int(r) for r in rows["rank"].unique())
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.minorticks_off()
    ax.set_xlabel(label("peft_rank", lang))
    ax.set_ylabel(label("peft_seconds_per_epoch", lang))
    ax.set_ylim(bottom=0)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def dylora_vs_separate(dy: pd.DataFrame, separate: pd.DataFrame, lang: str) -> plt.Figure:
    """DyLoRA (one run, truncated to every rank) against separately trained QLoRA runs: validation loss
    (left) and test accuracy with its 95% interval (right) per rank. ``dy``: ``rank``, ``val_loss``,
    ``test_accuracy(_lo/_hi)``, ``test_majority_rate``; ``separate``: ``rank``, ``val_loss``,
    ``test_accuracy(_lo/_hi)``."""
    _style()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.6))
    dy = dy.sort_values("rank")
    separate = separate.sort_values("rank")
    name_dy = {"en": "QDyLoRA (one run, truncated)", "ru": "QDyLoRA (один запуск, усечение)"}[lang]
    name_sep = {"en": "QLoRA (trained per rank)", "ru": "QLoRA (отдельно для каждого ранга)"}[lang]
    a1.plot(dy["rank"], dy["val_loss"], marker=".", color="C0", label=name_dy)
    a1.scatter(separate["rank"], separate["val_loss"], marker="s", color="C1", zorder=3, label=name_sep)
    a1.set_xlabel(label("peft_rank", lang))
    a1.set_ylabel(label("peft_val_loss", lang))
    a1.legend(loc="best")
    a2.fill_between(dy["rank"], dy["test_accuracy_lo"], dy["test_accuracy_hi"], color="C0", alpha=0.15)
    a2.plot(dy["rank"], dy["test_accuracy"], marker=".", color="C0", label=name_dy)
    acc = separate["test_accuracy"].to_numpy()
    a2.errorbar(separate["rank"], acc, yerr=[acc - separate["test_accuracy_lo"], separate["test_accuracy_hi"] - acc],
                fmt="s", color="C1", capsize=3, label=name_sep)
    a2.plot(dy["rank"], dy["test_majority_rate"], color="C3", lw=1, ls="-", label=label("majority", lang))
    a2.set_xlabel(label("peft_rank", lang))
    a2.set_ylabel(label("accuracy", lang))
    a2.set_ylim(0.0, 1.0)
    a2.legend(loc="lower right")
    fig.tight_layout()
    return fig


def fast_forward_curves(plain: Sequence[Mapping[str, Any]], ff: Sequence[Mapping[str, Any]], lang: str,
                        title: str) -> plt.Figure:
    """Validation loss against cumulative training seconds, with and without Fast Forward."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for hist, name, color in ((plain, {"en": "without Fast Forward", "ru": "без Fast Forward"}[lang], "C0"),
                              (ff, {"en": "with Fast Forward", "ru": "с Fast Forward"}[lang], "C1")):
        h = pd.DataFrame(hist)
        ax.plot(h["seconds"].cumsum(), h["val_loss"], marker="o", ms=3, color=color, label=name)
    ax.set_xlabel({"en": "training seconds (cumulative)", "ru": "секунды обучения (нарастающим итогом)"}[lang])
    ax.set_ylabel(label("peft_val_loss", lang))
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig
