"""One display name per method and variant, in each edition's language, and numbers in its format.

Chapters record variants under short identifiers (``magnitude``, ``sparse_lowrank``, ``qlora`` with
setting ``r=3, q2 base``, ``lowrank+quantile`` with ``50%+int4``); a page never shows them raw. This
module turns them into the edition's words, and formats numbers the edition's way through Babel
(CLDR): ``0.725`` / ``0,725``, ``895,442`` / ``895 442``.

    variant_name({"method": "qlora", "setting": "r=3, q2 base"}, "ru")   # 'QLoRA r = 3, база int2'
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

from babel import Locale
from babel import numbers as _numbers

from . import phrases

__all__ = ["METHOD_NAMES", "localize_numbers", "method_name", "setting_name", "variant_name", "number", "percent", "kib", "interval", "p_value", "plural", "noun_forms", "and_list", "EN_NOUNS",
           "counted", "RU_NOUNS", "CHAPTER_NAMES", "chapter_name", "short_number"]

LOCALES = {"en": "en", "ru": "ru"}

METHOD_NAMES: dict[str, dict[str, str]] = phrases.table("methods")
"""Every method identifier a chapter records, with its name in each edition (one place: tables,
figures and glued text all take names from here)."""

CHAPTER_NAMES: dict[str, dict[str, str]] = phrases.table("chapters")
"""The chapter a variant comes from, as the comparison's tables and legends name it."""


def chapter_name(chapter: str, lang: str) -> str:
    """``01_sparsification`` → ``sparsification`` / ``разреживание`` (an unknown chapter: its id)."""
    return CHAPTER_NAMES.get(chapter, {}).get(_lang(lang), chapter)


_WORDS = phrases.table("words")


def _lang(lang: str) -> str:
    if lang not in LOCALES:
        raise ValueError(f"unknown edition language {lang!r}; known: {', '.join(LOCALES)}")
    return lang


def number(value: float, lang: str, digits: int = 3, group: bool = True) -> str:
    """``value`` with ``digits`` decimals in the edition's format (``—`` for a missing value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    pattern = ("#,##0" if group else "0") + ("." + "0" * digits if digits > 0 else "")
    return _numbers.format_decimal(value, format=pattern, locale=LOCALES[_lang(lang)]).replace("-", MINUS)


MINUS = "\u2212"
"""A negative number's sign in either edition: the minus sign, not the hyphen Babel writes."""


CRITERION_NAMES: dict[str, dict[str, str]] = {
    # what an epoch or a setting is chosen on (tscompress.train.SELECT_CRITERIA); "ru": after «по», "ru_nom": subject
    "accuracy": {"en": "validation accuracy", "ru": "точности на валидации", "ru_nom": "точность на валидации"},
    "balanced_accuracy": {"en": "validation balanced accuracy", "ru": "сбалансированной точности на валидации",
                          "ru_nom": "сбалансированная точность на валидации"},
    "mean_accuracy": {"en": "the mean of validation accuracy and balanced accuracy",
                      "ru": "среднему точности и сбалансированной точности на валидации",
                      "ru_nom": "среднее точности и сбалансированной точности на валидации"},
}

LIST_SEP = {"en": ", ", "ru": "; "}
"""Between two numbers in a list or an interval: a Russian decimal comma must not double as a separator."""


def p_value(p: float, lang: str) -> str:
    """``p = 0.032`` / ``p = 0,032``, and ``p < 0.001`` / ``p < 0,001`` below a thousandth (never ``p = 0.000``)."""
    if p < 0.001:
        return f"p < {number(0.001, lang, 3)}"
    return f"p = {number(p, lang, 3)}"


def interval(value: float | None, lo: float, hi: float, lang: str, digits: int = 3) -> str:
    """``0.721 [0.607, 0.836]`` / ``0,721 [0,607; 0,836]``; with ``value=None`` the bracket alone."""
    bracket = f"[{number(lo, lang, digits)}{LIST_SEP[_lang(lang)]}{number(hi, lang, digits)}]"
    return bracket if value is None else f"{number(value, lang, digits)} {bracket}"


