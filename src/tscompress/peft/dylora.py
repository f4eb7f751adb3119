"""DyLoRA / QDyLoRA: one training run that serves every rank ``1..R``.

Each optimizer step samples a rank ``b`` uniformly from ``1..R`` and trains the adapters truncated
to their leading ``b`` factors (``A[:b]``, ``B[:, :b]``, :func:`~tscompress.peft.lora.set_rank`), so that
every prefix of the factors learns to work on its own (Valipour et al., DyLoRA, arXiv 2210.07558; on
a quantized base, QDyLoRA, arXiv 2402.10462). The scaling ``s`` stays fixed, so rank ``k`` of the
trained adapters is exactly a rank-``k`` LoRA with ``alpha = s·k``. Validation (and so the epoch
selection) uses the full rank ``R``; afterwards every rank is evaluated by truncation.
"""

from __future__ import annotations

import math

import torch

from .lora import set_rank

__all__ = ["RankSampler"]


class RankSampler:
    """A :func:`tscompress.train.fit` callback: after every optimizer step, the rank for the next step.

    The last step of each epoch switches to the full rank ``R`` (for the validation pass that follows);
    the first step of the next epoch gets a fresh sample. ``counts`` records how often each rank was drawn.
    """

    def __init__(self, max_rank: int, steps_per_epoch: int, seed: int = 0) -> None:
        self.max_rank, self.steps_per_epoch = int(max_rank), int(steps_per_epoch)
        self.generator = torch.Generator().manual_seed(seed)
        self.counts = [0] * (self.max_rank + 1)

    @classmethod
    def for_split(cls, max_rank: int, n_train: int, batch_size: int, seed: int = 0) -> "RankSampler":
        return cls(max_rank, math.ceil(n_train / batch_size), seed)

    def sample(self) -> int:
        b = int(torch.randint(1, self.max_rank + 1, (1,), generator=self.generator))
        self.counts[b] += 1
        return b

    def start(self, model) -> None:
        set_rank(model, self.sample())

    def on_step_end(self, model, step: int) -> None:
        set_rank(model, None if step % self.steps_per_epoch == 0 else self.sample())

    def on_epoch_end(self, model, record: dict) -> None:
        set_rank(model, self.sample())
