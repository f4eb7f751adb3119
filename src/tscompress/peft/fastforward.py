"""Fast Forward (Rahamim et al., 2024, "Fast Forwarding Low-Rank Training"): every ``every`` optimizer
steps, repeat the last update ``ΔW = W_t − W_{t−1}`` (``W ← W + ΔW``, again and again) as long as the
loss on a tiny validation batch keeps falling; the first repeat that does not lower it is undone.

Used as a :func:`tscompress.train.fit` callback on the trainable (adapter) parameters. The repeats
cost only forward passes on the tiny batch, no gradients; ``repeats`` counts the optimizer steps they
stand in for and ``seconds`` the time they took.
"""

from __future__ import annotations

import time
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FastForward"]


class FastForward:
    """A fit callback: ``params`` the trained parameters, ``X``/``y`` the tiny validation batch."""

    def __init__(self, params: Sequence[nn.Parameter], X: torch.Tensor, y: torch.Tensor, every: int = 6,
                 max_repeats: int = 50) -> None:
        self.params = list(params)
        self.X, self.y = X, y
        self.every, self.max_repeats = int(every), int(max_repeats)
        self.prev: list[torch.Tensor] | None = None
        self.repeats = 0
        self.events = 0
        self.seconds = 0.0

    @torch.no_grad()
    def _loss(self, model: nn.Module) -> float:
        return float(F.cross_entropy(model(self.X.to(self.params[0].device)), self.y.to(self.params[0].device)))

    @torch.no_grad()
    def on_step_end(self, model: nn.Module, step: int) -> None:
        if self.prev is not None and step % self.every == 0:
            t0 = time.perf_counter()
            delta = [p.detach() - q for p, q in zip(self.params, self.prev)]
            was_training = model.training
            model.eval()
            best = self._loss(model)
            done = 0
            while done < self.max_repeats:
                for p, d in zip(self.params, delta):
                    p.add_(d)
                loss = self._loss(model)
                if loss < best:
                    best, done = loss, done + 1
                else:
                    for p, d in zip(self.params, delta):
                        p.sub_(d)
                    break
            model.train(was_training)
            self.repeats += done
            self.events += 1
            self.seconds += time.perf_counter() - t0
        self.prev = [p.detach().clone() for p in self.params]