def plural(n: int, forms: Mapping[str, str], lang: str) -> str:
    """The form of a counted noun after ``n`` by the edition's CLDR plural rules (Babel):
    ``forms`` maps categories (``one``, ``few``, ``many``, ``other``) to words; a category the
    mapping lacks falls back to ``other``, then ``many``."""
    category = Locale.parse(LOCALES[_lang(lang)]).plural_form(abs(int(n)))
    for key in (category, "other", "many"):
        if key in forms:
            return forms[key]
    raise ValueError(f"no form for plural category {category!r} in {dict(forms)}")


RU_NOUNS: dict[str, dict[str, str]] = {
    # <noun>.<grammatical case>: the forms after a number, by CLDR plural category
    "case.nom": {"one": "пример", "few": "примера", "many": "примеров"},
    "case.prep": {"one": "примере", "few": "примерах", "many": "примерах"},
    "test_case.prep": {"one": "тестовом примере", "few": "тестовых примерах", "many": "тестовых примерах"},
    "val_case.prep": {"one": "валидационном примере", "few": "валидационных примерах", "many": "валидационных примерах"},
    "val_case.dat": {"one": "валидационному примеру", "few": "валидационным примерам", "many": "валидационным примерам"},
    "labelled_case.dat": {"one": "размеченному примеру", "few": "размеченным примерам", "many": "размеченным примерам"},
    "fold.prep": {"one": "фолде", "few": "фолдах", "many": "фолдах"},
    "param.nom": {"one": "параметр", "few": "параметра", "many": "параметров"},
    "param.gen": {"one": "параметра", "few": "параметров", "many": "параметров"},
    "param.prep": {"one": "параметре", "few": "параметрах", "many": "параметрах"},
    "epoch.nom": {"one": "эпоха", "few": "эпохи", "many": "эпох"},
    "block.nom": {"one": "блок", "few": "блока", "many": "блоков"},
    "bit.nom": {"one": "бит", "few": "бита", "many": "бит"},
    "bit.gen": {"one": "бита", "few": "бит", "many": "бит"},
    "bit.prep": {"one": "бите", "few": "битах", "many": "битах"},
    "layer.prep": {"one": "слое", "few": "слоях", "many": "слоях"},
    "run.nom": {"one": "запуск", "few": "запуска", "many": "запусков"},
    "run.gen_plain": {"one": "запуска", "few": "запусков", "many": "запусков"},
    "run.gen": {"one": "отдельного запуска", "few": "отдельных запусков", "many": "отдельных запусков"},
    "rank.acc": {"one": "ранг", "few": "ранга", "many": "рангов"},
    "compared_rank.gen": {"one": "сравнённого ранга", "few": "сравнённых рангов", "many": "сравнённых рангов"},
    "step.nom": {"one": "шаг", "few": "шага", "many": "шагов"},
    "step.gen": {"one": "шага", "few": "шагов", "many": "шагов"},
    "model.nom": {"one": "модель", "few": "модели", "many": "моделей"},
    "model.gen": {"one": "модели", "few": "моделей", "many": "моделей"},
    "student.nom": {"one": "ученик", "few": "ученика", "many": "учеников"},
    "student.gen": {"one": "ученика", "few": "учеников", "many": "учеников"},
    "curve.gen": {"one": "кривой", "few": "кривых", "many": "кривых"},
    "epoch.gen": {"one": "эпохи", "few": "эпох", "many": "эпох"},
    "variant.nom": {"one": "вариант", "few": "варианта", "many": "вариантов"},
    "variant.gen": {"one": "варианта", "few": "вариантов", "many": "вариантов"},
    "setting.gen": {"one": "настройки", "few": "настроек", "many": "настроек"},
    "test_case.nom": {"one": "тестовый пример", "few": "тестовых примера", "many": "тестовых примеров"},
}
"""Russian counted nouns the chapters glue, per grammatical case (``case.prep``: «на 61 примере»)."""


EN_NOUNS: dict[str, dict[str, str]] = {
    "variant": {"one": "variant", "other": "variants"},
    "test_case": {"one": "test case", "other": "test cases"},
    "model": {"one": "model", "other": "models"},
    "setting": {"one": "setting", "other": "settings"},
}
"""English counted nouns, by the noun part of a :data:`RU_NOUNS` key (English has no case forms to choose)."""


def noun_forms(noun: str, lang: str) -> Mapping[str, str]:
    """The forms of a counted noun in an edition: ``"variant.gen"`` is :data:`RU_NOUNS`' key in Russian, its noun
    (``variant``) in :data:`EN_NOUNS` in English."""
    return RU_NOUNS[noun] if _lang(lang) == "ru" else EN_NOUNS[noun.split(".", 1)[0]]


