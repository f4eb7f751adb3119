"""What every chapter notebook does first: resolve the profile, load the data, open the output folder.

A notebook's parameters cell holds ``profile``, ``dataset``, ``data_dir``, ``protocol``, ``seed``,
``results_dir``, ``out_dir`` and ``overrides``; it passes them to :func:`start`, which returns a
:class:`Chapter` that knows the resolved profile, the seeds, the device and where to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .data import Dataset, load_dataset, subsample
from .errors import ConfigError
from .profiles import Profile, get_profile
from .recipes import Recipe, get_recipe
from .results import ChapterRun, project_root
from .train import TrainConfig, resolve_device, set_seed

__all__ = ["Chapter", "start", "use_threads"]


@dataclass
class Chapter:
    name: str
    profile: Profile
    dataset_name: str
    data_dir: str | None
    protocol: str
    seeds: list[int]
    device: str
    run: ChapterRun
    _data: dict[int, Dataset] = field(default_factory=dict, repr=False)

    def data(self, seed: int | None = None) -> Dataset:
        """The dataset split for ``seed`` (the split itself is seeded under resample/cv protocols)."""
        seed = self.seeds[0] if seed is None else seed
        if seed not in self._data:
            self._data[seed] = self._load(seed, protocol=self.protocol,
                                          test_fraction=self.profile.data.test_fraction)
        return self._data[seed]

    def _load(self, seed: int, **split: Any) -> Dataset:
        d = self.profile.data
        ds = load_dataset(self.dataset_name, data_dir=self.data_dir, seed=seed, val_fraction=d.val_fraction, **split)
        if d.max_train or d.max_eval:
            ds = subsample(ds, max_train=d.max_train, max_eval=d.max_eval, seed=seed)
        return ds

    def folds(self, n_folds: int, seed: int | None = None) -> Iterator[Dataset]:
        """The ``n_folds`` datasets of stratified k-fold cross-validation over all labelled cases
        (protocol ``cv``; each with its own validation part), loaded one at a time."""
        seed = self.seeds[0] if seed is None else seed
        for fold in range(n_folds):
            yield self._load(seed, protocol="cv", fold=fold, n_folds=n_folds)

    @property
    def recipe(self) -> Recipe:
        """The training recipe of every chapter: the profile's ``train.recipe``."""
        recipe = get_recipe(self.profile.train.recipe)
        if recipe.model or recipe.refit:
            raise ConfigError(f"training recipe {recipe.name!r} changes a model setting or retrains on validation; "
                              "the recipe study can compare it, but every chapter needs a training-only recipe")
        return recipe

    def train_config(self, section: str = "models", seed: int | None = None, **changes: Any) -> TrainConfig:
        """A :class:`TrainConfig` from a profile section's ``epochs``/``patience``/``batch_size`` and the
        book's training recipe (``changes`` last: a section with several budgets, such as quantization's,
        passes ``epochs`` and ``patience`` here)."""
        s = self.profile[section]
        # no per-epoch progress bars inside chapter notebooks: their outputs go into the book's appendix
        # (papermill shows cell progress on the terminal instead)
        values = {"epochs": s.get("epochs"), "patience": s.get("patience"), "batch_size": s.get("batch_size", 16),
                  "seed": self.seeds[0] if seed is None else seed, "device": self.device, "progress": False}
        values.update(self.recipe.train)  # the book's training recipe (profile ``train.recipe``), every chapter
        values.update(changes)
        return TrainConfig.from_dict(values)

    def say(self, line: str, /, **values: Any) -> None:
        """Show line ``line`` of the phrase table ``notebook_lines`` in the executed notebook, in each edition's words
        (:meth:`tscompress.results.ChapterRun.say`). An evaluation (:class:`~tscompress.train.EvalResult`) is
        described in the edition's words, a ``{"en": ..., "ru": ...}`` mapping gives each edition its own, and the
        Russian line writes its numbers the Russian way (the whole line once)."""
        from .names import localize_numbers
        from .phrases import table
        from .train import EvalResult

        lines = {}
        for lang, template in table("notebook_lines")[line].items():
            shown = {k: v.describe(lang, localized=False) if isinstance(v, EvalResult)
                     else v[lang] if isinstance(v, Mapping) and lang in v else v for k, v in values.items()}
            text = template.format(**shown)
            lines[lang] = text if lang == "en" else localize_numbers(text, lang)
        self.run.say(lines)

    @staticmethod
    def stopped(fit: Any) -> dict[str, str]:
        """How a training ended (``fit.stopped_by``: patience, cap, converged, fixed) in each edition's words."""
        from .plots import label

        return {lang: label(f"stopped_{fit.stopped_by}", lang) for lang in ("en", "ru")}

    def say_start(self, section: str | None = None, notes: bool = False) -> None:
        """The lines a chapter notebook opens with: the profile, device, seeds and protocol, the profile's
        ``section`` settings, and (``notes``) what loading the data noted."""
        from .phrases import table

        described = table("profile_descriptions").get(self.profile.name, {})
        self.say("profile", name=self.profile.name,
                 description={"en": self.profile.description, "ru": described.get("ru", self.profile.description)})
        self.say("run", device=self.device, seeds=self.seeds, protocol=self.protocol)
        if section is not None:
            self.say("settings", section=section, settings=self.profile[section].to_dict())
        for note in self.data().notes if notes else []:
            self.say("note", note=note)

    def glue_starting_point(self, model: str = "TimesNet") -> None:
        """Glue ``start_<lang>``: the verdict a chapter opens with about the fp32 ``model`` of the models
        chapter it starts from (its first seed's test row) beside the reference classifier on the
        same cases (:func:`tscompress.report.starting_point_text`)."""
        import pandas as pd

        from .report import starting_point_text

        seed = self.seeds[0]
        table = pd.read_csv(self.run.upstream("00_models", "variants.csv"))
        base = table[(table["method"] == "baseline") & (table["base"] == model) & (table["seed"] == seed)]
        if base.empty:
            raise ConfigError(f"the models chapter recorded no fp32 {model} for seed {seed}")
        ref_path = self.run.upstream("00_models", "reference.csv")
        ref = pd.read_csv(ref_path) if ref_path.exists() else pd.DataFrame(columns=["seed"])
        ref = ref[ref["seed"] == seed]
        for lang in ("en", "ru"):
            self.run.glue(f"start_{lang}", starting_point_text(base.iloc[0].to_dict(),
                                                                ref.iloc[0].to_dict() if len(ref) else None, lang,
                                                                name=model))

    def glue_findings(self, log: Any) -> None:
        """Glue ``finding_<lang>`` (the page's opening finding) and ``summary_<lang>`` (its closing summary): every
        variant of this chapter's first seed recorded in ``log`` (a :class:`tscompress.variants.VariantLog`) against
        the models chapter's fp32 model of its base on the same test cases (:mod:`tscompress.findings.chapter`)."""
        import pandas as pd

        from .findings import chapter as fchapter

        read = lambda name: pd.read_csv(self.run.upstream("00_models", name), keep_default_na=False,  # noqa: E731
                                        na_values=[""])
        own = log.table()
        preds = pd.concat(log.predictions, ignore_index=True) if log.predictions else pd.DataFrame(
            columns=["id", "case", "label", "pred", "correct"])
        paired = fchapter.against_fp32(own, preds, read("variants.csv"), read("variant_predictions.csv"),
                                       self.seeds[0])
        for lang in ("en", "ru"):
            self.run.glue(f"finding_{lang}", fchapter.finding_text(paired, lang))
            self.run.glue(f"summary_{lang}", fchapter.summary_text(paired, lang))

    def finish(self, summary: list[str] | None = None, **extra: Any) -> Path:
        """Write the manifest with the dataset descriptions, seeds and a human summary."""
        datasets = {str(seed): ds.describe() for seed, ds in self._data.items()}
        return self.run.finish(dataset=self.dataset_name, protocol=self.protocol, seeds=self.seeds,
                               device=self.device, data=datasets, summary=summary or [], **extra)


