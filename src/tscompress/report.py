"""Sentences the book builds from numbers, so that no verdict is typed by hand.

A page must say plainly when a result cannot be told apart from the majority-class rate or from
another result; these functions decide that from the intervals and return the sentence in the
edition's language.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .names import CRITERION_NAMES, and_list, interval, number, p_value, plural

__all__ = ["summary_line", "starting_point_text", "majority_position", "majority_verdict", "seeds_text", "pairwise_text", "selection_text", "memory_text", "ru_plural",
           "recipe_choice_text", "reference_text"]


def summary_line(head: str, row: Mapping, what: str = "test accuracy", tail: str = "") -> str:
    """One line of a chapter's run summary (printed and kept in its manifest): ``head: test accuracy 0.754 [95% CI
    0.639-0.852], n=61, majority rate 0.721, balanced accuracy 0.631`` and ``tail``."""
    return (f"{head}: {what} {row['test_accuracy']:.3f} [95% CI {row['test_accuracy_lo']:.3f}-"
            f"{row['test_accuracy_hi']:.3f}], n={row['test_n']}, majority rate {row['test_majority_rate']:.3f}, "
            f"balanced accuracy {row['test_balanced_accuracy']:.3f}{tail}")


def majority_position(row: Mapping) -> str:
    """Where a test accuracy stands against the majority-class rate of the same cases: ``one_class`` (it predicts one
    class), ``inside`` (the rate lies inside its 95% interval: cannot be told apart), ``above`` or ``below``."""
    if row.get("test_single_class"):
        return "one_class"
    lo, hi, maj = row["test_accuracy_lo"], row["test_accuracy_hi"], row["test_majority_rate"]
    if lo <= maj <= hi:
        return "inside"
    return "above" if lo > maj else "below"


def majority_verdict(row: Mapping, lang: str) -> str:
    """Compare a test accuracy (with its 95% interval) to the majority-class rate of the same cases.

    ``row`` has ``test_accuracy``, ``test_accuracy_lo``, ``test_accuracy_hi``,
    ``test_majority_rate`` and ``test_single_class``. Numbers in the edition's format.
    """
    num = lambda v: number(v, lang)  # noqa: E731
    acc, lo, hi = num(row["test_accuracy"]), row["test_accuracy_lo"], row["test_accuracy_hi"]
    maj = row["test_majority_rate"]
    bracket = interval(None, lo, hi, lang)
    position = majority_position(row)
    if position == "one_class":
        return {
            "en": f"predicts one class for every test case: its accuracy {acc} is just the majority-class rate",
            "ru": f"предсказывает один класс для всех тестовых примеров: её точность {acc} — это просто доля мажоритарного класса",
        }[lang]
    if position == "inside":
        return {
            "en": f"cannot be told apart from always predicting the majority class: the rate {num(maj)} lies inside its interval {bracket}",
            "ru": f"неотличима от константного ответа «мажоритарный класс»: доля {num(maj)} лежит внутри интервала {bracket}",
        }[lang]
    if position == "above":
        return {
            "en": f"is above the majority-class rate {num(maj)}: its whole interval {bracket} lies higher",
            "ru": f"выше доли мажоритарного класса {num(maj)}: весь интервал {bracket} лежит выше",
        }[lang]
    return {
        "en": f"is below the majority-class rate {num(maj)}: its whole interval {bracket} lies lower",
        "ru": f"ниже доли мажоритарного класса {num(maj)}: весь интервал {bracket} лежит ниже",
    }[lang]


def seeds_text(values: np.ndarray, lang: str) -> str:
    """"0.762" for one seed; "0.750 (mean of 3 seeds, 0.71–0.78)" for several."""
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.3f}"
    word = {"en": "mean of {n} seeds", "ru": "среднее по {n} сидам"}[lang].format(n=values.size)
    return f"{values.mean():.3f} ({word}, {values.min():.3f}–{values.max():.3f})"


def ru_plural(n: int, one: str, few: str, many: str) -> str:
    """Russian noun form after a number: 1 пример, 2 примера, 5 примеров, 21 пример, 11 примеров
    (CLDR plural rules through Babel: :func:`tscompress.names.plural`)."""
    return plural(n, {"one": one, "few": few, "many": many}, "ru")


def pairwise_text(correct: Mapping[str, np.ndarray], lang: str) -> str:
    """Exact McNemar tests between every pair of models evaluated on the same test cases."""
    from .metrics import mcnemar

    names = list(correct)
    parts = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            res = mcnemar(correct[a], correct[b])
            if lang == "en":
                verdict = "a significant difference" if res.significant else "not a significant difference"
                cases = "case" if res.b == 1 else "cases"
                parts.append(f"{a} vs {b}: {res.b} {cases} only {a} got right, {res.c} only {b}, "
                             f"exact McNemar {p_value(res.p_value, lang)} — {verdict}")
            else:
                verdict = "различие значимо" if res.significant else "различие не значимо"
                parts.append(f"{a} и {b}: примеров, верных только у {a}, — {res.b}, только у {b} — {res.c} "
                             f"(точный критерий Мак-Немара: {p_value(res.p_value, lang)}, {verdict})")
    return "; ".join(parts) if parts else ""


_METRIC_NAMES = CRITERION_NAMES


def selection_text(val_accuracies: Mapping[str, float], lang: str, metric: str = "accuracy") -> str:
    """How decisive a choice on validation was: ``val_accuracies`` maps each candidate setting to its
    validation score at the kept epoch (``metric``: accuracy or balanced_accuracy), in grid order; the
    first of the highest is the choice.

    A validation part of a few dozen cases often ties several settings (often at its own
    majority-class rate); then the choice is the grid's order, not a finding, and the page says so.
    """
    names = list(val_accuracies)
    if not names:
        return ""
    m = _METRIC_NAMES[metric]
    values = np.array([val_accuracies[n] for n in names], dtype=float)
    best = values.max()
    tied = [n for n, v in zip(names, values) if abs(v - best) <= 1e-9]
    if len(names) == 1:
        return {"en": f"the only setting run, {m['en']} {best:.3f}",
                "ru": f"единственная запущенная настройка, {m['ru_nom']} {best:.3f}"}[lang]
    if len(tied) == 1:
        runner_up = np.sort(values)[-2]
        return {"en": f"chosen by {m['en']} {best:.3f}, ahead of the next setting's {runner_up:.3f}",
                "ru": f"выбор по {m['ru']}: {best:.3f} против {runner_up:.3f} у следующей настройки"}[lang]
    if len(tied) == len(names):
        n = len(names)
        who = {"en": "both settings" if n == 2 else f"all {n} settings",
               "ru": "обе настройки" if n == 2 else f"все {n} {ru_plural(n, 'настройка', 'настройки', 'настроек')}"}
        return {"en": f"{who['en']} tie on validation at {best:.3f}, so this is simply the first of the grid — "
                      "validation does not choose here",
                "ru": f"{who['ru']} совпадают на валидации ({best:.3f}), так что это просто первая настройка "
                      "сетки — валидация здесь ничего не выбирает"}[lang]
    return {"en": f"{len(tied)} of {len(names)} settings tie on validation at {best:.3f}; this is the first of them "
                  "in the grid, not a finding",
            "ru": f"{len(tied)} из {len(names)} настроек совпадают на валидации ({best:.3f}); это первая из них в "
                  "сетке, а не находка"}[lang]


_MEMORY_PARTS = {
    "en": {"weights": "the weights", "gradients": "the gradients", "optimizer": "the optimizer state",
           "activations": "the activations saved for backward"},
    "ru": {"weights": "веса", "gradients": "градиенты", "optimizer": "состояние оптимизатора",
           "activations": "активации, сохранённые для обратного прохода"},
}


def memory_text(full: Mapping[str, float], adapter: Mapping[str, float], lang: str) -> str:
    """Compare the training-step memory of full fine-tuning and an adapter run (dicts as returned by
    :func:`tscompress.peft.training_memory`): the saving and full fine-tuning's largest part."""
    saving = 100 * (1 - adapter["total"] / full["total"])
    largest = max(_MEMORY_PARTS["en"], key=lambda k: full[k])
    share = 100 * full[largest] / full["total"]
    if lang == "en":
        return (f"QLoRA needs {saving:.0f}% less memory per step than full fine-tuning; the largest part of full "
                f"fine-tuning's step is {_MEMORY_PARTS['en'][largest]} ({share:.0f}%)")
    return (f"QLoRA требует на {saving:.0f}% меньше памяти на шаг, чем полное дообучение; наибольшая часть шага "
            f"полного дообучения — {_MEMORY_PARTS['ru'][largest]} ({share:.0f}%)")


