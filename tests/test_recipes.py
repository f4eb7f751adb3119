"""Training recipes: the study runs each on the same folds, and the choice never reads a test label."""

import numpy as np
import pytest
import torch
from torch import nn

from tscompress.errors import ConfigError
from tscompress.recipes import RECIPE_LABELS, RECIPES, choose_recipe, get_recipe, recipe_study
from tscompress.train import TrainConfig


def _folds(k=3):
    from tscompress.data import load_dataset

    return [load_dataset("JapaneseVowels", protocol="cv", fold=i, n_folds=k, seed=0) for i in range(k)]


def _build(name, d, **settings):
    torch.manual_seed(0)
    width = {"Wide": 32, "Narrow": 4}[name]
    return nn.Sequential(nn.Flatten(), nn.Linear(d.seq_len * d.n_channels, width), nn.ReLU(),
                         nn.Linear(width, d.n_classes))


BASE = TrainConfig(epochs=3, patience=None, seed=0, progress=False, device="cpu")


def test_every_recipe_has_a_label_in_both_languages_and_a_valid_config():
    for name, recipe in RECIPES.items():
        assert set(RECIPE_LABELS[name]) == {"en", "ru"}
        recipe.config(BASE)  # a valid TrainConfig
    with pytest.raises(ConfigError):
        get_recipe("magic")


def test_recipe_choice_does_not_change_when_the_test_labels_are_permuted():
    folds = _folds()
    names = ["val_accuracy", "weighted", "weighted_lr3e-4"]
    before = recipe_study(_build, ["Wide", "Narrow"], folds, names, BASE, n_boot=50)
    permuted = _folds()
    rng = np.random.default_rng(1)
    for d in permuted:
        d.test.y = d.test.y[rng.permutation(len(d.test))]
    after = recipe_study(_build, ["Wide", "Narrow"], permuted, names, BASE, n_boot=50)
    # the permutation really changes what the test parts say ...
    assert [r.cv.pooled.accuracy for r in before] != [r.cv.pooled.accuracy for r in after]
    # ... and nothing the choice reads
    assert choose_recipe(before) == choose_recipe(after)
    assert [r.cv.val_pooled.accuracy for r in before] == [r.cv.val_pooled.accuracy for r in after]


def test_choice_follows_the_validation_score_and_skips_model_specific_recipes():
    folds = _folds(2)
    res = recipe_study(_build, ["Wide"], folds, ["val_accuracy", "weighted", "weighted_top_k1"], BASE, n_boot=0)
    assert [r.recipe for r in res] == ["val_accuracy", "weighted"]  # top_k is TimesNet's only
    chosen, scores = choose_recipe(res)
    assert chosen == max(scores, key=lambda k: (scores[k], -list(scores).index(k)))


def test_fixed_epochs_recipe_retrains_on_train_and_validation():
    folds = _folds(2)
    (res,) = recipe_study(_build, ["Narrow"], folds, ["weighted_fixed"], BASE, n_boot=0)
    assert res.cv.pooled.n == sum(len(d.test) for d in folds)
    assert res.cv.val_pooled.n == sum(len(d.val) for d in folds)


def test_skipped_pairs_leave_the_choice_to_the_models_that_ran_every_recipe():
    folds = _folds(2)
    names = ["val_accuracy", "weighted"]
    full = recipe_study(_build, ["Wide", "Narrow"], folds, names, BASE, n_boot=0)
    part = recipe_study(_build, ["Wide", "Narrow"], folds, names, BASE, n_boot=0, skip=["val_accuracy:Narrow"])
    assert [(r.model, r.recipe) for r in part] == [("Wide", "val_accuracy"), ("Wide", "weighted"), ("Narrow", "weighted")]
    from tscompress.recipes import compared_models, selection_score

    assert compared_models(full) == ["Wide", "Narrow"] and compared_models(part) == ["Wide"]
    _, scores = choose_recipe(part)
    wide = {r.recipe: selection_score(r.cv.val_pooled) for r in full if r.model == "Wide"}
    assert scores == pytest.approx(wide)  # Narrow's weighted run does not enter the comparison


def test_a_profile_cannot_skip_the_books_own_recipe_or_name_an_unknown_model():
    from tscompress.profiles import get_profile

    assert get_profile("quick").models.recipe_skip  # quick leaves out a slow pair
    with pytest.raises(ConfigError, match="book's own recipe"):
        get_profile("smoke", {"models.recipe_skip": ["weighted:TimesNet"]})
    with pytest.raises(ConfigError, match="recipe:Model"):
        get_profile("smoke", {"models.recipe_skip": ["val_accuracy:ResNet"]})
