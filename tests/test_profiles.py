import os

import pytest

from tscompress.errors import ConfigError
from tscompress.profiles import PROFILES, get_profile


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


def test_profiles_share_one_structure():
    structures = {name: {k for k in _keys(values) if not k.startswith("per_dataset.")} for name, values in PROFILES.items()}
    assert set(structures) == {"smoke", "quick", "full"}
    assert structures["smoke"] == structures["quick"] == structures["full"]


def test_per_dataset_changes_apply_to_their_dataset_only_and_overrides_come_last():
    quick = get_profile("quick")
    hb = get_profile("quick", dataset="Heartbeat")
    jv = get_profile("quick", dataset="JapaneseVowels")
    assert jv.quantize.qat_epochs == quick.quantize.qat_epochs
    changes = quick.per_dataset["Heartbeat"]
    assert all(hb.get_path(k) == v for k, v in changes.items())
    assert get_profile("quick", {"quantize.qat_epochs": 7}, dataset="Heartbeat").quantize.qat_epochs == 7


def test_a_bad_per_dataset_change_fails_for_every_dataset(monkeypatch):
    import copy

    broken = copy.deepcopy(PROFILES)
    broken["quick"]["per_dataset"] = {"Heartbeat": {"quantize.no_such_setting": 1}}
    monkeypatch.setattr("tscompress.profiles.PROFILES", broken)
    with pytest.raises(ConfigError, match="no_such_setting"):
        get_profile("quick", dataset="JapaneseVowels")


def test_full_profile_is_the_studys_settings():
    full = get_profile("full")
    assert full.models.epochs == 30 and full.models.patience == 10 and len(full.seeds) >= 3


def test_attribute_access_and_overrides():
    p = get_profile("quick", {"models.epochs": 3, "models.patience": None})
    assert p.models.epochs == 3 and p.models.patience is None
    assert get_profile("quick").models.epochs != 3  # the table itself is untouched
    assert p.to_dict()["models"]["epochs"] == 3


@pytest.mark.parametrize("name,overrides", [
    ("nope", None),
    ("quick", {"models.nope": 1}),
    ("quick", {"models": 1}),
    ("quick", {"models.epochs": "many"}),
    ("quick", {"models.epochs": 2.5}),
    ("quick", {"models.epochs": True}),
])
def test_bad_profile_or_override(name, overrides):
    with pytest.raises(ConfigError):
        get_profile(name, overrides)


def test_missing_setting_is_a_config_error():
    with pytest.raises(ConfigError):
        get_profile("quick").models.nope


def test_every_profile_names_a_training_only_recipe_that_every_chapter_uses():
    from tscompress.recipes import RECIPES, get_recipe

    for name in ("smoke", "quick", "full"):
        prof = get_profile(name)
        recipe = get_recipe(prof.train.recipe)
        assert not recipe.model and not recipe.refit
        assert prof.train.recipe in prof.models.recipes  # the book's recipe is always among those compared
        assert set(prof.models.recipes) <= set(RECIPES)


def test_chapter_train_config_applies_the_recipe(tmp_path):
    from tscompress.chapter import start

    ch = start("00_models", profile="smoke", dataset="BasicMotions", results_dir=str(tmp_path),
               overrides={"train.recipe": "val_loss"})
    cfg = ch.train_config("sparsify", epochs=2)
    assert cfg.select == "loss" and cfg.class_weight == "none" and cfg.epochs == 2
    ch = start("00_models", profile="smoke", dataset="BasicMotions", results_dir=str(tmp_path))
    cfg = ch.train_config("peft", lr=0.01)
    assert cfg.class_weight == "balanced" and cfg.select == "balanced_accuracy" and cfg.lr == 0.01
    with pytest.raises(ConfigError):
        start("00_models", profile="smoke", dataset="BasicMotions", results_dir=str(tmp_path),
              overrides={"train.recipe": "weighted_top_k1"})


def test_a_chapter_runs_on_its_profiles_threads_under_either_executor(tmp_path):
    """The thread count orders float sums, so it is the profile's (per dataset), not the executor's."""
    import torch

    from tscompress.chapter import start, use_threads

    start("00_models", profile="smoke", dataset="BasicMotions", results_dir=str(tmp_path))
    assert torch.get_num_threads() == 1
    assert use_threads(get_profile("quick", dataset="Heartbeat")) == min(2, os.cpu_count())
    assert torch.get_num_threads() == min(2, os.cpu_count())
    assert get_profile("full", dataset="Heartbeat").resources.num_cpus == 2
    assert get_profile("full", dataset="JapaneseVowels").resources.num_cpus == 1


def test_the_first_page_lists_what_a_profile_changes_against_the_full_one():
    from tscompress.book.manifest import SETTINGS, cuts_table
    from tscompress.profiles import differences

    quick = dict((k, (a, b)) for k, a, b in differences("quick", "Heartbeat"))
    assert quick["sparsify.epochs"] == (PROFILES["quick"]["sparsify"]["epochs"], PROFILES["full"]["sparsify"]["epochs"])
    assert "description" not in quick and "datasets" not in quick and "resources.num_cpus" not in quick
    assert differences("full", "Heartbeat") == [] and cuts_table("full", "Heartbeat", "en") == []
    for profile in ("smoke", "quick"):  # every setting a profile changes has its name in both editions
        for dataset in ("Heartbeat", "JapaneseVowels"):
            missing = [k for k, _, _ in differences(profile, dataset) if k not in SETTINGS]
            assert not missing, (profile, dataset, missing)
    ru = "\n".join(cuts_table("quick", "Heartbeat", "ru"))
    rows = [line for line in ru.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(quick) + 1 and "разреживание: эпох дообучения, не больше" in ru
    assert "0,5" in ru and "0.5" not in ru  # the edition's number format
