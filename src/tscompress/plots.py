"""Figures and display tables, in both languages of the book.

Figures are drawn once per language (``fig_curves.en.png`` and ``fig_curves.ru.png``) because the
two editions must read naturally; the numbers behind them are the same run. Every accuracy plot
shows the majority-class rate beside the accuracy, so a collapsed classifier cannot pass for a
good one.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import phrases

__all__ = ["LANGS", "label", "training_curves", "accuracy_intervals", "display_table", "fmt_acc", "fmt_ci"]

LANGS = ("en", "ru")

LABELS: dict[str, dict[str, str]] = phrases.table("labels")


def label(key: str, lang: str) -> str:
    try:
        return LABELS[key][lang]
    except KeyError:
        return key


def fmt_acc(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"


def fmt_ci(value: float, lo: float, hi: float) -> str:
    return f"{fmt_acc(value)} [{fmt_acc(lo)}, {fmt_acc(hi)}]"


def _style() -> None:
    plt.rcParams.update({
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
        "legend.fontsize": 8,
        "legend.frameon": False,
    })


def training_curves(histories: Mapping[str, Sequence[Mapping[str, Any]]], lang: str = "en",
                    best_epochs: Mapping[str, int] | None = None, max_cols: int = 3) -> plt.Figure:
    """Loss (upper row) and accuracy (lower row) per epoch, one column per model, at most
    ``max_cols`` models side by side (more wrap into further row pairs); the selected (best
    validation) epoch marked with a vertical line. Epoch 0, when a run started from a trained model,
    is its start (validation only). A panel's title says how its run ended when the history records
    it (``stopped_by``): by patience, at its cap (cut), or converged."""
    _style()
    names = list(histories)
    cols = max(1, min(len(names), max_cols))
    blocks = -(-len(names) // cols)
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(3.6 * cols, 5.4 * blocks), squeeze=False)
    for k, name in enumerate(names):
        b, j = divmod(k, cols)
        h = pd.DataFrame(histories[name])
        for i, (metric, ylabel) in enumerate((("loss", "loss"), ("accuracy", "accuracy"))):
            ax = axes[2 * b + i, j]
            ax.plot(h["epoch"], h[f"train_{metric}"], marker="o", ms=3, label=label("train", lang))
            ax.plot(h["epoch"], h[f"val_{metric}"], marker="s", ms=3, label=label("val", lang))
            if best_epochs and name in best_epochs:
                ax.axvline(best_epochs[name], color="grey", ls=":", lw=1, label=label("best_epoch", lang))
            if i == 0:
                ended = histories[name][-1].get("stopped_by") if len(histories[name]) else None
                ax.set_title(name if ended is None else f"{name}\n{label('stopped_' + ended, lang)}", fontsize=9)
            else:
                ax.set_xlabel(label("epoch", lang))
            if j == 0:
                ax.set_ylabel(label(ylabel, lang))
        axes[2 * b, j].legend(loc="best")
    for k in range(len(names), blocks * cols):  # empty places of the last row pair
        b, j = divmod(k, cols)
        axes[2 * b, j].set_visible(False)
        axes[2 * b + 1, j].set_visible(False)
    fig.tight_layout()
    return fig


def accuracy_intervals(rows: pd.DataFrame, lang: str = "en", study: Mapping[str, float] | None = None,
                       name_col: str = "model") -> plt.Figure:
    """Test accuracy with its 95% interval per row, the majority-class rate of the same test cases,
    and (optionally) the study's reported accuracy."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.55 * len(rows)))
    y = np.arange(len(rows))[::-1]
    acc = rows["test_accuracy"].to_numpy()
    lo, hi = rows["test_accuracy_lo"].to_numpy(), rows["test_accuracy_hi"].to_numpy()
    ax.errorbar(acc, y, xerr=[acc - lo, hi - acc], fmt="o", color="C0", capsize=4, label=label("this_run", lang))
    ax.scatter(rows["test_balanced_accuracy"], y - 0.15, marker="D", s=18, color="C2", label=label("balanced", lang))
    ax.scatter(rows["test_majority_rate"], y, marker="|", s=300, color="C3", label=label("majority", lang))
    if study:
        vals = [study.get(n, np.nan) for n in rows[name_col]]
        ax.scatter(vals, y + 0.15, marker="*", s=70, color="C1", label=label("study", lang))
    ax.set_yticks(y, rows[name_col])
    ax.set_xlabel(label("accuracy", lang))
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
    fig.tight_layout()
    return fig


