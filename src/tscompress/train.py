"""One training loop for every chapter: ``fit`` and ``evaluate``.

The loop follows Time-Series-Library's classification recipe (RAdam, lr 1e-3, cross-entropy,
gradient-norm clipping at 4.0, batch 16) with two deliberate differences:

* the epoch and the model are selected on a **validation** split (TSLib and the study used the
  test set for that), by validation accuracy with validation loss as the tie-break, with early
  stopping after ``patience`` epochs without improvement; the best state is restored at the end;
* chapters change *what* is optimised, not *how*: a ``loss`` hook replaces cross-entropy
  (distillation), ``callbacks`` run after every optimiser step or epoch (quantisation-aware
  training re-quantises the weights there; pruning masks live in ``torch.nn.utils.prune``), and
  a loss that is itself an ``nn.Module`` has its parameters trained too (OFA projectors).

There is one evaluation pass per epoch (on validation); the training loss and accuracy come from
the training pass itself.
"""

from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterable, NamedTuple, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .errors import ConfigError
from .metrics import balanced_accuracy, bootstrap_ci, majority_rate

__all__ = [
    "Batch",
    "TrainConfig",
    "FitResult",
    "EvalResult",
    "Callback",
    "fit",
    "evaluate",
    "evaluate_logits",
    "evaluate_predictions",
    "cross_validate",
    "CVResult",
    "predict_logits",
    "set_seed",
    "resolve_device",
    "cross_entropy_loss",
    "weighted_cross_entropy_loss",
    "recipe_loss",
    "class_weights",
    "SELECT_CRITERIA",
]


class Batch(NamedTuple):
    """A mini-batch: inputs ``x [B, L, C]``, labels ``y [B]`` and ``index [B]``, the cases'
    positions in their split (so a hook can look up per-case data such as cached teacher logits)."""

    x: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor


LossFn = Callable[[nn.Module, Batch], "tuple[torch.Tensor, torch.Tensor]"]
"""``loss(model, batch) -> (scalar loss, logits)``."""


class Callback(Protocol):  # pragma: no cover - structural type only
    def on_step_end(self, model: nn.Module, step: int) -> None: ...

    def on_epoch_end(self, model: nn.Module, record: dict) -> None: ...


