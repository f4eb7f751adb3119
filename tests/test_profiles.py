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
    structures = {name: _keys(values) for name, values in PROFILES.items()}
    assert set(structures) == {"smoke", "quick", "full"}
    assert structures["smoke"] == structures["quick"] == structures["full"]


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
