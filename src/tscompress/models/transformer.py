"""Transformer and iTransformer classifiers.

Clean rewrites of TSLib's ``models/Transformer.py`` (vanilla encoder over time steps, Vaswani et
al., 2017) and ``models/iTransformer.py`` (Liu et al., "iTransformer: Inverted Transformers Are
Effective for Time Series Forecasting", ICLR 2024, arXiv 2310.06625: the encoder attends over
*variates*, each variate's whole series being one token), classification path only, no padding
mask. Defaults reproduce the study's models: on Heartbeat (61 channels, length 405, 2 classes)
the Transformer has 164,354 parameters and the iTransformer 134,338.

Attention dropout
-----------------
TSLib applies dropout 0.1 to the attention weights. Here the attention is
:func:`torch.nn.functional.scaled_dot_product_attention`, whose CPU kernels are fused only without
attention dropout. Measured on the 2-core development CPU (AMD EPYC, AVX-512; torch 2.13,
float32), batch 16 x 405 x 61, one forward + backward pass in train mode (median of 5 after 2
warm-up passes):

* Transformer, SDPA ``attn_dropout=0``:                      0.24 s
* Transformer, SDPA ``attn_dropout=0.1`` (TSLib's setting): 1.45-1.56 s  (about 6x slower)

A hand-written ``softmax(QK^T/sqrt(d)) -> dropout -> @V`` is no faster with dropout (0.38 s vs
SDPA's 0.36 s per layer; 0.06 s for fused SDPA without dropout), so the cost is the dropout mask
on the 16 x 8 x 405 x 405 attention weights, not SDPA. Per Heartbeat epoch (13 batches) that is
about 3 s vs 20 s, in line with the 4.6 s vs 17 s measured earlier for the study.
(iTransformer attends over only 61 tokens: 0.020 s vs 0.030 s.) The quadratic 405 x 405 attention
dominates the Transformer's cost, and with dropout it would dominate every epoch. The default is
therefore ``attn_dropout=0.0``; all other dropouts stay at TSLib's 0.1 and
``build_model("Transformer", ..., attn_dropout=0.1)`` restores TSLib's exact regularisation. The
choice changes training only (attention dropout is off in evaluation) and no parameter counts.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .layers import ACTIVATIONS, DataEmbedding, DataEmbeddingInverted, Encoder, EncoderLayer, TSClassifier, check_input

__all__ = ["Transformer", "ITransformer"]

_DEFAULTS: dict[str, Any] = {"d_model": 64, "d_ff": 128, "e_layers": 3, "n_heads": 8, "dropout": 0.1,
                             "attn_dropout": 0.0, "activation": "gelu"}


def _encoder(hp: dict[str, Any]) -> Encoder:
    return Encoder(
        [EncoderLayer(hp["d_model"], hp["d_ff"], hp["n_heads"], dropout=hp["dropout"],
                      attn_dropout=hp["attn_dropout"], activation=hp["activation"])
         for _ in range(hp["e_layers"])],
        norm_layer=nn.LayerNorm(hp["d_model"]),
    )


class _EncoderClassifier(TSClassifier):
    """Shared head: ``encoder -> final LayerNorm -> GELU -> dropout -> flatten -> Linear``."""

    DEFAULTS = _DEFAULTS
    CHOICES = {"activation": ACTIVATIONS}
    enc_embedding: nn.Module
    encoder: Encoder
    dropout: nn.Dropout
    projection: nn.Linear

    def __init__(self, n_channels: int, seq_len: int, n_classes: int, *, d_model: int = 64, d_ff: int = 128,
                 e_layers: int = 3, n_heads: int = 8, dropout: float = 0.1, attn_dropout: float = 0.0,
                 activation: str = "gelu") -> None:
        """Token embedding (the subclass's :meth:`_embedding`) -> encoder -> head over ``n_tokens`` tokens."""
        super().__init__()
        hp = self._resolve(n_channels, seq_len, n_classes, d_model=d_model, d_ff=d_ff, e_layers=e_layers,
                           n_heads=n_heads, dropout=dropout, attn_dropout=attn_dropout, activation=activation)
        self.enc_embedding = self._embedding(hp)
        self.encoder = _encoder(hp)
        self.dropout = nn.Dropout(hp["dropout"])
        self.projection = nn.Linear(hp["d_model"] * self.n_tokens, self.n_classes)

    def _embedding(self, hp: dict[str, Any]) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _resolve(self, n_channels: int, seq_len: int, n_classes: int, **hparams: Any) -> dict[str, Any]:
        hp = self.resolve_hparams(n_channels, seq_len, n_classes, **hparams)
        if hp["n_heads"] > hp["d_model"]:
            raise ConfigError(f"{self.NAME} n_heads ({hp['n_heads']}) must not exceed d_model ({hp['d_model']})")
        self._set_hparams(hp)
        return hp

    @property
    def n_tokens(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def feature_dims(self) -> list[tuple[int, int]]:
        return [(self.n_tokens, self.hparams["d_model"])] * len(self.encoder.attn_layers)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> Any:
        """``x [B, seq_len, n_channels]`` -> logits ``[B, n_classes]`` (and each encoder layer's output)."""
        check_input(x, self.seq_len, self.n_channels)
        features: list[torch.Tensor] | None = [] if return_features else None
        enc_out = self.encoder(self.enc_embedding(x), features)
        output = self.dropout(F.gelu(enc_out))
        logits = self.projection(output.reshape(output.shape[0], -1))
        return (logits, features) if return_features else logits


class Transformer(_EncoderClassifier):
    """Vanilla Transformer encoder over time steps (TSLib ``models/Transformer.py``).

    ``DataEmbedding`` (circular Conv1d token embedding + sinusoidal positions; TSLib's unused
    time-feature ``Linear(4, d_model)`` kept for its parameter count) -> ``e_layers`` encoder
    layers -> LayerNorm -> GELU -> dropout -> flatten ``[B, seq_len * d_model]`` ->
    ``Linear(seq_len * d_model, n_classes)``. Features: each encoder layer's output
    ``[B, seq_len, d_model]``.
    """

    NAME = "Transformer"

    def _embedding(self, hp: dict[str, Any]) -> nn.Module:
        return DataEmbedding(self.n_channels, hp["d_model"], max_len=self.seq_len, dropout=hp["dropout"])

    @property
    def n_tokens(self) -> int:
        return self.seq_len


class ITransformer(_EncoderClassifier):
    """iTransformer (TSLib ``models/iTransformer.py``; Liu et al., arXiv 2310.06625).

    Inverted embedding ``Linear(seq_len, d_model)`` per variate -> ``e_layers`` encoder layers
    over the ``n_channels`` variate tokens -> LayerNorm -> GELU -> dropout -> flatten
    ``[B, n_channels * d_model]`` -> ``Linear(n_channels * d_model, n_classes)``. Features: each
    encoder layer's output ``[B, n_channels, d_model]``.
    """

    NAME = "iTransformer"

    def _embedding(self, hp: dict[str, Any]) -> nn.Module:
        return DataEmbeddingInverted(self.seq_len, hp["d_model"], dropout=hp["dropout"])

    @property
    def n_tokens(self) -> int:
        return self.n_channels
