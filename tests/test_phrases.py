"""The phrase tables of the two editions: same sections, keys and template fields; the library reads them."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from tscompress import names, phrases, plots

ROOT = Path(__file__).resolve().parents[1]


def test_both_editions_have_the_same_sections_keys_and_fields():
    assert phrases.check() == []
    assert set(phrases.edition("en")) == set(phrases.edition("ru"))


def test_a_key_or_field_one_edition_lacks_is_reported(tmp_path, monkeypatch):
    for lang in phrases.LANGS:
        shutil.copy(phrases.HERE / f"{lang}.toml", tmp_path / f"{lang}.toml")
    ru = (tmp_path / "ru.toml").read_text(encoding="utf-8")
    ru = ru.replace('heading = "Параметры этого запуска"\n', "", 1)  # a key only the English table has
    ru = ru.replace("{hash}", "{sha}", 1)  # a template that fills another field
    (tmp_path / "ru.toml").write_text(ru, encoding="utf-8")
    monkeypatch.setattr(phrases, "HERE", tmp_path)
    phrases.edition.cache_clear()
    try:
        problems = phrases.check()
        assert any("ru.toml [first_page] lacks heading" in p for p in problems), problems
        assert any("lock_same" in p and "sha" in p for p in problems), problems
        with pytest.raises(KeyError, match="first_page"):
            phrases.table("first_page")
    finally:
        phrases.edition.cache_clear()


def test_the_library_takes_its_words_from_the_tables():
    with pytest.raises(KeyError, match="no phrase section"):
        phrases.table("nonexistent")
    with pytest.raises(ValueError, match="unknown edition"):
        phrases.edition("de")
    ru = phrases.edition("ru")
    assert plots.label("accuracy", "ru") == ru["labels"]["accuracy"]
    assert names.CHAPTER_NAMES["03_quantization"]["en"] == phrases.edition("en")["chapters"]["03_quantization"]


def test_the_tables_ship_with_the_package():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["tscompress"]
    assert "phrases/*.toml" in data
