"""Layers shared by the three classifiers: embeddings, the Transformer encoder, and the base class.

A clean rewrite of Time-Series-Library's (TSLib, https://github.com/thuml/Time-Series-Library)
``layers/Embed.py``, ``layers/Transformer_EncDec.py`` and ``layers/SelfAttention_Family.py``,
restricted to what classification uses. Attribute names follow TSLib (``enc_embedding``,
``value_embedding.tokenConv``, ``attn_layers``, ``query_projection``, ``conv1`` ...) so that the
modules are easy to map onto TSLib's code and a TSLib classification ``state_dict`` loads with
``strict=False`` (the only difference: the positional table ``pe`` is not saved here, it is a
non-persistent buffer recomputed at construction).

Modules are created in the same order as in TSLib, so under the same seed the initial weights
consume the random-number stream in the same way.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

__all__ = [
    "PositionalEmbedding",
    "TokenEmbedding",
    "TimeFeatureEmbedding",
    "DataEmbedding",
    "DataEmbeddingInverted",
    "AttentionLayer",
    "EncoderLayer",
    "Encoder",
    "TSClassifier",
    "check_input",
]

ACTIVATIONS = ("gelu", "relu")


# --------------------------------------------------------------------------------------------
# Embeddings (TSLib layers/Embed.py)
# --------------------------------------------------------------------------------------------


class PositionalEmbedding(nn.Module):
    """Fixed sinusoidal positions (Vaswani et al., 2017); no parameters.

    TSLib keeps a persistent ``[1, 5000, d_model]`` table; here it has exactly ``max_len`` rows
    and is not part of the ``state_dict`` (the values of the first rows do not depend on the
    table length). Odd ``d_model`` is allowed (TSLib fails on it).
    """

    pe: torch.Tensor

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        pe = torch.zeros(max_len, d_model, dtype=torch.float32)
        position = torch.arange(0, max_len, dtype=torch.float32).unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model)).exp()
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, *] -> [1, L, d_model]``."""
        return self.pe.narrow(1, 0, x.size(1))  # narrow (not slicing) keeps torch.fx tracing possible


