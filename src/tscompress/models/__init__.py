"""The three Time-Series-Library classifiers of the study, rewritten cleanly.

* :class:`~tscompress.models.timesnet.TimesNet` (Wu et al., arXiv 2210.02186),
* :class:`~tscompress.models.transformer.Transformer` (vanilla encoder over time steps),
* :class:`~tscompress.models.transformer.ITransformer` (Liu et al., arXiv 2310.06625),

all reproducing TSLib's (https://github.com/thuml/Time-Series-Library) classification code and
default sizes exactly (parameter counts on Heartbeat, 61 x 405, 2 classes: 895,442 / 164,354 /
134,338). Checked against a line-by-line replica of TSLib's code: identical ``state_dict`` keys
(apart from TSLib's saved positional table), identical initial weights under the same seed
(modules are created in TSLib's order), and logits equal to within 5e-7. Inputs are ``[batch, seq_len, n_channels]`` float tensors of equal-length series;
``model(x)`` returns logits, ``model(x, return_features=True)`` also the per-layer features for
feature distillation, and ``model.feature_dims`` their shapes.

Public API: :func:`build_model`, :data:`MODEL_NAMES`, :func:`save_checkpoint`,
:func:`load_checkpoint`, :func:`count_parameters`, :func:`parameter_breakdown`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..errors import ConfigError, DataError
from .layers import TSClassifier
from .timesnet import InceptionBlock, TimesBlock, TimesNet, set_inception_fast
from .transformer import ITransformer, Transformer

__all__ = [
    "MODEL_NAMES",
    "build_model",
    "save_checkpoint",
    "load_checkpoint",
    "count_parameters",
    "parameter_breakdown",
    "TSClassifier",
    "TimesNet",
    "TimesBlock",
    "InceptionBlock",
    "set_inception_fast",
    "Transformer",
    "ITransformer",
]

_MODELS: dict[str, type[TSClassifier]] = {cls.NAME: cls for cls in (TimesNet, Transformer, ITransformer)}

MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)
"""Canonical model names: ``("TimesNet", "Transformer", "iTransformer")``."""


def build_model(name: str, n_channels: int, seq_len: int, n_classes: int, **overrides: Any) -> TSClassifier:
    """Build a freshly initialised classifier.

    ``name`` is matched case-insensitively against :data:`MODEL_NAMES`; ``overrides`` change the
    TSLib defaults (TimesNet: ``d_model, d_ff, e_layers, top_k, num_kernels, dropout``;
    Transformer / iTransformer: ``d_model, d_ff, e_layers, n_heads, dropout, attn_dropout,
    activation``). ``build_model(**model.hparams)`` rebuilds the same architecture. Seed torch
    first for reproducible weights.

    Raises :class:`~tscompress.errors.ConfigError` for an unknown name, an unknown override or a
    bad value.
    """
    cls = _model_class(name)
    cls.resolve_hparams(n_channels, seq_len, n_classes, **overrides)  # unknown keywords -> ConfigError
    return cls(n_channels, seq_len, n_classes, **overrides)


def _model_class(name: Any) -> type[TSClassifier]:
    if isinstance(name, str):
        for key, cls in _MODELS.items():
            if key.lower() == name.strip().lower():
                return cls
    raise ConfigError(f"unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}")


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str], extra: Any = None) -> Path:
    """Save ``{"hparams", "state_dict", "extra"}`` atomically (temporary file in the same folder,
    then ``os.replace``), creating the folder if needed. Returns the path.

    ``extra`` should hold plain Python values and tensors (it is read back with
    ``torch.load(weights_only=True)``). The state dict must fit the architecture that
    ``build_model(**hparams)`` builds, so make compression permanent first (e.g.
    ``torch.nn.utils.prune.remove``) if the checkpoint is to be loaded with :func:`load_checkpoint`.
    """
    hparams = getattr(model, "hparams", None)
    if not isinstance(hparams, dict):
        raise TypeError("save_checkpoint needs a model built by build_model (it has no hparams dict)")
    from ..results import atomic_open

    payload = {"hparams": dict(hparams), "state_dict": model.state_dict(), "extra": extra}
    with atomic_open(path) as fh:
        torch.save(payload, fh)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> tuple[TSClassifier, Any]:
    """Rebuild the model saved by :func:`save_checkpoint` and load its weights.

    Returns ``(model, extra)``; the model is in training mode, as after :func:`build_model`.
    Raises :class:`~tscompress.errors.DataError` for a missing or unreadable checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupt file or unsupported content
        raise DataError(f"cannot read checkpoint {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(payload, dict) or not {"hparams", "state_dict"} <= set(payload):
        raise DataError(f"not a tscompress checkpoint (no hparams/state_dict): {path}")
    model = build_model(**payload["hparams"])
    model.load_state_dict(payload["state_dict"])
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        model.to(map_location)
    return model, payload.get("extra")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones counted once); only those with ``requires_grad`` if
    ``trainable_only``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_breakdown(model: nn.Module) -> dict[str, int]:
    """Parameters by the type of the module that directly owns them: ``{"Conv2d", "Linear", "Other"}``.

    ``Conv2d`` / ``Linear`` include subclasses of ``nn.Conv2d`` / ``nn.Linear``; everything else
    (Conv1d, LayerNorm, ...) is ``Other``. The parameters of a ``torch.nn.utils.parametrize``
    parametrization (e.g. ``weight.original``) count for the module they parametrize. The values
    sum to :func:`count_parameters`.
    """
    counts = {"Conv2d": 0, "Linear": 0, "Other": 0}
    seen: set[int] = set()

    def category(module: nn.Module) -> str:
        if isinstance(module, nn.Conv2d):
            return "Conv2d"
        if isinstance(module, nn.Linear):
            return "Linear"
        return "Other"

    def add(key: str, params: Any) -> None:
        for p in params:
            if id(p) not in seen:
                seen.add(id(p))
                counts[key] += p.numel()

    for module in model.modules():
        if parametrize.is_parametrized(module):
            add(category(module), module.parametrizations.parameters())
    for module in model.modules():
        add(category(module), module.parameters(recurse=False))
    return counts
