"""Training recipes, and a choice between them that never reads a test label.

A *recipe* is how a model is trained, not what it is: the epoch-selection criterion, the loss's
class weights or a class-balanced sampler, the learning rate and weight decay, a fixed number of
epochs, and (TimesNet only) the number of periods ``top_k`` — which changes no parameter count.
:func:`recipe_study` cross-validates every recipe for every model on the same folds; each fold's
model is selected on that fold's own validation part, and its predictions on the validation parts
(``CVResult.val_pooled``) are what :func:`choose_recipe` reads. The pooled *test* predictions are
reported beside them and never enter the choice: a test permutes a fold's test labels and checks
that the choice stays the same.

The choice's score is the mean of validation accuracy and validation balanced accuracy, pooled
over folds and averaged over the models: Heartbeat is 72% one class, so accuracy alone rewards
the collapse to "abnormal" and balanced accuracy alone rewards trading accuracy for recall; a
recipe that helps must raise both. Ties go to the recipe listed first (the simpler one).

The recipe named ``fixed`` picks a number of epochs per fold from its validation part (the epoch
the default criterion would keep) and then retrains on training ∪ validation for that many epochs;
its validation score is the first run's.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from . import phrases
from .errors import ConfigError
from .train import CVResult, EvalResult, TrainConfig, cross_validate, evaluate_logits, fit, predict_logits, set_seed

__all__ = ["Recipe", "RECIPES", "RECIPE_LABELS", "recipe_label", "get_recipe", "RecipeResult", "recipe_study", "choose_recipe", "compared_models", "selection_score",
           "MODEL_SETTINGS"]

MODEL_SETTINGS = {"top_k": ("TimesNet",)}
"""Model settings a recipe may change, and the models that have them (no parameter count changes)."""


@dataclass(frozen=True)
class Recipe:
    """A named set of changes to :class:`~tscompress.train.TrainConfig` (``train``) and to the model's
    settings (``model``: only those in :data:`MODEL_SETTINGS`); ``refit`` = the fixed-epochs recipe."""

    name: str
    train: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    refit: bool = False

    def applies_to(self, model_name: str) -> bool:
        return all(model_name in MODEL_SETTINGS.get(k, ()) for k in self.model)

    def config(self, base: TrainConfig) -> TrainConfig:
        values = base.to_dict()
        values.update(self.train)
        return TrainConfig.from_dict(values)


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("val_accuracy", {"select": "accuracy"}),
    Recipe("val_loss", {"select": "loss"}),
    Recipe("val_balanced", {"select": "balanced_accuracy"}),
    Recipe("weighted", {"select": "balanced_accuracy", "class_weight": "balanced"}),
    Recipe("balanced_sampler", {"select": "balanced_accuracy", "sampling": "balanced"}),
    Recipe("weighted_loss_select", {"select": "loss", "class_weight": "balanced"}),
    Recipe("weighted_lr3e-4", {"select": "balanced_accuracy", "class_weight": "balanced", "lr": 3e-4}),
    Recipe("weighted_wd1e-2", {"select": "balanced_accuracy", "class_weight": "balanced", "weight_decay": 1e-2}),
    Recipe("weighted_mean_select", {"select": "mean_accuracy", "class_weight": "balanced"}),
    Recipe("weighted_fixed", {"select": "balanced_accuracy", "class_weight": "balanced"}, refit=True),
    Recipe("weighted_top_k1", {"select": "balanced_accuracy", "class_weight": "balanced"}, {"top_k": 1}),
)}
"""The recipes the study knows, simplest first (ties in :func:`choose_recipe` go to the earlier one).
``val_accuracy`` is the original loop (TSLib's recipe with validation instead of test)."""


RECIPE_LABELS: dict[str, dict[str, str]] = phrases.table("recipes")
"""One display name per recipe and language (pages never show the identifiers)."""


def recipe_label(name: str, lang: str) -> str:
    return RECIPE_LABELS[name][lang]


def get_recipe(name: str) -> Recipe:
    if not isinstance(name, str) or name not in RECIPES:
        raise ConfigError(f"unknown training recipe {name!r}; known: {', '.join(RECIPES)}")
    return RECIPES[name]


def selection_score(evaluation: EvalResult) -> float:
    """The recipe choice's score: mean of accuracy and balanced accuracy."""
    return 0.5 * (evaluation.accuracy + evaluation.balanced_accuracy)


@dataclass
class RecipeResult:
    model: str
    recipe: str
    cv: CVResult
    seconds: float

    def row(self) -> dict[str, Any]:
        v = self.cv.val_pooled
        return {"model": self.model, "recipe": self.recipe, "seconds": round(self.seconds, 1),
                "val_accuracy": v.accuracy, "val_balanced_accuracy": v.balanced_accuracy,
                "val_score": selection_score(v), "epochs": " ".join(str(f.best_epoch) for f in self.cv.fits),
                **self.cv.pooled.summary("test_")}


class _Merged:
    """Training ∪ validation as the training part; validation kept (``fit`` needs one, unused by ``last``)."""

    def __init__(self, dataset: Any) -> None:
        from .data import Split

        tr, va = dataset.train, dataset.val
        self.train = Split(torch.cat([tr.X, va.X]), torch.cat([tr.y, va.y]),
                           np.concatenate([tr.index, va.index]), list(tr.classes))
        self.val, self.test = va, dataset.test


def _refit_cv(build: Callable[[Any], torch.nn.Module], folds: Sequence[Any], config: TrainConfig,
              n_boot: int, seed: int) -> CVResult:
    first = cross_validate(build, folds, config, n_boot=n_boot, seed=seed)
    logits, labels, index = [], [], []
    for dataset, f in zip(folds, first.fits):
        fixed = TrainConfig.from_dict({**config.to_dict(), "select": "last", "epochs": max(1, f.best_epoch)})
        set_seed(config.seed)
        model = build(dataset)
        second = fit(model, _Merged(dataset), fixed)
        f.seconds += second.seconds
        logits.append(predict_logits(model, dataset.test.X, device=config.device))
        labels.append(dataset.test.y.cpu())
        index.append(np.asarray(dataset.test.index))
    case_index = np.concatenate(index)
    order = np.argsort(case_index, kind="stable")
    pooled = evaluate_logits(torch.cat(logits)[order], torch.cat(labels)[order], n_boot=n_boot, seed=seed)
    return CVResult(pooled=pooled, folds=first.folds, fits=first.fits, case_index=case_index[order],
                    val_pooled=first.val_pooled)


def recipe_study(build: Callable[..., torch.nn.Module], model_names: Iterable[str], folds: Sequence[Any],
                 recipes: Iterable[str], base: TrainConfig, n_boot: int = 2000, seed: int = 0,
                 on_result: Callable[[RecipeResult], None] | None = None,
                 skip: Iterable[str] = ()) -> list[RecipeResult]:
    """Cross-validate each recipe for each model (``build(model_name, dataset, **model_settings)``)
    on the same ``folds``; recipes that change a setting a model lacks are skipped for it, and so
    are the ``"recipe:Model"`` pairs in ``skip`` (to save time)."""
    folds = list(folds)
    chosen = [get_recipe(r) for r in recipes]
    left_out = {tuple(str(p).split(":", 1)) for p in skip}
    out = []
    for name in model_names:
        for recipe in chosen:
            if not recipe.applies_to(name) or (recipe.name, name) in left_out:
                continue
            config = recipe.config(base)
            settings = dict(recipe.model)

            def make(d: Any, _n: str = name, _s: dict = settings) -> torch.nn.Module:
                return build(_n, d, **_s)

            t0 = time.perf_counter()
            cv = (_refit_cv if recipe.refit else
                  lambda b, f, c, n_boot, seed: cross_validate(b, f, c, n_boot=n_boot, seed=seed))(
                make, folds, config, n_boot=n_boot, seed=seed)
            res = RecipeResult(name, recipe.name, cv, time.perf_counter() - t0)
            out.append(res)
            if on_result is not None:
                on_result(res)
    return out


def _candidates(results: Sequence[RecipeResult]) -> tuple[dict[str, dict[str, float]], list[str]]:
    models = list(dict.fromkeys(r.model for r in results))
    by_recipe: dict[str, dict[str, float]] = {}
    for r in results:
        by_recipe.setdefault(r.recipe, {})[r.model] = selection_score(r.cv.val_pooled)
    general = {k: v for k, v in by_recipe.items() if all(get_recipe(k).applies_to(m) for m in models)}
    common = [m for m in models if all(m in v for v in general.values())]
    return general, common


def compared_models(results: Sequence[RecipeResult]) -> list[str]:
    """The models on which :func:`choose_recipe` compares the recipes: those that ran every recipe
    applicable to all models (a profile may leave out a slow model's alternatives)."""
    return _candidates(results)[1]


def choose_recipe(results: Sequence[RecipeResult]) -> tuple[str, dict[str, float]]:
    """The recipe with the best validation score averaged over :func:`compared_models`, among the
    recipes that apply to every model (a TimesNet-only recipe is reported, not chosen, so that one
    recipe serves every chapter). Returns ``(name, {recipe: mean validation score})``. Reads only
    ``cv.val_pooled``."""
    general, common = _candidates(results)
    if not general or not common:
        raise ConfigError("choose_recipe: no model ran every recipe that applies to all models")
    scores = {k: float(np.mean([v[m] for m in common])) for k, v in general.items()}
    order = [k for k in RECIPES if k in scores]
    best = max(order, key=lambda k: (round(scores[k], 12), -order.index(k)))
    return best, scores


def settings_of(name: str) -> dict[str, Any]:
    """The recipe's training changes, as a plain dict (for manifests and pages)."""
    return copy.deepcopy(dict(get_recipe(name).train))