_RECIPE_CHOICE = {
    "en": {"head": "on the validation parts alone, «{chosen}» scores {best:.3f} (the mean of validation accuracy and "
                   "validation balanced accuracy, averaged over {models})",
           "all": "the models",
           "some": "{names}, the models that ran every recipe",
           "next": ", ahead of the next recipe's {other:.3f}",
           "same": "; every chapter of this book trains with it",
           "other": "; this run's profile trains every chapter with «{book}» ({book_score:.3f}) instead — rerun with "
                    "-p train.recipe={name} to follow the choice"},
    "ru": {"head": "только по валидационным частям рецепт «{chosen}» набирает {best:.3f} (среднее точности и "
                   "сбалансированной точности на валидации, усреднённое по {models})",
           "all": "моделям",
           "some": "моделям, прошедшим все рецепты: {names}",
           "next": ", следующий рецепт — {other:.3f}",
           "same": "; все главы книги обучают модели по нему",
           "other": "; профиль этого запуска обучает все главы по рецепту «{book}» ({book_score:.3f}) — чтобы следовать "
                    "выбору, перезапустите с -p train.recipe={name}"},
}


def recipe_choice_text(chosen: str, book: str, scores: Mapping[str, float], lang: str,
                       compared: Sequence[str] | None = None, models: Sequence[str] | None = None) -> str:
    """How the training recipe was chosen: ``scores`` maps each candidate recipe to its validation
    score (:func:`tscompress.recipes.selection_score` averaged over the ``compared`` models; when
    they are fewer than all ``models``, the text names them)."""
    from .recipes import recipe_label

    t = _RECIPE_CHOICE[lang]
    others = sorted((v for k, v in scores.items() if k != chosen), reverse=True)
    if compared is None or models is None or list(compared) == list(models):
        over = t["all"]
    else:
        names = list(compared)
        over = t["some"].format(names=and_list(names, lang))
    text = t["head"].format(chosen=recipe_label(chosen, lang), best=scores[chosen], models=over)
    if others:
        text += t["next"].format(other=others[0])
    if chosen == book:
        return text + t["same"]
    return text + t["other"].format(book=recipe_label(book, lang), book_score=scores.get(book, float("nan")),
                                    name=chosen)