def display_table(df: pd.DataFrame, columns: Iterable[tuple[str, str]], lang: str) -> pd.DataFrame:
    """Rename machine column names to the language's labels (``columns``: (column, label key))."""
    cols = list(columns)
    out = df[[c for c, _ in cols]].copy()
    out.columns = [label(key, lang) for _, key in cols]
    return out


def split_table(data, lang: str) -> pd.DataFrame:
    """The parts of a loaded dataset (train / validation / test): cases and majority-class rate."""
    from .names import number

    rows = [{label("part", lang): label(part, lang), label("cases", lang): number(len(getattr(data, part)), lang, 0),
             label("majority_short", lang): number(getattr(data, part).majority_rate(), lang)}
            for part in ("train", "val", "test")]
    return pd.DataFrame(rows)


def localize_figure(fig, lang: str):
    """Tick labels of every axis of ``fig`` in the edition's number format (``0,70`` in Russian),
    whatever formatter the axis uses: each formatter is wrapped, its labels go through
    :func:`tscompress.names.localize_numbers`. English figures are left alone."""
    if lang == "en":
        return fig
    from matplotlib.ticker import Formatter

    from .names import localize_numbers

    class Localized(Formatter):
        def __init__(self, inner):
            self.inner = inner

        def set_axis(self, axis):
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs):
            self.inner.set_locs(locs)

        def __call__(self, x, pos=None):
            return localize_numbers(self.inner(x, pos), lang)

        def format_ticks(self, values):
            return [localize_numbers(t, lang) for t in self.inner.format_ticks(values)]

        def get_offset(self):
            return localize_numbers(self.inner.get_offset(), lang)

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which, getter, setter in (("major", axis.get_major_formatter, axis.set_major_formatter),
                                          ("minor", axis.get_minor_formatter, axis.set_minor_formatter)):
                current = getter()
                if not isinstance(current, Localized):
                    setter(Localized(current))
    return fig


INTEGER_AXES = ("epoch", "peft_rank")
"""Label keys of axes that count something (epochs, ranks): their ticks are integers only."""


def finish_figure(fig, lang: str, min_tick_size: float = 7.0):
    """What every figure of the book gets before it is saved: integer ticks on epoch and rank axes,
    tick labels no smaller than ``min_tick_size`` points, a single panel's legend moved outside the
    axes (right) and the legends of several panels gathered below them, so that no legend covers
    data, and numbers in the edition's format."""
    from matplotlib.ticker import MaxNLocator

    counting = {label(k, lang) for k in INTEGER_AXES}
    for ax in fig.axes:
        for axis, text in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            if any(text.startswith(c) for c in counting) and axis.get_scale() == "linear":
                axis.set_major_locator(MaxNLocator(integer=True))
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks()
            if ticks and ticks[0].label1.get_fontsize() < min_tick_size:
                axis.set_tick_params(labelsize=min_tick_size)
    if len(fig.axes) == 1:
        ax = fig.axes[0]
        legend = ax.get_legend()
        if legend is not None and not _anchored_outside(legend, ax):
            handles, labels_ = ax.get_legend_handles_labels()
            if handles:
                size = legend.get_texts()[0].get_fontsize() if legend.get_texts() else 8
                ax.legend(handles, labels_, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                          fontsize=size)
    elif len(fig.axes) > 1:
        _panel_legends_below(fig)
    return localize_figure(fig, lang)


def _panel_legends_below(fig) -> None:
    """Legends drawn inside the panels of a multi-panel figure become one legend below all panels
    (entries with the same label once), so that no legend covers a panel's data."""
    handles, labels_, size = [], [], 8.0
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or _anchored_outside(legend, ax):
            continue
        if legend.get_texts():
            size = legend.get_texts()[0].get_fontsize()
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels_:
                handles.append(h)
                labels_.append(lab)
        legend.remove()
    if handles:
        fig.legend(handles, labels_, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 4),
                   fontsize=size, frameon=False)


def _anchored_outside(legend, ax) -> bool:
    """Is the legend placed by a bbox_to_anchor outside the axes (the figures that already do so)?"""
    box = legend.get_bbox_to_anchor()
    axes_box = ax.get_window_extent() if ax.figure.canvas is not None else None
    if box is None or axes_box is None:
        return False
    return bool(box.x0 >= axes_box.x1 - 1 or box.y1 <= axes_box.y0 + 1 or box.y0 >= axes_box.y1 - 1
                or box.x1 <= axes_box.x0 + 1)
