"""The numbers of the study this project reproduces, quoted as the study's.

A course report (Russian, November 2024): TimesNet, Transformer and iTransformer from
Time-Series-Library on UEA Heartbeat (official split: 204 training and 205 test cases; the
study selected epochs on the test set, as Time-Series-Library does). The book sets these beside
this project's own measurements; nothing here is used to compute a result.
"""

from __future__ import annotations

DATASET = "Heartbeat"
TEST_CASES = 205

# Table 1: model, parameters, test accuracy, test loss
TABLE1 = {
    "TimesNet": {"params": 895_442, "accuracy": 0.810, "loss": 0.494},
    "Transformer": {"params": 164_354, "accuracy": 0.771, "loss": 0.495},
    "iTransformer": {"params": 134_338, "accuracy": 0.751, "loss": 0.545},
}

# Table 2: TimesNet parameters by layer type
TABLE2 = {"Conv2d": 879_456, "Linear": 13_026, "Other": 2_960}


def applies_to(dataset: str) -> bool:
    """The study's numbers are comparable only on its dataset."""
    return dataset == DATASET

# Table 5: TimesNet after quantile post-training quantization (test accuracy, memory in MiB by the
# study's accounting: b-bit indices plus min(2^b, n) float32 code values per group of n weights)
TABLE5 = {
    "fp32": {"accuracy": 0.8097, "mib": 3.4158},
    "int8": {"accuracy": 0.8048, "mib": 1.5436},
    "int4": {"accuracy": 0.7951, "mib": 0.4831},
}

# Table 6: PTQ (rows) applied to TimesNet trained normally or with the study's QAT (columns);
# a shorter training than Table 5's
TABLE6 = {
    "fp32": {"fp32": 0.7609, "int8": 0.7609, "int4": 0.7414},
    "int8": {"fp32": 0.7609, "int8": 0.7560, "int4": 0.7219},
    "int4": {"fp32": 0.7609, "int8": 0.7707, "int4": 0.7024},
}
"""``TABLE6[ptq][training]``: test accuracy."""

# Tables 3 and 4: TimesNet sparsified to about 50% and 75% of its Conv2d + Linear parameters
# (method -> % parameters removed, test accuracy before and after 10 fine-tuning epochs; the study
# chose the fine-tuning epoch on the test set)
TABLE34 = {
    0.5: {"lowrank": (48.9, 0.736, 0.766), "importance": (52.0, 0.761, 0.761), "magnitude": (49.7, 0.795, 0.800)},
    0.75: {"lowrank": (76.4, 0.766, 0.775), "importance": (74.4, 0.751, 0.761), "magnitude": (74.6, 0.805, 0.810)},
}


def cases(a: float, b: float) -> int:
    """How many of the study's test cases separate two of its accuracies."""
    return round(abs(a - b) * TEST_CASES)


def gap_text(a: float, b: float, lang: str, arrow: bool = False) -> str:
    """``"0.761 vs 0.766, one case of 205"`` (or ``→`` with ``arrow``) in ``lang`` — the study's own
    numbers, quoted with how many of its test cases they differ by (Russian: ``0,761 против 0,766;
    1 пример из 205``, numbers and agreement through :mod:`tscompress.names`)."""
    from .names import LIST_SEP, RU_NOUNS, counted, number

    n = cases(a, b)
    sep = {"en": " → " if arrow else " vs ", "ru": " → " if arrow else " против "}[lang]
    count = (counted(n, RU_NOUNS["case.nom"], lang) + f" из {TEST_CASES}" if lang == "ru"
             else counted(n, {"one": "case", "other": "cases"}, lang) + f" of {TEST_CASES}")
    return f"{number(a, lang)}{sep}{number(b, lang)}{LIST_SEP[lang]}{count}"