def reference_text(rows: Mapping[str, Mapping], reference: Mapping, correct: Mapping[str, np.ndarray],
                   lang: str, reference_name: str = "MiniRocket") -> str:
    """Each model beside the reference classifier on the same cases: accuracies, balanced accuracies and
    the exact McNemar test (``correct`` holds per-case correctness, the reference under its name)."""
    from .metrics import mcnemar

    parts = []
    ref_ok = correct[reference_name]
    for name, r in rows.items():
        res = mcnemar(correct[name], ref_ok)
        a, b = r["test_accuracy"], reference["test_accuracy"]
        if lang == "en":
            if not res.significant:
                how = "cannot be told apart from it"
            else:
                how = "is significantly better" if a > b else "is significantly worse"
            parts.append(f"{name} {a:.3f} (balanced {r['test_balanced_accuracy']:.3f}) {how} "
                         f"(McNemar {p_value(res.p_value, lang)})")
        else:
            if not res.significant:
                how = "от него неотличим"
            else:
                how = "значимо лучше" if a > b else "значимо хуже"
            parts.append(f"{name} {a:.3f} (сбалансированная {r['test_balanced_accuracy']:.3f}) {how} "
                         f"(критерий Мак-Немара {p_value(res.p_value, lang)})")
    ref = reference
    if lang == "en":
        return (f"{reference_name} reaches {ref['test_accuracy']:.3f} (balanced {ref['test_balanced_accuracy']:.3f}); "
                + "; ".join(parts))
    return (f"{reference_name} достигает {ref['test_accuracy']:.3f} (сбалансированная "
            f"{ref['test_balanced_accuracy']:.3f}); " + "; ".join(parts))


def starting_point_text(base: Mapping, reference: Mapping | None, lang: str, name: str = "TimesNet",
                        reference_name: str = "MiniRocket") -> str:
    """The verdict a chapter opens with: does the fp32 model it starts from (``base``: a variants row
    of the models chapter) beat the majority-class rate of its test cases, and how does the reference
    classifier (``reference``: its row on the same cases, or None) do there. Numbers in the edition's
    format, counted nouns in agreement."""
    from .names import RU_NOUNS, counted

    num = lambda v: number(v, lang)  # noqa: E731
    acc = interval(base["test_accuracy"], base["test_accuracy_lo"], base["test_accuracy_hi"], lang)
    n = int(base["test_n"])
    verdict = majority_verdict(base, lang)
    if lang == "en":
        text = (f"The fp32 {name} of the models chapter, which this chapter starts from, reaches {acc} on the "
                f"{n} test case{'s' if n != 1 else ''} (balanced accuracy {num(base['test_balanced_accuracy'])}); "
                f"it {verdict}.")
        if reference is not None:
            text += (f" The {reference_name} reference reaches {num(reference['test_accuracy'])} on the same cases "
                     f"(balanced {num(reference['test_balanced_accuracy'])}).")
        return text
    text = (f"{name} fp32 из главы о моделях, с которого начинается эта глава, даёт точность {acc} на "
            f"{counted(n, RU_NOUNS['test_case.prep'], 'ru')} (сбалансированная точность "
            f"{num(base['test_balanced_accuracy'])}); модель {verdict}.")
    if reference is not None:
        text += (f" Эталон {reference_name} на тех же примерах даёт {num(reference['test_accuracy'])} "
                 f"(сбалансированная {num(reference['test_balanced_accuracy'])}).")
    return text