class TokenEmbedding(nn.Module):
    """Value embedding: a circular ``Conv1d(c_in, d_model, 3)`` over time, no bias, Kaiming-normal
    initialised (``fan_in``, ``leaky_relu``) as in TSLib."""

    def __init__(self, c_in: int, d_model: int) -> None:
        super().__init__()
        self.tokenConv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.tokenConv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, c_in] -> [B, L, d_model]``."""
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


class TimeFeatureEmbedding(nn.Module):
    """TSLib's ``timeF`` calendar-feature embedding, ``Linear(4, d_model, bias=False)`` (freq 'h').

    Classification never passes calendar features (``x_mark`` is None), so this module is never
    called. It is kept, unused, only because TSLib constructs it and its ``4 * d_model`` weights
    are part of the parameter counts reported for the TSLib models (the study's numbers).
    """

    def __init__(self, d_model: int, d_inp: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(d_inp, d_model, bias=False)

    def forward(self, x_mark: torch.Tensor) -> torch.Tensor:
        return self.embed(x_mark)


class DataEmbedding(nn.Module):
    """Token (value) embedding + sinusoidal positions, then dropout (TSLib ``DataEmbedding`` with
    ``embed='timeF'``; the time-feature branch is constructed but unused, see
    :class:`TimeFeatureEmbedding`)."""

    def __init__(self, c_in: int, d_model: int, max_len: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.value_embedding = TokenEmbedding(c_in, d_model)
        self.position_embedding = PositionalEmbedding(d_model, max_len)
        # Unused for classification (x_mark is None); kept so parameter counts match TSLib's.
        self.temporal_embedding = TimeFeatureEmbedding(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, c_in] -> [B, L, d_model]``."""
        return self.dropout(self.value_embedding(x) + self.position_embedding(x))


class DataEmbeddingInverted(nn.Module):
    """iTransformer's inverted embedding (TSLib ``DataEmbedding_inverted``): every variate's whole
    series becomes one token, ``Linear(seq_len, d_model)``, then dropout (Liu et al., 2023,
    arXiv 2310.06625). No time features in classification."""

    def __init__(self, seq_len: int, d_model: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.value_embedding = nn.Linear(seq_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, C] -> [B, C, d_model]``."""
        return self.dropout(self.value_embedding(x.permute(0, 2, 1)))


# --------------------------------------------------------------------------------------------
# Encoder (TSLib layers/Transformer_EncDec.py, layers/SelfAttention_Family.py)
# --------------------------------------------------------------------------------------------


class AttentionLayer(nn.Module):
    """Multi-head full self-attention (TSLib ``AttentionLayer`` around ``FullAttention``, no mask).

    Four ``nn.Linear`` projections (``query/key/value/out_projection``); the attention itself is
    :func:`torch.nn.functional.scaled_dot_product_attention` with scale ``1/sqrt(head_dim)``.
    ``attn_dropout`` is the dropout on the attention weights (TSLib: the model dropout, 0.1); it
    is active only in training mode. As in TSLib, ``head_dim = d_model // n_heads``.
    """

    def __init__(self, d_model: int, n_heads: int, attn_dropout: float = 0.0) -> None:
        super().__init__()
        head_dim = d_model // n_heads
        self.n_heads = n_heads
        self.attn_dropout = float(attn_dropout)
        self.query_projection = nn.Linear(d_model, head_dim * n_heads)
        self.key_projection = nn.Linear(d_model, head_dim * n_heads)
        self.value_projection = nn.Linear(d_model, head_dim * n_heads)
        self.out_projection = nn.Linear(head_dim * n_heads, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, d_model] -> [B, L, d_model]``."""
        b, length, _ = x.shape
        h = self.n_heads
        q = self.query_projection(x).view(b, length, h, -1).transpose(1, 2)
        k = self.key_projection(x).view(b, length, h, -1).transpose(1, 2)
        v = self.value_projection(x).view(b, length, h, -1).transpose(1, 2)
        p = self.attn_dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # default scale = 1/sqrt(head_dim)
        return self.out_projection(out.transpose(1, 2).reshape(b, length, -1))


class EncoderLayer(nn.Module):
    """Post-norm Transformer encoder layer (TSLib ``EncoderLayer``)::

        x = norm1(x + dropout(attention(x)))
        y = dropout(act(conv1(x)));  y = dropout(conv2(y))
        out = norm2(x + y)

    with position-wise ``Conv1d(d_model, d_ff, 1)`` / ``Conv1d(d_ff, d_model, 1)`` feed-forward.
    """

    def __init__(self, d_model: int, d_ff: int, n_heads: int, dropout: float = 0.1, attn_dropout: float = 0.0,
                 activation: str = "gelu") -> None:
        super().__init__()
        self.attention = AttentionLayer(d_model, n_heads, attn_dropout)
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, d_model] -> [B, L, d_model]``."""
        x = x + self.dropout(self.attention(x))
        y = x = self.norm1(x)
        y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm2(x + y)


class Encoder(nn.Module):
    """A stack of :class:`EncoderLayer` followed by a final ``LayerNorm`` (TSLib ``Encoder``)."""

    def __init__(self, attn_layers: list[nn.Module], norm_layer: nn.Module | None = None) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(attn_layers)
        self.norm = norm_layer

    def forward(self, x: torch.Tensor, features: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Run every layer; if ``features`` is a list, append each layer's output to it (before the
        final norm)."""
        for layer in self.attn_layers:
            x = layer(x)
            if features is not None:
                features.append(x)
        if self.norm is not None:
            x = self.norm(x)
        return x


# --------------------------------------------------------------------------------------------
# Base class: hyperparameters and the common interface
# --------------------------------------------------------------------------------------------


def check_input(x: Any, seq_len: int, n_channels: int) -> None:
    """Refuse an input that is not ``[batch, seq_len, n_channels]`` with a clear message.

    Skipped for non-tensors (``torch.fx`` proxies), so the Transformer and iTransformer stay
    symbolically traceable (with ``concrete_args={"return_features": False}``; TimesNet is not
    traceable, its periods depend on the data).
    """
    if isinstance(x, torch.Tensor) and (x.dim() != 3 or x.shape[1] != seq_len or x.shape[2] != n_channels):
        raise ValueError(f"expected input of shape [batch, {seq_len}, {n_channels}] (batch, time, channels), "
                         f"got {list(x.shape)}")


class TSClassifier(nn.Module):
    """Common interface of the three classifiers.

    * ``model(x)`` with ``x`` float ``[batch, seq_len, n_channels]`` returns logits ``[batch, n_classes]``;
      ``model(x, return_features=True)`` returns ``(logits, features)``, one tensor per encoder layer;
    * ``model.feature_dims``: the per-layer feature shapes without the batch dimension;
    * ``model.hparams``: a plain dict (``name``, ``n_channels``, ``seq_len``, ``n_classes`` and every
      hyperparameter) such that ``build_model(**model.hparams)`` rebuilds the same architecture.

    Subclasses set ``NAME``, ``DEFAULTS`` (hyperparameters and defaults; ints must be >= 1, floats
    are dropout rates in [0, 1]) and ``CHOICES`` (allowed values of string hyperparameters).
    """

    NAME: ClassVar[str] = ""
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}
    MIN_SEQ_LEN: ClassVar[int] = 1

    hparams: dict[str, Any]
    n_channels: int
    seq_len: int
    n_classes: int

    @classmethod
    def resolve_hparams(cls, n_channels: Any, seq_len: Any, n_classes: Any, **overrides: Any) -> dict[str, Any]:
        """Validate the data sizes and overrides and return the full ``hparams`` dict.

        Raises :class:`~tscompress.errors.ConfigError` for an unknown keyword or a bad value.
        """
        unknown = sorted(set(overrides) - set(cls.DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown hyperparameter(s) {', '.join(unknown)} for {cls.NAME}; "
                              f"known: {', '.join(sorted(cls.DEFAULTS))}")
        hp: dict[str, Any] = {"name": cls.NAME}
        for key, value, low in (("n_channels", n_channels, 1), ("seq_len", seq_len, cls.MIN_SEQ_LEN),
                                ("n_classes", n_classes, 1)):
            hp[key] = _check_int(cls.NAME, key, value, low)
        for key, default in cls.DEFAULTS.items():
            value = overrides.get(key, default)
            if isinstance(default, str):
                if value not in cls.CHOICES.get(key, (default,)):
                    raise ConfigError(f"{cls.NAME} hyperparameter {key} must be one of "
                                      f"{', '.join(cls.CHOICES.get(key, (default,)))}, got {value!r}")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
                    raise ConfigError(f"{cls.NAME} hyperparameter {key} must be a number in [0, 1], got {value!r}")
                value = float(value)
            else:
                value = _check_int(cls.NAME, key, value, 1)
            hp[key] = value
        return hp

    def _set_hparams(self, hp: dict[str, Any]) -> None:
        self.hparams = dict(hp)
        self.n_channels = hp["n_channels"]
        self.seq_len = hp["seq_len"]
        self.n_classes = hp["n_classes"]

    @property
    def feature_dims(self) -> list[tuple[int, int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.hparams.items() if k != "name")


def _check_int(model: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{model} {key} must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(f"{model} {key} must be >= {low}, got {value}")
    return int(value)