def use_threads(prof: Profile) -> int:
    """Run torch on the profile's ``resources.num_cpus`` threads (at least one, at most this machine's CPUs), under
    either executor: float sums are ordered by the thread count, so a node run locally and the same node run by Ray
    (which gives it those CPUs) compute the same numbers — a validation loss that improves by 1e-4 would otherwise
    choose another epoch under another executor."""
    import os

    import torch

    n = max(1, min(int(prof.resources.num_cpus), os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def start(
    chapter: str,
    profile: str = "quick",
    dataset: str = "Heartbeat",
    data_dir: str | None = None,
    protocol: str = "auto",
    seed: int | None = None,
    results_dir: str | None = None,
    out_dir: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    device: str = "auto",
    parameters: Mapping[str, Any] | None = None,
) -> Chapter:
    """Open a chapter run: profile with overrides, seeds (``seed`` = one seed instead of the
    profile's list), device, and the output folder (``results/<profile>/<dataset>/<chapter>`` by default,
    as ``tscompress run`` lays it out)."""
    prof = get_profile(profile, overrides, dataset=dataset)
    use_threads(prof)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    seeds = [seed] if seed is not None else list(prof.seeds)
    # torch seeds its generator from the OS at start-up: a draw that no step seeds itself would differ from run to
    # run; from here every draw follows the first seed
    set_seed(seeds[0])
    if results_dir is None:
        root = project_root() or Path.cwd()
        results_dir = str(root / "results" / profile / dataset)
    dev = str(resolve_device(device))
    if parameters is None:  # what the run records as its parameters (the machine's folders left out)
        parameters = dict(profile=profile, dataset=dataset, protocol=protocol, seed=seed, overrides=dict(overrides or {}))
    run = ChapterRun(chapter, results_dir, out_dir, profile=prof, parameters=dict(parameters))
    ch = Chapter(chapter, prof, dataset, data_dir, protocol, seeds, dev, run)
    ch.recipe  # an unknown recipe name fails here, in one line
    ch.data(seeds[0])  # fail early, with a clear message, if the data is missing or bad
    ch.protocol = ch.data(seeds[0]).protocol  # resolve "auto"
    return ch


#: The names a chapter notebook's parameters cell sets (papermill overrides them by name).
NOTEBOOK_PARAMETERS: tuple[str, ...] = ("profile", "dataset", "seed", "overrides", "data_dir", "results_dir", "out_dir",
                                        "protocol", "device")


def from_notebook(chapter: str, namespace: Mapping[str, Any]) -> Chapter:
    """:func:`start` with the parameters a chapter notebook's namespace holds (``vars()`` after its parameters
    cell and papermill's injected one); a parameter the namespace lacks keeps :func:`start`'s default."""
    return start(chapter, **{name: namespace[name] for name in NOTEBOOK_PARAMETERS if name in namespace})
