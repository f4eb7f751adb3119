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


def _edition_texts(lang: str) -> dict[str, str]:
    """What an edition's reader reads, at the source: its pages, further-dataset templates, phrase table, and the
    notebooks' lines in its language (Russian: the lines with Cyrillic letters)."""
    import re

    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "book" / lang).rglob("*.md"))}
    texts[f"phrases/{lang}.toml"] = (phrases.HERE / f"{lang}.toml").read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        cyrillic = [line for line in lines if re.search("[а-яё]", line, re.I)]
        texts[str(path.relative_to(ROOT))] = "\n".join(cyrillic if lang == "ru" else [])
    return texts


@pytest.mark.parametrize("lang", phrases.LANGS)
def test_each_edition_names_a_concept_by_its_glossary_term(lang):
    avoided = phrases.avoided(lang)
    offenders = [f"{where}: «{word}» (the glossary says «{term}»)" for where, text in _edition_texts(lang).items()
                 for word, term in avoided.items() if word.lower() in text.lower()]
    assert not offenders, offenders


def test_the_glossary_has_every_term_in_both_editions_and_renders_in_order():
    terms = phrases.glossary()
    assert len({t["en"] for t in terms}) == len(terms) == len({t["ru"] for t in terms})  # one term per concept
    for term in terms:
        for lang in phrases.LANGS:
            assert term[lang].strip() and term[f"{lang}_meaning"].strip(), term
    ru = phrases.glossary_markdown("ru")
    heads = [line for line in ru.splitlines() if line and not line.startswith(":")]
    assert len(heads) == len(terms) and "дообучение (fine-tuning)" in heads
    assert heads == sorted(heads, key=lambda h: h.lower().replace("ё", "е"))
    assert phrases.avoided("ru")["паддинг"] == "дополнение"
