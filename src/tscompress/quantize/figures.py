"""The quantization chapter's figure of accuracy against bits (the study's Figure 8 side), in both languages."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from ..plots import _style, fmt_acc, label

__all__ = ["PTQ_METHODS", "bits_figure"]

PTQ_METHODS = ("quantile", "uniform", "nf")
"""The chapter's PTQ methods in the order of the figure (labels ``q_method_<name>`` in the phrase tables)."""


def bits_figure(ptq: pd.DataFrame, tuned: pd.DataFrame, lang: str, ste_bits: Sequence[int]) -> plt.Figure:
    """Test accuracy (with its interval) and balanced accuracy of every PTQ method per bit width, the same models
    after code fine-tuning (``tuned`` rows with ``procedure == "codes"``) and after STE fine-tuning at ``ste_bits``
    (``procedure == "ste_tune"``), against the fp32 model (``ptq`` row with ``method == "fp32"``) and the majority
    rate. ``ptq`` and ``tuned`` hold one seed."""
    _style()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    base = ptq[ptq["method"] == "fp32"].iloc[0]
    after, after_ste = label("q_after_codes", lang), label("q_after_ste", lang)
    for i, method in enumerate(PTQ_METHODS):
        name, x = label(f"q_method_{method}", lang), (i - 1) * 0.08
        g = ptq[ptq["method"] == method].sort_values("bits")
        ax.errorbar(g["bits"] + x, g["test_accuracy"],
                    yerr=[g["test_accuracy"] - g["test_accuracy_lo"], g["test_accuracy_hi"] - g["test_accuracy"]],
                    fmt="o-", ms=4, capsize=2, lw=1, label=name, color=f"C{i}")
        ax.plot(g["bits"] + x, g["test_balanced_accuracy"], "x:", ms=5, lw=0.8, color=f"C{i}")
        h = tuned[(tuned["method"] == method) & (tuned["procedure"] == "codes")].sort_values("bits")
        ax.plot(h["bits"] + x + 0.04, h["test_accuracy"], "D--", ms=4, lw=1, color=f"C{i}", mfc="white",
                label=f"{name}, {after}")
        h = tuned[(tuned["method"] == method) & (tuned["procedure"] == "ste_tune") & tuned["bits"].isin(ste_bits)]
        ax.plot(h["bits"] + x - 0.04, h["test_accuracy"], "^", ms=5, color=f"C{i}", mfc="white",
                label=f"{name}, {after_ste}")
    ax.axhline(base["test_accuracy"], color="grey", lw=1, ls="--", label=f"fp32 ({fmt_acc(base['test_accuracy'])})")
    ax.axhline(base["test_majority_rate"], color="C3", lw=1, ls=":", label=label("majority", lang))
    ax.set_xlabel(label("q_bits", lang))
    ax.set_ylabel(label("accuracy", lang))
    ax.set_xticks(sorted(set(ptq["bits"]) - {32}))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax.set_title(label("q_bits_title", lang), fontsize=10)
    return fig