def and_list(items: Sequence[object], lang: str) -> str:
    """``8, 4 and 2`` / ``8, 4 и 2``."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {_WORDS['and'][lang]} " + words[-1]


def counted(n: int, forms: Mapping[str, str], lang: str) -> str:
    """``n`` and its noun in agreement: ``21 вариант``, ``3 варианта``, ``91 вариант``, ``17 вариантов``."""
    return f"{number(n, lang, 0)} {plural(n, forms, lang)}"


def percent(fraction: float, lang: str, digits: int | None = 0) -> str:
    """A fraction as a percentage in the edition's format: 0.569 → ``56.9%`` / ``56,9%``;
    ``digits=None`` shows as many decimals as needed, up to two (0.125 → ``12.5%``)."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "—"
    decimals = "." + ("#" * 2 if digits is None else "0" * digits) if digits is None or digits > 0 else ""
    pattern = "#,##0" + decimals + "%"
    return _numbers.format_percent(fraction, format=pattern, locale=LOCALES[_lang(lang)]).replace("-", MINUS)


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def scientific(value: float, lang: str, digits: int = 1) -> str:
    """A tiny or huge number as ``2.7 × 10⁻⁷`` / ``2,7 × 10⁻⁷`` (never ``2.7e-07``); zero as ``0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{number(float(mantissa), lang, digits)}\u00a0×\u00a010{str(int(exponent)).translate(_SUPERSCRIPT)}"


def kib(n_bytes: float, lang: str, digits: int = 1) -> str:
    """Bytes as KiB with the edition's unit: ``200.8 KiB`` / ``200,8 КиБ``."""
    unit = {"en": "KiB", "ru": "КиБ"}[_lang(lang)]
    return f"{number(n_bytes / 1024, lang, digits)}\u00a0{unit}"


_EN_NUMBER = r"-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|-?\d+\.\d+"
_NUMBER_TOKEN = re.compile(r"(?<![\w.,/:#-])(" + _EN_NUMBER + r")(?![\w.]|,\d)")
_INTERVAL = re.compile(r"\[(" + _EN_NUMBER + r"), (" + _EN_NUMBER + r")\]")
_AFTER_DECIMAL = re.compile(r"(\d,\d+), (?=[-\u2212]?\d)")


_ALREADY_LOCAL = {"1,000", "-1,000"}
"""Tokens that text already in Russian format holds (an accuracy or p-value of one, «1,000») and that
an English grouped number could only be as exactly one thousand: left as they are, so that text
localized twice stays the same."""


def _reformat(token: str, lang: str) -> str:
    from decimal import Decimal

    plain = token.replace(",", "")
    decimals = len(plain.split(".", 1)[1]) if "." in plain else 0
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return _numbers.format_decimal(Decimal(plain), format=pattern, locale=LOCALES[_lang(lang)]).replace("-", MINUS)


def localize_numbers(text: str, lang: str) -> str:
    """Numbers written in English format inside ``text`` (``0.725``, ``895,442``,
    ``[0.662, 0.784]``) rewritten in the edition's format through Babel; parts of names such as
    ``int4``, ``fp32``, versions (``2.13.0``), hashes and paths are left alone. English text is
    returned unchanged. Used on every glued text and table cell of the Russian edition; text already in
    Russian format passes unchanged (a grouped English number starts with 1–9 and a Russian decimal
    such as ``0,725`` does not match it; ``1,000`` is left alone), so localizing twice is harmless."""
    if _lang(lang) == "en" or not text:
        return text
    text = _INTERVAL.sub(lambda m: f"[{m.group(1)}{LIST_SEP[lang]}{m.group(2)}]", text)
    text = _NUMBER_TOKEN.sub(lambda m: m.group(1) if m.group(1) in _ALREADY_LOCAL else _reformat(m.group(1), lang),
                             text)
    # "0,761, 1 пример": after a decimal comma, a list's comma would read as another one
    return _AFTER_DECIMAL.sub(lambda m: m.group(1) + LIST_SEP[lang], text)



def method_name(method: str, lang: str) -> str:
    """``magnitude`` → ``magnitude pruning``; compounds such as ``quantile+codes`` (code fine-tuning
    after quantization) and ``lowrank+quantile`` (a combined pipeline) are named part by part."""
    _lang(lang)
    parts = str(method).split("+")
    names = [METHOD_NAMES.get(p, {}).get(lang, p) for p in parts]
    return " + ".join(names)


