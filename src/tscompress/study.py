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