def cross_entropy_loss(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The default loss: mean cross-entropy of the model's logits."""
    logits = model(batch.x)
    return F.cross_entropy(logits, batch.y), logits


SELECT_CRITERIA = ("accuracy", "balanced_accuracy", "mean_accuracy", "loss", "last")
"""How :func:`fit` picks the epoch it keeps: best validation accuracy, best validation balanced
accuracy, best mean of the two (validation loss breaks ties in these three), lowest validation
loss, or simply the last epoch (a fixed number of epochs; patience is then ignored)."""

CLASS_WEIGHTS = ("none", "balanced")
"""``"balanced"`` weights the default cross-entropy by ``n / (k · n_c)`` per class ``c`` (scikit-learn's
``class_weight="balanced"``), computed from the training labels."""

SAMPLINGS = ("shuffle", "balanced")
"""``"shuffle"``: every training case once per epoch in a random order. ``"balanced"``: as many draws
per epoch as training cases, each class equally likely (cases drawn with replacement within
their class): applies to every loss, including the chapters' hooks."""


@dataclass
class TrainConfig:
    """Settings of one training run. Run sizes (epochs, patience) come from :mod:`tscompress.profiles`."""

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 16
    eval_batch_size: int = 64
    grad_clip: float | None = 4.0
    patience: int | None = 10
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    desc: str = "train"
    select: str = "accuracy"
    class_weight: str = "none"
    sampling: str = "shuffle"

    def __post_init__(self) -> None:
        ints = {"epochs": 0, "batch_size": 1, "eval_batch_size": 1, "seed": None}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"training setting {name} must be an integer, got {value!r}")
            if low is not None and value < low:
                raise ConfigError(f"training setting {name} must be >= {low}, got {value}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise ConfigError(f"training setting patience must be a positive integer or None, got {self.patience!r}")
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ConfigError(f"training setting lr must be a positive number, got {self.lr!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise ConfigError(f"training setting weight_decay must be a number >= 0, got {self.weight_decay!r}")
        choices = {"select": SELECT_CRITERIA, "class_weight": CLASS_WEIGHTS, "sampling": SAMPLINGS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                shown = ", ".join(allowed)
                raise ConfigError(f"training setting {name} must be one of {shown}, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitResult:
    """What :func:`fit` did: the per-epoch history and which epoch was kept."""

    history: list[dict]
    best_epoch: int
    best_val_accuracy: float
    best_val_loss: float
    seconds: float
    stopped_early: bool
    device: str
    stopped_by: str = "cap"
    """Why the run ended: ``"patience"`` (the validation criterion stopped improving for ``patience``
    epochs), ``"converged"`` (the procedure's own objective could not be improved further: a callback
    said so), ``"cap"`` (it reached ``epochs`` while still allowed to improve: the curve was cut), or
    ``"fixed"`` (a fixed number of epochs by design, ``select="last"``)."""
    start_candidate: bool = False
    """True when the state the run started from was evaluated as epoch 0 and could be kept."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FitResult":
        """A result saved with :meth:`to_dict` (e.g. in a checkpoint); fields a newer version added take
        their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def best_record(self) -> dict:
        """The history record of the epoch that was kept (epoch 0 is the start, when it was a candidate)."""
        return next(r for r in self.history if r["epoch"] == self.best_epoch)

    @property
    def epochs_trained(self) -> int:
        """Epochs of training that ran (epoch 0, the start's evaluation, is not one)."""
        return sum(1 for r in self.history if r["epoch"] > 0)

    @property
    def capped(self) -> bool:
        """The run ended at its epoch cap while its validation criterion could still improve."""
        return self.stopped_by == "cap"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalResult:
    """Accuracy with its context: number of cases, 95% bootstrap interval, majority-class rate."""

    n: int
    loss: float
    accuracy: float
    accuracy_ci: tuple[float, float]
    balanced_accuracy: float
    balanced_accuracy_ci: tuple[float, float]
    majority_rate: float
    labels: np.ndarray = field(repr=False)
    preds: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)

    @property
    def correct(self) -> np.ndarray:
        return self.labels == self.preds

    @property
    def single_class(self) -> bool:
        """True when the model predicts one class for every case (a collapsed classifier)."""
        return len(np.unique(self.preds)) <= 1

    def summary(self, prefix: str = "") -> dict[str, Any]:
        """Scalars only, for tables and manifests."""
        return {
            f"{prefix}n": self.n,
            f"{prefix}loss": self.loss,
            f"{prefix}accuracy": self.accuracy,
            f"{prefix}accuracy_lo": self.accuracy_ci[0],
            f"{prefix}accuracy_hi": self.accuracy_ci[1],
            f"{prefix}balanced_accuracy": self.balanced_accuracy,
            f"{prefix}balanced_accuracy_lo": self.balanced_accuracy_ci[0],
            f"{prefix}balanced_accuracy_hi": self.balanced_accuracy_ci[1],
            f"{prefix}majority_rate": self.majority_rate,
            f"{prefix}single_class": bool(self.single_class),
        }

    def describe(self, lang: str = "en", localized: bool = True) -> str:
        """One line: accuracy with its interval, cases, majority rate, balanced accuracy (phrase table
        ``notebook_lines``; the Russian line writes its numbers the Russian way unless ``localized`` is False, for a
        caller that localizes the whole line it goes into)."""
        from .names import localize_numbers
        from .phrases import table

        lo, hi = self.accuracy_ci
        text = table("notebook_lines")["evaluation"][lang].format(
            acc=self.accuracy, lo=lo, hi=hi, n=self.n, maj=self.majority_rate, bacc=self.balanced_accuracy)
        return text if lang == "en" or not localized else localize_numbers(text, lang)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a run on the CPU repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` = CUDA if available, then Apple MPS, then CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or mps") from exc


def _batches(n: int, batch_size: int, generator: torch.Generator | None) -> Iterable[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int = 64, device: str | torch.device = "auto") -> torch.Tensor:
    """Logits of ``model`` in eval mode for all rows of ``X``, in order, in fixed batches.

    TimesNet picks its periods from the FFT of the whole batch, so its outputs depend on how cases
    are batched; evaluation therefore always uses the same, unshuffled batches.
    """
    dev = resolve_device(device)
    was_training = model.training
    model.eval()
    out = []
    for idx in _batches(len(X), batch_size, None):
        out.append(model(X[idx].to(dev)).float().cpu())
    model.train(was_training)
    if not out:
        return torch.empty(0, 0)
    return torch.cat(out)


def evaluate(
    model: nn.Module,
    split: Any,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    n_boot: int = 2000,
    seed: int = 0,
) -> EvalResult:
    """Evaluate on a split (anything with ``X`` and ``y``): loss, accuracy with a 95% bootstrap
    interval, balanced accuracy with its interval, and the split's majority-class rate."""
    logits = predict_logits(model, split.X, batch_size=batch_size, device=device)
    return evaluate_logits(logits, split.y, n_boot=n_boot, seed=seed)


def evaluate_logits(logits: torch.Tensor, y: torch.Tensor, n_boot: int = 2000, seed: int = 0) -> EvalResult:
    """:func:`evaluate` on logits already computed (for instance pooled over cross-validation folds)."""
    logits = torch.as_tensor(logits).float().cpu()
    y = torch.as_tensor(y).long().cpu()
    loss = float(F.cross_entropy(logits, y).item()) if len(y) else float("nan")
    return evaluate_predictions(y.numpy(), logits.argmax(dim=1).numpy(), n_boot=n_boot, seed=seed,
                                loss=loss, logits=logits.numpy())


def evaluate_predictions(labels: np.ndarray, preds: np.ndarray, n_boot: int = 2000, seed: int = 0,
                         loss: float = float("nan"), logits: np.ndarray | None = None) -> EvalResult:
    """:func:`evaluate` on predicted classes (a classifier without logits, such as the reference)."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    acc = float(np.mean(labels == preds)) if len(labels) else float("nan")
    return EvalResult(
        n=int(len(labels)),
        loss=loss,
        accuracy=acc,
        accuracy_ci=bootstrap_ci(labels, preds, "accuracy", n_boot=n_boot, seed=seed),
        balanced_accuracy=balanced_accuracy(labels, preds),
        balanced_accuracy_ci=bootstrap_ci(labels, preds, "balanced_accuracy", n_boot=n_boot, seed=seed),
        majority_rate=majority_rate(labels),
        labels=labels,
        preds=preds,
        logits=np.zeros((len(labels), 0), dtype=np.float32) if logits is None else logits,
    )


@dataclass
class CVResult:
    """Cross-validation: one fit per fold, and the test predictions of all folds pooled, so that
    every case is tested exactly once (``pooled``; cases in ``case_index`` order)."""

    pooled: EvalResult
    folds: list[EvalResult]
    fits: list[FitResult]
    case_index: np.ndarray
    val_pooled: EvalResult | None = None
    """Each fold's validation part at the epoch it kept, concatenated (never the test parts): what a
    choice between training recipes may read."""

    @property
    def seconds(self) -> float:
        return float(sum(f.seconds for f in self.fits))


def cross_validate(
    build: Callable[[Any], nn.Module],
    folds: Iterable[Any],
    config: TrainConfig | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> CVResult:
    """Train a fresh model on each fold and pool the folds' test predictions.

    Args:
        build: ``build(dataset) -> model``, called once per fold (after seeding, so that the
            initial weights of every fold repeat exactly).
        folds: datasets with ``train``/``val``/``test`` splits whose test parts are disjoint, e.g.
            ``load_dataset(..., protocol="cv", fold=k)`` for every ``k``.
        config: the :class:`TrainConfig` of every fold (selection on each fold's own validation part).
        n_boot, seed: bootstrap of the pooled intervals.
    """
    config = config or TrainConfig()
    logits, labels, index, per_fold, fits = [], [], [], [], []
    val_logits, val_labels = [], []
    seen: set[int] = set()
    for dataset in folds:
        part = dataset.test
        ids = np.asarray(part.index).tolist()
        if seen.intersection(ids) or len(set(ids)) != len(ids):  # checked before any training time is spent
            raise ConfigError("cross_validate: the folds' test parts overlap; pooling would test a case twice")
        seen.update(ids)
        set_seed(config.seed)
        model = build(dataset)
        fits.append(fit(model, dataset, config))
        val_logits.append(predict_logits(model, dataset.val.X, device=config.device))
        val_labels.append(dataset.val.y.cpu())
        out = predict_logits(model, part.X, device=config.device)
        per_fold.append(evaluate_logits(out, part.y, n_boot=n_boot, seed=seed))
        logits.append(out)
        labels.append(part.y.cpu())
        index.append(np.asarray(part.index))
    if not fits:
        raise ConfigError("cross_validate needs at least one fold")
    case_index = np.concatenate(index)
    order = np.argsort(case_index, kind="stable")
    pooled = evaluate_logits(torch.cat(logits)[order], torch.cat(labels)[order], n_boot=n_boot, seed=seed)
    val_pooled = evaluate_logits(torch.cat(val_logits), torch.cat(val_labels), n_boot=0, seed=seed)
    return CVResult(pooled=pooled, folds=per_fold, fits=fits, case_index=case_index[order], val_pooled=val_pooled)


def _score(record: dict, select: str) -> tuple[float, float]:
    """(primary, tie-break) of an epoch under a selection criterion; larger is better for both."""
    loss = -record["val_loss"]
    if select == "accuracy":
        return record["val_accuracy"], loss
    if select == "balanced_accuracy":
        return record["val_balanced_accuracy"], loss
    if select == "mean_accuracy":
        return 0.5 * (record["val_accuracy"] + record["val_balanced_accuracy"]), loss
    if select == "loss":
        return loss, record["val_accuracy"]
    return float(record["epoch"]), 0.0  # "last"


def _better(score: tuple[float, float], best: tuple[float, float]) -> bool:
    if score[0] > best[0] + 1e-12:
        return True
    return abs(score[0] - best[0]) <= 1e-12 and score[1] > best[1] + 1e-12


def class_weights(y: torch.Tensor, n_classes: int | None = None) -> torch.Tensor:
    """``n / (k · n_c)`` per class (scikit-learn's "balanced"); a class absent from ``y`` gets 0."""
    y = torch.as_tensor(y).long()
    k = int(n_classes if n_classes is not None else int(y.max()) + 1)
    counts = torch.bincount(y, minlength=k).float()
    w = torch.zeros(k)
    present = counts > 0
    w[present] = len(y) / (int(present.sum()) * counts[present])
    return w


def weighted_cross_entropy_loss(weight: torch.Tensor) -> LossFn:
    """Cross-entropy with per-class weights (a weighted mean, as ``F.cross_entropy`` computes it)."""

    def loss(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(batch.x)
        return F.cross_entropy(logits, batch.y, weight=weight.to(logits.device)), logits

    loss.weight = weight  # type: ignore[attr-defined]  # what a procedure with its own objective reuses
    return loss


def recipe_loss(config: TrainConfig, splits: Any) -> LossFn:
    """The loss :func:`fit` trains with when no hook replaces it: cross-entropy, weighted by
    :func:`class_weights` of the training labels when ``config.class_weight == "balanced"``."""
    if config.class_weight != "balanced":
        return cross_entropy_loss
    n_classes = int(max(int(splits.train.y.max()), int(splits.val.y.max()))) + 1
    return weighted_cross_entropy_loss(class_weights(splits.train.y, n_classes))


def _balanced_batches(y: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterable[torch.Tensor]:
    """``len(y)`` draws, each class equally likely, cases drawn with replacement inside their class."""
    y = torch.as_tensor(y).long().cpu()
    classes = torch.unique(y)
    members = [torch.nonzero(y == c).flatten() for c in classes]
    n = len(y)
    which = torch.randint(len(classes), (n,), generator=generator)
    order = torch.empty(n, dtype=torch.long)
    for c, idx in enumerate(members):
        pick = which == c
        order[pick] = idx[torch.randint(len(idx), (int(pick.sum()),), generator=generator)]
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def fit(
    model: nn.Module,
    splits: Any,
    config: TrainConfig | None = None,
    loss: LossFn | None = None,
    callbacks: Sequence[Any] = (),
    params: Iterable[nn.Parameter] | None = None,
    optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] | None = None,
    start_candidate: bool = False,
) -> FitResult:
    """Train ``model`` on ``splits.train``, select the epoch on ``splits.val``, restore the best state.

    Args:
        model: any ``nn.Module`` mapping ``[B, L, C]`` to logits.
        splits: an object with ``train`` and ``val`` splits (``X``, ``y``), e.g. a
            :class:`tscompress.data.Dataset`.
        config: :class:`TrainConfig`.
        loss: ``loss(model, batch) -> (loss, logits)``; default cross-entropy. If it is an
            ``nn.Module`` its own trainable parameters are optimised too (and restored with the
            best epoch), and it is switched between train and eval mode with the model.
        callbacks: objects with optional ``on_step_end(model, step)`` and
            ``on_epoch_end(model, record)`` methods; a callback whose ``converged`` attribute is true
            after an epoch ends the run (``stopped_by="converged"``: its procedure found nothing left
            to improve on its own objective).
        params: the parameters to optimise; default every parameter with ``requires_grad``.
        optimizer: ``optimizer(params) -> torch.optim.Optimizer``; default RAdam with the config's
            learning rate and weight decay (a method whose update is not a gradient step — e.g.
            moving quantization codes — brings its own).
        start_candidate: the model arrives trained (fine-tuning after compression, adapters, full
            fine-tuning, distillation or quantization-aware training from a trained model): its state is
            evaluated on validation as **epoch 0** and is a candidate of the selection like every later
            epoch, so a run whose every epoch is worse than its start ends exactly where it started (the
            start's state is restored bit for bit). Epoch 0 has no training loss or accuracy (NaN).

    The epoch kept follows ``config.select`` (default: the best validation accuracy, ties broken by
    lower validation loss, cross-entropy); patience counts epochs without such an improvement.
    ``config.class_weight="balanced"`` weights the default cross-entropy (a ``loss`` hook brings its
    own); ``config.sampling="balanced"`` draws each class equally often, under any loss.
    """
    config = config or TrainConfig()
    loss_fn: LossFn = loss or recipe_loss(config, splits)
    device = resolve_device(config.device)
    set_seed(config.seed)
    model.to(device)
    loss_module = loss if isinstance(loss, nn.Module) else None
    if loss_module is not None:
        loss_module.to(device)
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if loss_module is not None:
            params += [p for p in loss_module.parameters() if p.requires_grad]
    params = list(params)
    if not params:
        raise ConfigError("nothing to train: no parameter requires a gradient")
    optimizer = (optimizer(params) if optimizer is not None
                 else torch.optim.RAdam(params, lr=config.lr, weight_decay=config.weight_decay))
    generator = torch.Generator().manual_seed(config.seed)

    train, val = splits.train, splits.val
    X_train, y_train = train.X, train.y
    n_train = len(y_train)
    if n_train == 0 or len(val.y) == 0:
        raise ConfigError("fit needs non-empty train and validation splits")

    def snapshot() -> dict:
        state = {"model": copy.deepcopy(model.state_dict())}
        if loss_module is not None:
            state["loss"] = copy.deepcopy(loss_module.state_dict())
        return state

    history: list[dict] = []
    best = snapshot()
    best_score: tuple[float, float] = (-math.inf, -math.inf)
    best_acc, best_loss, best_epoch = -math.inf, math.inf, 0
    patience = None if config.select == "last" else config.patience
    bad_epochs, stopped_early, converged, step = 0, False, False, 0
    t_start = time.perf_counter()
    if start_candidate:  # epoch 0: the trained start, evaluated like every epoch and kept unless beaten
        if loss_module is not None:
            loss_module.eval()
        val_res = evaluate(model, val, batch_size=config.eval_batch_size, device=device, n_boot=0)
        record = {"epoch": 0, "train_loss": math.nan, "train_accuracy": math.nan, "val_loss": val_res.loss,
                  "val_accuracy": val_res.accuracy, "val_balanced_accuracy": val_res.balanced_accuracy,
                  "seconds": time.perf_counter() - t_start, "best": True}
        best_score = _score(record, config.select)
        best_acc, best_loss = val_res.accuracy, val_res.loss
        history.append(record)
    bar = tqdm(range(1, config.epochs + 1), desc=config.desc, disable=not config.progress, leave=False,
               mininterval=1.0, dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        if loss_module is not None:
            loss_module.train()
        total_loss, total_correct, seen = 0.0, 0, 0
        order = (_balanced_batches(y_train, config.batch_size, generator) if config.sampling == "balanced"
                 else _batches(n_train, config.batch_size, generator))
        for idx in order:
            batch = Batch(X_train[idx].to(device), y_train[idx].to(device), idx.to(device))
            optimizer.zero_grad(set_to_none=True)
            value, logits = loss_fn(model, batch)
            if not torch.isfinite(value):
                raise FloatingPointError(f"non-finite training loss at epoch {epoch}")
            value.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            step += 1
            for cb in callbacks:
                hook = getattr(cb, "on_step_end", None)
                if hook is not None:
                    hook(model, step)
            k = len(idx)
            total_loss += float(value.detach()) * k
            total_correct += int((logits.detach().argmax(1) == batch.y).sum())
            seen += k
        if loss_module is not None:
            loss_module.eval()
        val_res = evaluate(model, val, batch_size=config.eval_batch_size, device=device, n_boot=0)
        record = {
            "epoch": epoch,
            "train_loss": total_loss / seen,
            "train_accuracy": total_correct / seen,
            "val_loss": val_res.loss,
            "val_accuracy": val_res.accuracy,
            "val_balanced_accuracy": val_res.balanced_accuracy,
            "seconds": time.perf_counter() - t0,
        }
        score = _score(record, config.select)
        improved = _better(score, best_score)
        if improved:
            best_score = score
            best_acc, best_loss, best_epoch = val_res.accuracy, val_res.loss, epoch
            best = snapshot()
            bad_epochs = 0
        else:
            bad_epochs += 1
        record["best"] = improved
        history.append(record)
        for cb in callbacks:
            hook = getattr(cb, "on_epoch_end", None)
            if hook is not None:
                hook(model, record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", val_acc=f"{record['val_accuracy']:.3f}", refresh=False)
        if any(getattr(cb, "converged", False) for cb in callbacks):
            converged = True
            break
        if patience is not None and bad_epochs >= patience:
            stopped_early = True
            break
    bar.close()
    stopped_by = ("converged" if converged else "fixed" if config.select == "last" else
                  "patience" if stopped_early else "cap")
    if history:  # every saved curve carries how it ended
        history[-1]["stopped_by"] = stopped_by
    model.load_state_dict(best["model"])
    if loss_module is not None and "loss" in best:
        loss_module.load_state_dict(best["loss"])
    model.eval()
    return FitResult(
        history=history,
        best_epoch=best_epoch,
        best_val_accuracy=float(best_acc),
        best_val_loss=float(best_loss),
        seconds=time.perf_counter() - t_start,
        stopped_early=stopped_early,
        device=str(device),
        stopped_by=stopped_by,
        start_candidate=start_candidate,
    )
