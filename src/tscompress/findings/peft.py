"""What the PEFT chapter found: how much of what quantization lost the adapters win back, per rank.

The recovery experiment adapts a quantized base that lost accuracy (chosen on validation: the quantile base of the
most bits whose validation loss is at least a set multiple of fp32's). For every adapted model the fraction of the
loss recovered is

* on validation, by loss: ``(L_base − L) / (L_base − L_fp32)``;
* on test, by accuracy: ``(acc − acc_base) / (acc_fp32 − acc_base)``, defined only when the base lost test accuracy;

1 means back to fp32, above 1 better than fp32, below 0 worse than the base. Full fine-tuning of the same base is the
ceiling the adapters are set against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from .. import phrases
from ..names import CRITERION_NAMES, RU_NOUNS, counted, method_name, noun_forms, number, p_value, percent, plural
from . import DIFFER

__all__ = ["recovered", "recovery_rows", "recovery_text", "no_recovery_text", "unchanged_text", "kept_falling",
           "dylora_fit_text", "dylora_test_text", "apart_text", "changed_text", "beats_text", "time_text", "span",
           "base_name", "row_name", "grid_note", "dylora_span_text", "FastForwardGain", "fast_forward_gain",
           "fast_forward_texts"]

_PHRASES: dict[str, dict[str, str]] = phrases.table("findings_peft")

_TEST_CASES = {lang: noun_forms("test_case.nom", lang) for lang in ("en", "ru")}

_VERB = {"en": {"one": "predicts", "other": "predict"}, "ru": {"one": "предсказывает", "other": "предсказывают"}}


def _p(key: str, lang: str, **values: object) -> str:
    return _PHRASES[key][lang].format(**values)


def recovered(value: float, base: float, fp32: float, higher_is_better: bool) -> float:
    """The fraction of ``fp32 − base`` that ``value`` won back (NaN when the base lost nothing)."""
    lost = (fp32 - base) if higher_is_better else (base - fp32)
    if lost <= 0:
        return float("nan")
    won = (value - base) if higher_is_better else (base - value)
    return won / lost


LOSS_DECIMALS = 3  # the page prints losses at three decimals


def recovery_rows(rows: Sequence[Mapping], base: Mapping, fp32: Mapping) -> list[dict]:
    """Each adapted (or fully fine-tuned) model's recovered fractions. ``rows`` have ``method``, ``rank``,
    ``val_loss``, ``test_accuracy``; ``base`` and ``fp32`` have ``val_loss`` and ``test_accuracy``.

    The validation fraction is computed from the losses as the page prints them (``LOSS_DECIMALS``): when the base
    lost little, the fraction of a small difference at full precision is float noise that changes with the thread
    count (the same run on two executors printed 5 % and 2 %), and the reader could not check it from the page."""
    def loss(v: float) -> float:
        return round(float(v), LOSS_DECIMALS)

    out = []
    for r in rows:
        out.append({**r, "recovered_val": recovered(loss(r["val_loss"]), loss(base["val_loss"]), loss(fp32["val_loss"]),
                                                    False),
                    "recovered_test": recovered(r["test_accuracy"], base["test_accuracy"], fp32["test_accuracy"], True)})
    return out


def _share(v: float, lang: str) -> str:
    return _p("undefined", lang) if v != v else percent(v, lang, 0)


def recovery_text(bits: int, table: Sequence[Mapping], base: Mapping, fp32: Mapping, lang: str,
                  histories: Mapping[str, Sequence[Mapping]] | None = None, select: str = "loss",
                  val_n: int = 0) -> str:
    """The recovery experiment in one paragraph: what the base lost, what each rank and full fine-tuning won back.

    ``histories`` (a run's name -> its epoch records, ``epoch``, ``val_loss``, ``best``) add which runs stopped while
    their validation loss still fell (by more than the printed precision) after the chosen epoch: a selection on
    an accuracy over few validation cases ends such runs early, and the fraction recovered is read at that epoch."""
    adapters = sorted((r for r in table if r["method"] != "full"), key=lambda r: r["rank"])
    full = [r for r in table if r["method"] == "full"]
    items = "; ".join(_p("item", lang, rank=int(r["rank"]), val=_share(r["recovered_val"], lang),
                         test=_share(r["recovered_test"], lang), acc=number(r["test_accuracy"], lang))
                      for r in adapters)
    full_text = (_p("full", lang, val=_share(full[0]["recovered_val"], lang), test=_share(full[0]["recovered_test"], lang),
                    acc=number(full[0]["test_accuracy"], lang)) if full else "—")
    text = _p("head", lang, bits=bits, base_loss=number(base["val_loss"], lang), fp32_loss=number(fp32["val_loss"], lang),
              base_acc=number(base["test_accuracy"], lang), fp32_acc=number(fp32["test_accuracy"], lang), items=items,
              full=full_text)
    falling = kept_falling(histories or {}) if select in ("accuracy", "balanced_accuracy", "mean_accuracy") else []
    if falling:
        cases = counted(val_n, RU_NOUNS["val_case.prep"] if lang == "ru" else {"one": "validation case",
                                                                               "other": "validation cases"}, lang)
        text += _p("kept_falling", lang, criterion=CRITERION_NAMES[select][lang], cases=cases,
                   items=", ".join(_p("kept_item", lang, name=name, chosen=number(c["val_loss"], lang), epoch=c["epoch"],
                                      last=number(l["val_loss"], lang), last_epoch=l["epoch"]) for name, c, l in falling))
    return text


def kept_falling(histories: Mapping[str, Sequence[Mapping]]) -> list[tuple[str, Mapping, Mapping]]:
    """(name, chosen epoch's record, last epoch's record) of every run whose last validation loss is lower than its
    chosen epoch's at the printed precision."""
    out = []
    for name, h in histories.items():
        chosen = [r for r in h if r.get("best")]
        if not h or not chosen:
            continue
        c, last = chosen[-1], h[-1]
        if round(float(last["val_loss"]), LOSS_DECIMALS) < round(float(c["val_loss"]), LOSS_DECIMALS):
            out.append((name, c, last))
    return out


def no_recovery_text(bits: Sequence[int], ratio: float, fp32_loss: float, losses: Mapping[int, float], lang: str) -> str:
    shown = "; ".join(f"int{b}: {number(v, lang)}" for b, v in losses.items())
    return _p("none", lang, bits=", ".join(str(b) for b in bits), ratio=number(ratio, lang, 1),
              fp32_loss=number(fp32_loss, lang), losses=shown)


def unchanged_text(rows: Sequence[Mapping], lang: str) -> str:
    """Which adapted models predict exactly what their base predicts on every test case, and why: validation chose
    the start (epoch 0), or an epoch that moved the loss but no prediction. ``rows`` have ``name``,
    ``changed_preds``, ``best_epoch``, ``val_loss`` and ``base_val_loss`` (the base's validation loss)."""
    same = [r for r in rows if int(r["changed_preds"]) == 0]
    if not same:
        return _p("changed_all", lang, n=len(rows))
    parts = [_p("unchanged_head", lang, n=len(rows), k=len(same), verb=plural(len(same), _VERB[lang], lang))]
    start = [r for r in same if int(r["best_epoch"]) == 0]
    moved = [r for r in same if int(r["best_epoch"]) != 0]
    if start:
        parts.append(_p("unchanged_start", lang, items=", ".join(r["name"] for r in start)))
    if moved:
        parts.append(_p("unchanged_moved", lang, items=", ".join(
            _p("unchanged_item", lang, name=r["name"], epoch=int(r["best_epoch"]), loss=number(r["val_loss"], lang),
               base_loss=number(r["base_val_loss"], lang)) for r in moved)))
    return "; ".join(parts)


def dylora_fit_text(dylora_loss: Mapping[int, float], separate_loss: Mapping[int, float], lang: str) -> str:
    """One truncated DyLoRA run against QLoRA runs trained at each rank alone: at how many ranks the separate run has
    the lower / higher validation loss, compared at the page's three decimals (beyond them the order is float noise
    that changes with the thread count), and what that says about sharing one set of factors among all ranks."""
    dy = {int(r): round(float(v), LOSS_DECIMALS) for r, v in dylora_loss.items()}
    sep = {int(r): round(float(v), LOSS_DECIMALS) for r, v in separate_loss.items()}
    lower = sum(v < dy[r] for r, v in sep.items())
    higher = sum(v > dy[r] for r, v in sep.items())
    same = len(sep) - lower - higher
    fit = _p("dylora_fit_lower" if lower > higher else "dylora_fit_higher" if lower < higher else "dylora_fit_even",
             lang)
    compared = (counted(len(sep), {"one": "rank", "other": "ranks"}, "en") + " compared" if lang == "en"
                else counted(len(sep), RU_NOUNS["compared_rank.gen"], "ru"))
    return _p("dylora_loss", lang, lower=lower, higher=higher, compared=compared, fit=fit,
              same=_p("dylora_same", lang, k=same) if same else "")


def dylora_test_text(n_significant: int, n_compared: int, lang: str) -> str:
    """How many truncated ranks differ on the test set from the run trained at that rank (exact McNemar)."""
    if n_significant == 0:
        return _p("dylora_test_none", lang)
    compared = str(n_compared) if lang == "en" else counted(n_compared, RU_NOUNS["compared_rank.gen"], "ru")
    return _p("dylora_test_some", lang, k=n_significant, compared=compared)


def apart_text(accuracies: Sequence[float], n_test: int, lang: str) -> str:
    """How far apart a group of models' test accuracies lie, in test cases."""
    apart = int(round((max(accuracies) - min(accuracies)) * n_test))
    if apart == 0:
        return _p("apart_none", lang)
    return _p("apart_some", lang, cases=counted(apart, _TEST_CASES[lang], lang))


def changed_text(tests: Sequence[tuple[str, object]], lang: str) -> str:
    """Of the adapted models, which differ significantly from their base before fine-tuning: ``tests`` holds each
    model's display name (in this edition) and its exact McNemar result against the base (``b`` cases only the
    adapted model got right, ``c`` only the base, ``p_value``, ``significant``)."""
    sig = [(name, res) for name, res in tests if res.significant]
    k, n = len(sig), len(tests)
    verb = plural(k, DIFFER[lang], lang)
    head = _p("changed_head", lang, k=k, verb=verb, n=n if lang == "en" else counted(n, RU_NOUNS["model.gen"], "ru"))
    if not sig:
        return head
    listed = "; ".join(f"{name} ({res.b} / {res.c}, {p_value(res.p_value, lang)})" for name, res in sig)
    return head + _p("changed_list", lang, items=listed)


def beats_text(accuracies: Mapping[int, float], reference: float, lang: str) -> str:
    """The smallest rank whose test accuracy exceeds ``reference`` (the higher-bit model), or that none does."""
    beats = [r for r in sorted(accuracies) if accuracies[r] > reference]
    if beats:
        return _p("beats_rank", lang, rank=beats[0], acc=number(accuracies[beats[0]], lang),
                  ref=number(reference, lang))
    return _p("beats_none", lang, ranks=", ".join(map(str, sorted(accuracies))),
              best=number(max(accuracies.values()), lang), ref=number(reference, lang))


def time_text(adapter_seconds_per_epoch: Sequence[float], full_seconds_per_epoch: float, lang: str) -> str:
    """Whether any adapter run is faster per epoch than full fine-tuning, and by at most how much."""
    spe = list(adapter_seconds_per_epoch)
    faster = sum(v < full_seconds_per_epoch for v in spe)
    if faster == 0:
        return _p("time_none", lang)
    n = len(spe) if lang == "en" else counted(len(spe), RU_NOUNS["run.gen_plain"], "ru")
    return _p("time_some", lang, k=faster, n=n, most=percent(1 - min(spe) / full_seconds_per_epoch, lang))


def span(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """``lo–hi`` of some numbers as text; one value when they all print the same."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def base_name(key: str, lang: str) -> str:
    """A base by its key (``fp32``, ``nf4``, ``q<bits>``) in the edition's words."""
    if key == "fp32":
        return _p("base_fp32", lang)
    if key == "nf4":
        return "NF4"
    return _p("base_quantile", lang, bits=key[1:])


def row_name(method: str, base: str, lang: str, main_base: str, rank: int | None = None) -> str:
    """A row of the chapter's sweep: a base itself (``base`` empty, ``method`` its key), full fine-tuning from a
    base, or an adapter method at a rank; a base other than ``main_base`` is named after it."""
    if not base:
        return base_name(method, lang)
    if method == "full":
        return _p("row_full", lang, base=base_name(base, lang))
    extra = "" if base == main_base else _p("row_base", lang, base=base_name(base, lang))
    return method_name(method, lang) + ("" if rank is None else f" r = {rank}") + extra


def grid_note(ranks: Sequence[int], full_ranks: Sequence[int], lang: str) -> str:
    """Whether this run's rank grid is the full profile's, and if not, which ranks ran."""
    listed = lambda rs: ", ".join(str(r) for r in rs)  # noqa: E731
    if list(ranks) == list(full_ranks):
        return _p("grid_full", lang, ranks=listed(full_ranks))
    return _p("grid_cut", lang, full=listed(full_ranks), ranks=listed(ranks))


def dylora_span_text(values: Sequence[float], what: str, lang: str) -> str:
    """The truncated DyLoRA ranks' ``what`` (``acc``: test accuracy, ``loss``: validation loss) as one value at
    every rank or as a range."""
    shown = span(values)
    return _p(f"dylora_{what}_{'span' if '–' in shown else 'one'}", lang, span=shown)


@dataclass(frozen=True)
class FastForwardGain:
    """Plain QLoRA against QLoRA with Fast Forward: the plain run's lowest validation loss (``target``), the epoch
    and seconds at which each run first reached it (``ff_epoch`` None: Fast Forward never did)."""

    target: float
    plain_epoch: int
    plain_seconds: float
    ff_epoch: int | None
    ff_seconds: float | None


def fast_forward_gain(plain: Sequence[Mapping], fast: Sequence[Mapping]) -> FastForwardGain:
    """Read two epoch histories (``epoch``, ``val_loss``, ``seconds``; epoch 0 is the start, no steps taken)."""
    target = min(h["val_loss"] for h in plain)
    e_plain = max(1, next(h["epoch"] for h in plain if h["val_loss"] <= target))
    e_ff = next((h["epoch"] for h in fast if h["val_loss"] <= target), None)
    e_ff = None if e_ff is None else max(1, e_ff)
    seconds = lambda hist, e: sum(h["seconds"] for h in hist if 1 <= h["epoch"] <= e)  # noqa: E731
    return FastForwardGain(target, e_plain, seconds(plain, e_plain), e_ff,
                           None if e_ff is None else seconds(fast, e_ff))


def fast_forward_texts(gain: FastForwardGain, steps_per_epoch: int, accuracy: float, reference: float, bits: int,
                       n_test: int, lang: str) -> dict[str, str]:
    """``vs_hi``: Fast Forward's test accuracy against the ``bits``-bit model's ``reference``, in test cases;
    ``result``: whether and how fast it reached the plain run's lowest validation loss."""
    k = round((accuracy - reference) * n_test)
    acc = f"{reference:.3f}"
    vs_hi = (_p("ff_above", lang, bits=bits, acc=acc, cases=counted(k, _TEST_CASES[lang], lang)) if k > 0
             else _p("ff_not_above", lang, bits=bits, acc=acc))
    if gain.ff_epoch is None:
        return {"vs_hi": vs_hi, "result": _p("ff_never", lang)}
    steps = gain.ff_epoch * steps_per_epoch
    dt = 100 * (1 - gain.ff_seconds / gain.plain_seconds)
    time = _p("ff_less" if dt >= 0 else "ff_more", lang, pct=f"{abs(dt):.0f}")
    fewer = f"{100 * (1 - gain.ff_epoch / gain.plain_epoch):.0f}"
    steps_text = counted(steps, RU_NOUNS["step.nom"], lang) if lang == "ru" else f"{steps}"
    return {"vs_hi": vs_hi, "result": _p("ff_reaches", lang, steps=steps_text, seconds=f"{gain.ff_seconds:.1f}",
                                         fewer=fewer, time=time)}