_BITS = re.compile(r"^q(\d+)$")


def _base_key(key: str) -> str:
    m = _BITS.match(key.strip())
    return f"int{m.group(1)}" if m else key.strip()


def setting_name(setting: Any, lang: str, removed: float | None = None, also: str = "") -> str:
    """A variant's setting in the edition's words and number format.

    ``removed`` (the fraction of parameters a sparsification variant actually removed) replaces a
    nominal percentage that differs from it: ``56.9% (nominal 75%)``; ``also`` lists further nominal
    settings that gave the same model (``56.9% (nominal 75%, 90%)``)."""
    _lang(lang)
    text = str(setting)
    if "+" in text and not text.startswith("+"):  # a combined pipeline: "<source setting>+int4"
        head, _, tail = text.rpartition("+")
        return f"{setting_name(head, lang, removed)} + {setting_name(tail, lang)}"
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", text)
    if m:
        nominal = float(m.group(1)) / 100
        shown = percent(nominal, lang)
        others = [setting_name(a.strip(), lang) for a in str(also).split(",") if a.strip()]
        if removed is not None and not (isinstance(removed, float) and math.isnan(removed)) \
                and abs(removed - nominal) >= 0.005:
            return f"{percent(removed, lang, 1)} ({_WORDS['nominal'][lang]} {', '.join([shown, *others])})"
        return shown + (f" (= {', '.join(others)})" if others else "")
    m = re.fullmatch(r"alpha=([\d.eE+-]+)", text)
    if m:
        return f"α = {number(float(m.group(1)), lang, _decimals(m.group(1)))}"
    m = re.fullmatch(r"ofa=([\d.eE+-]+), kd=([\d.eE+-]+)", text)
    if m:
        a, b = m.groups()
        return (f"w_OFA = {number(float(a), lang, _decimals(a))}{LIST_SEP[lang]}"
                f"w_KD = {number(float(b), lang, _decimals(b))}")
    m = re.fullmatch(r"r=(\d+) of (\d+)", text)
    if m:
        return f"r = {m.group(1)} {_WORDS['of'][lang]} {m.group(2)}"
    m = re.fullmatch(r"r=(\d+)(?:, (\S+) base)?", text)
    if m:
        rank, base = m.groups()
        return f"r = {rank}" + (f", {_WORDS['base'][lang]} {_base_key(base)}" if base else "")
    m = re.fullmatch(r"from (\S+)", text)
    if m:
        return f"{_WORDS['from'][lang]} {_base_key(m.group(1))}"
    return text


def _decimals(literal: str) -> int:
    return len(literal.split(".", 1)[1]) if "." in literal else 0


def short_number(value: float, lang: str) -> str:
    """``value`` with as many decimals as its shortest form needs (0.3 → ``0,3``, 1.0 → ``1``)."""
    return number(value, lang, _decimals(f"{value:g}"))


def variant_name(row: Mapping[str, Any], lang: str, base: bool = False) -> str:
    """``method`` and ``setting`` of a variant row (and its ``removed`` fraction, when recorded) as
    one display name; ``base=True`` appends the base model in brackets."""
    method = str(row["method"])
    removed = row.get("removed")
    removed = float(removed) if removed is not None and removed == removed else None
    also = row.get("also_settings") or ""
    also = also if isinstance(also, str) else ""
    if method == "baseline":
        text = f"{row.get('base', '')} fp32".strip() if base else "fp32"
        return text
    setting = str(row["setting"])
    parts = method.split("+")
    if len(parts) == 2 and parts[1] in ("codes", "ste_tune"):  # quantized, then fine-tuned in its format
        text = f"{method_name(parts[0], lang)} {setting_name(setting, lang)} + {method_name(parts[1], lang)}"
    elif len(parts) == 2 and "+" in setting:  # a combined pipeline: source variant, then quantizer
        head, _, tail = setting.rpartition("+")
        text = (f"{method_name(parts[0], lang)} {setting_name(head, lang, removed)} → "
                f"{method_name(parts[1], lang)} {setting_name(tail, lang)}")
    else:
        text = f"{method_name(method, lang)} {setting_name(setting, lang, removed, also)}"
    return f"{text} ({row['base']})" if base and row.get("base") else text
