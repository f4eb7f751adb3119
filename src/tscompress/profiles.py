"""Run sizes: the one place that says how big a run is.

* ``smoke`` — seconds; for tests. Tiny subsets of the data, one epoch, smallest grids.
* ``quick`` — the whole book on a 2-core CPU, on Heartbeat and JapaneseVowels (on a 2-core AVX2 EPYC on
  2026-12-03 the chapters took 33 and 18 minutes, the HTML and PDF builds 4): the study's exact architectures
  and sequence length, the study's 30 base epochs, fewer fine-tuning epochs (2 after sparsification, 5 for
  QAT, 4 for PEFT, 6 for the students), smaller grids, one seed.
* ``full`` — the study's own settings (30 base epochs with patience 10, 10 fine-tuning epochs,
  the full grids) and three seeds; meant for a GPU. On a 2-core AVX-512 EPYC CPU (2026-12-04), one seed of
  Heartbeat took 371 s for the models chapter, 191 s for sparsification, 218 s for quantization; the whole
  study on both datasets is extrapolated to 3-4 hours there (README: "What it costs").

``train.recipe`` names the training recipe of every chapter (selection criterion, class weights,
sampling, learning rate, weight decay: :mod:`tscompress.recipes`); ``models.recipes`` are the recipes the models chapter cross-validates
to choose it (``models.recipe_skip``: ``"recipe:Model"`` pairs left out, to save time; ``models.recipe_datasets``:
the datasets on which they all run, ``"*"`` for every one — elsewhere only ``train.recipe`` is cross-validated), and ``models.reference_kernels`` the MiniRocket reference's number of kernels.

``datasets`` lists the UEA/UCR datasets a book runs every chapter on (``--datasets`` replaces it);
the first is the book's main thread (Heartbeat, the study's dataset), each further one gets its own
results folder ``results/<profile>/<dataset>/``, a section in every chapter page and its own executed
notebooks in the book. The quick profile adds JapaneseVowels (it ships inside aeon, so it runs offline).

``models.cv_folds`` is the number of cross-validation folds over which the models chapter also
evaluates the baselines (every labelled case tested once); below 2 skips that section (the notebook
runs, but the book's models page needs it).

``seeds``: with several (``--seeds`` replaces them), every seed is its own run of every chapter — a node of the run
graph — and the pages add each model's mean and spread over them (:mod:`tscompress.seeds`).

``resources`` is what one (dataset, seed, chapter) node asks of a Ray cluster with ``--executor ray`` (CPUs and GPUs; a
GPU cluster sets ``-p resources.num_gpus=1``). ``num_cpus`` is also the node's torch threads under either executor
(:func:`tscompress.chapter.use_threads`), so local and Ray runs compute the same numbers.

Every notebook takes ``profile`` plus explicit overrides (``-p models.epochs=5`` on the command
line, or a notebook parameter), and records the resolved profile in its manifest.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, Iterator

from .errors import ConfigError

__all__ = ["PROFILES", "Profile", "get_profile", "profile_names"]

_ALL_MODELS = ["TimesNet", "Transformer", "iTransformer"]

_RECIPE = {"recipe": "weighted"}
"""The training recipe every chapter uses (``train.recipe``, a name from :data:`tscompress.recipes.RECIPES`):
chosen by the models chapter's recipe study on validation parts only — class-weighted cross-entropy, the
epoch kept by validation balanced accuracy."""

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "description": "seconds, for tests: tiny data subsets, one epoch",
        "datasets": ["Heartbeat"],
        "seeds": [0],
        "data": {"val_fraction": 0.2, "test_fraction": 0.3, "max_train": 24, "max_eval": 12},
        "models": {"names": list(_ALL_MODELS), "epochs": 1, "patience": None, "batch_size": 16,
                   "timing_repeats": 1, "cv_folds": 2,
                   "recipes": ["val_accuracy", "weighted"], "recipe_skip": [], "recipe_datasets": ["*"],
                   "reference_kernels": 840},
        "train": dict(_RECIPE),
        "resources": {"num_cpus": 1, "num_gpus": 0},
        "bootstrap": 200,
        "compare": {"latency_repeats": 2, "pipeline_bits": [8, 4], "pipeline_levels": ["50%", "75%"]},
        "distill": {"students": ["Transformer", "iTransformer"], "alphas": [0.0, 1.0], "ofa_points": [[0.4, 0.3]], "T": 2.0, "gamma": 1.0, "epochs": 1, "patience": None, "batch_size": 16},
        "sparsify": {"fractions": [0.5], "density": 0.02, "epochs": 1, "patience": None, "batch_size": 16},
        "quantize": {"ptq_bits": [8, 4], "finetune_bits": [4], "code_steps": 2, "code_patience": None, "code_moves": 16,
                     "ste_tune_bits": [4], "tune_epochs": 1, "tune_patience": None,
                     "qat_bits": [8, 4], "qat_epochs": 1, "qat_patience": None, "qat_from_trained": True,
                     "batch_size": 16},
        "peft": {"ranks": [1], "epochs": 1, "patience": None, "batch_size": 16, "lr": 0.01, "full_lr": 0.001,
                 "alpha_ratio": 2.0, "base_bits": 4, "target_bits": 8, "extra_bases": ["q2", "nf4", "fp32"], "dylora": True,
                 "fast_forward": 6, "add_budget_rank": True, "full_ft": True,
                 "recover_bits": [4, 2], "recover_ratio": 1.0},
        "per_dataset": {},
    },
    "quick": {
        "description": "the whole book on a 2-core CPU: exact architectures, one seed, smaller grids and fewer fine-tuning epochs",
        # Heartbeat, the study's dataset, is the main thread; JapaneseVowels (shipped inside aeon: 9 classes,
        # 12 channels, unequal lengths, official split 270 / 370) is where the models learn and compression's
        # costs show beyond the noise of a small test set
        "datasets": ["Heartbeat", "JapaneseVowels"],
        "seeds": [0],
        "data": {"val_fraction": 0.2, "test_fraction": 0.3, "max_train": None, "max_eval": None},
        "models": {"names": list(_ALL_MODELS), "epochs": 30, "patience": 10, "batch_size": 16,
                   # 3 folds and two recipes keep the book's CI build within its limit on a 2-core AVX2 CPU,
                   # where one TimesNet training step takes ~0.7 s (5 folds x 3 recipes took ~45 min there);
                   # the full profile cross-validates 5 folds over every recipe
                   "timing_repeats": 3, "cv_folds": 3,
                   "recipes": ["val_accuracy", "weighted"],
                   # the Transformer's folds cost several minutes per recipe: quick runs only the book's for it
                   "recipe_skip": ["val_accuracy:Transformer"],
                   # the recipe study answers Heartbeat's imbalance: on a further dataset only the book's recipe
                   # is cross-validated (on JapaneseVowels that saves about four of its ten minutes)
                   "recipe_datasets": ["Heartbeat"],
                   "reference_kernels": 10000},
        "train": dict(_RECIPE),
        "resources": {"num_cpus": 1, "num_gpus": 0},
        "bootstrap": 2000,
        "compare": {"latency_repeats": 5, "pipeline_bits": [8, 4], "pipeline_levels": ["50%", "75%"]},
        # the students train with the models chapter's budget (epochs and patience), so a student and the plain
        # model of the models chapter are compared at the same budget
        "distill": {"students": ["Transformer", "iTransformer"], "alphas": [0.0, 0.5, 1.0], "ofa_points": [[0.5, 0.25], [0.25, 0.5]], "T": 2.0, "gamma": 1.0, "epochs": 30, "patience": 10, "batch_size": 16},
        # every fine-tuning starts from its trained (compressed) model as epoch 0 and runs until validation stops
        # improving (patience) or its cap
        "sparsify": {"fractions": [0.25, 0.5, 0.75, 0.9], "density": 0.02, "epochs": 20, "patience": 3, "batch_size": 16},
        # code fine-tuning: full-batch steps (cap, patience in steps); STE fine-tuning of the PTQ models at
        # ste_tune_bits; the study's QAT from random weights with the models chapter's budget (Table 6), and
        # QAT/STE from the trained model
        "quantize": {"ptq_bits": [8, 4, 3, 2], "finetune_bits": [8, 4, 3, 2], "code_steps": 40, "code_patience": 5,
                     "code_moves": 16, "ste_tune_bits": [2], "tune_epochs": 20, "tune_patience": 5,
                     "qat_bits": [8, 4], "qat_epochs": 30, "qat_patience": 10, "qat_from_trained": True,
                     "batch_size": 16},
        # adapters: 10x the full fine-tuning's learning rate (LoRA practice); the recovery experiment adapts the
        # quantile base of the most bits among recover_bits whose validation loss is at least recover_ratio times
        # fp32's
        "peft": {"ranks": [1, 16], "epochs": 30, "patience": 5, "batch_size": 16, "lr": 0.01, "full_lr": 0.001,
                 "alpha_ratio": 2.0, "base_bits": 4, "target_bits": 8, "extra_bases": ["q2", "nf4", "fp32"], "dylora": True,
                 "fast_forward": 6, "add_budget_rank": True, "full_ft": True,
                 "recover_bits": [4, 3, 2], "recover_ratio": 2.0},
        # per-dataset changes (applied before -p overrides): on Heartbeat a TimesNet epoch costs ~10x one on
        # JapaneseVowels, so the study's QAT from random weights is capped at 10 epochs there (its pages say so) and
        # the codes are fine-tuned at 4 and 2 bits only
        # Under --executor ray a Heartbeat node (series of 405 steps) runs alone on two CPUs (two torch threads
        # make a TimesNet step 1.7x faster there), while a JapaneseVowels node (29 steps, where one thread is as
        # fast as two) takes one CPU, so two of them run side by side
        "per_dataset": {"Heartbeat": {"quantize.qat_epochs": 10, "quantize.finetune_bits": [4, 2],
                                      "resources.num_cpus": 2}},
    },
    "full": {
        "description": "the study's settings (30 epochs, patience 10, full grids), three seeds; meant for a GPU",
        "datasets": ["Heartbeat", "JapaneseVowels"],
        "seeds": [0, 1, 2],
        "data": {"val_fraction": 0.2, "test_fraction": 0.3, "max_train": None, "max_eval": None},
        "models": {"names": list(_ALL_MODELS), "epochs": 30, "patience": 10, "batch_size": 16,
                   "timing_repeats": 5, "cv_folds": 5,
                   "recipes": ["val_accuracy", "val_loss", "val_balanced", "weighted", "balanced_sampler",
                               "weighted_loss_select", "weighted_mean_select", "weighted_lr3e-4", "weighted_wd1e-2", "weighted_fixed",
                               "weighted_top_k1"],
                   "recipe_skip": [], "recipe_datasets": ["*"], "reference_kernels": 10000},
        "train": dict(_RECIPE),
        "resources": {"num_cpus": 1, "num_gpus": 0},
        "bootstrap": 2000,
        "compare": {"latency_repeats": 30, "pipeline_bits": [8, 4], "pipeline_levels": ["50%", "75%"]},
        "distill": {"students": ["Transformer", "iTransformer"], "alphas": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], "ofa_points": [[0.2, 0.2], [0.4, 0.2], [0.2, 0.4], [0.6, 0.2], [0.2, 0.6]], "T": 2.0, "gamma": 1.0, "epochs": 30, "patience": 10, "batch_size": 16},
        "sparsify": {"fractions": [0.25, 0.5, 0.75, 0.9], "density": 0.02, "epochs": 30, "patience": 5, "batch_size": 16},
        "quantize": {"ptq_bits": [8, 6, 4, 3, 2], "finetune_bits": [8, 6, 4, 3, 2], "code_steps": 100,
                     "code_patience": 10, "code_moves": 16, "ste_tune_bits": [8, 6, 4, 3, 2], "tune_epochs": 30,
                     "tune_patience": 10, "qat_bits": [8, 4], "qat_epochs": 30, "qat_patience": 10,
                     "qat_from_trained": True, "batch_size": 16},
        "peft": {"ranks": [1, 2, 4, 7, 8, 16, 32], "epochs": 30, "patience": 10, "batch_size": 16, "lr": 0.01,
                 "full_lr": 0.001, "alpha_ratio": 2.0, "base_bits": 4, "target_bits": 8,
                 "extra_bases": ["q2", "nf4", "fp32"], "dylora": True, "fast_forward": 6, "add_budget_rank": True,
                 "full_ft": True, "recover_bits": [4, 3, 2], "recover_ratio": 2.0},
        "per_dataset": {"Heartbeat": {"resources.num_cpus": 2}},
    },
}


def profile_names() -> list[str]:
    return list(PROFILES)


def _allowed_types(path: tuple[str, ...]) -> set[type]:
    """Types a setting takes across all profiles (so ``patience`` may be an int or None)."""
    types: set[type] = set()
    for values in PROFILES.values():
        node: Any = values
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                node = KeyError
                break
            node = node[key]
        if node is not KeyError:
            types.add(type(node))
    if float in types:
        types.add(int)
    return types


class Profile(Mapping):
    """A resolved profile: read-only nested settings with attribute access (``p.models.epochs``)."""

    def __init__(self, name: str, values: Mapping[str, Any], _path: tuple[str, ...] = ()):
        self._name = name
        self._values = dict(values)
        self._path = _path

    @property
    def name(self) -> str:
        return self._name

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        if isinstance(value, Mapping):
            return Profile(self._name, value, self._path + (key,))
        return copy.deepcopy(value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            where = ".".join(self._path + (key,))
            raise ConfigError(f"profile {self._name!r} has no setting {where!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Profile({self._name!r}, {json.dumps(self.to_dict())})"

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._values)

    def get_path(self, dotted: str) -> Any:
        node: Any = self
        for key in dotted.split("."):
            if not isinstance(node, Mapping) or key not in node:
                raise ConfigError(f"unknown profile setting {dotted!r}")
            node = node[key]
        return node

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Profile":
        """A copy with dotted-key overrides (``{"models.epochs": 3}``), type-checked."""
        values = self.to_dict()
        for dotted, value in (overrides or {}).items():
            path = tuple(dotted.split("."))
            node = values
            for key in path[:-1]:
                if not isinstance(node.get(key), dict):
                    raise ConfigError(f"unknown profile setting {dotted!r}")
                node = node[key]
            if path[-1] not in node or isinstance(node[path[-1]], dict):
                raise ConfigError(f"unknown profile setting {dotted!r}")
            allowed = _allowed_types(path)
            if type(value) not in allowed or (isinstance(value, bool) and bool not in allowed):
                names = ", ".join(sorted(t.__name__ for t in allowed))
                raise ConfigError(f"profile setting {dotted!r} takes {names}, got {value!r}")
            node[path[-1]] = copy.deepcopy(value)
        return Profile(self._name, values)


def get_profile(name: str, overrides: Mapping[str, Any] | None = None, dataset: str | None = None) -> Profile:
    """The named profile, with optional dotted-key overrides. Unknown names raise ``ConfigError``.

    With ``dataset``, the profile's ``per_dataset[dataset]`` changes (dotted keys, like overrides) are
    applied first, then ``overrides``: what a chapter run on that dataset uses."""
    if not isinstance(name, str) or name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    base = Profile(name, PROFILES[name])
    for key, changes in base.to_dict().get("per_dataset", {}).items():
        base.with_overrides(changes)  # every dataset's changes are checked, whichever dataset runs
    if dataset is not None:
        base = base.with_overrides(base.to_dict().get("per_dataset", {}).get(dataset, {}))
    prof = base.with_overrides(overrides)
    from .recipes import get_recipe  # names checked here, so a bad one fails before anything runs

    datasets = prof.datasets
    if not datasets or not all(isinstance(d, str) and d.strip() for d in datasets) or len(set(datasets)) != len(datasets):
        raise ConfigError(f"profile {name!r}: datasets must be a non-empty list of distinct names, got {datasets!r}")
    get_recipe(prof.train.recipe)
    for recipe in prof.models.recipes:
        get_recipe(recipe)
    for pair in prof.models.recipe_skip:
        recipe, _, model = str(pair).partition(":")
        get_recipe(recipe)
        if model not in _ALL_MODELS:
            raise ConfigError(f"models.recipe_skip: {pair!r} is not 'recipe:Model' with a model of {list(_ALL_MODELS)}")
        if recipe == prof.train.recipe:
            raise ConfigError(f"models.recipe_skip: {pair!r} skips the book's own recipe, which every model needs")
    return prof


#: Settings that are not a cut against the study: what a profile is, which datasets and which machine it runs on.
NOT_CUTS: tuple[str, ...] = ("description", "datasets", "per_dataset", "resources")


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in NOT_CUTS and not prefix:
            continue
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differences(name: str, dataset: str | None = None, against: str = "full") -> list[tuple[str, Any, Any]]:
    """``(dotted key, this profile's value, the other's)`` for every setting in which profile ``name``, as it runs on
    ``dataset``, differs from ``against`` (by default ``full``, the study's settings), in ``against``'s order; what a
    profile is for, its datasets and its machine resources are not compared."""
    mine = _flat(get_profile(name, dataset=dataset).to_dict())
    theirs = _flat(get_profile(against, dataset=dataset).to_dict())
    keys = list(theirs) + [k for k in mine if k not in theirs]
    return [(k, mine.get(k), theirs.get(k)) for k in keys if mine.get(k) != theirs.get(k)]
