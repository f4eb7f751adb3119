"""Wall-clock measurements on this machine: inference latency and training-step time.

Timings are medians over repeats after warm-up, with ``torch.no_grad`` for inference. They depend
on the CPU, the thread count and what else runs, so a chapter measures everything it compares in
one run, side by side, and reports ratios as well as milliseconds.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Hashable, Mapping

import torch
from torch import nn

__all__ = ["time_call", "inference_latency", "train_step_time", "side_by_side"]


def time_call(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def inference_latency(model: nn.Module, x: torch.Tensor, repeats: int = 10, warmup: int = 2) -> float:
    """Median seconds of one eval-mode forward pass on ``x``."""
    was = model.training
    model.eval()

    def step() -> None:
        with torch.no_grad():
            model(x)

    try:
        return time_call(step, repeats, warmup)
    finally:
        model.train(was)


def train_step_time(model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int = 5, warmup: int = 1) -> float:
    """Median seconds of one train-mode forward + backward pass (no optimiser step)."""
    was = model.training
    model.train()
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    try:
        return time_call(step, repeats, warmup)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was)


def side_by_side(models: Mapping[Hashable, nn.Module], x: torch.Tensor, repeats: int = 5) -> dict[Hashable, float]:
    """Median seconds of one eval-mode forward pass on ``x`` for each model, timed round-robin —
    one forward of each model per round, ``repeats`` rounds after a warm-up round — so that a slow
    spell of a shared CPU falls on all models alike rather than on whichever was being timed."""
    times: dict[Hashable, list[float]] = {k: [] for k in models}
    modes = {k: m.training for k, m in models.items()}
    try:
        with torch.no_grad():
            for round_ in range(repeats + 1):
                for k, m in models.items():
                    m.eval()
                    t0 = time.perf_counter()
                    m(x)
                    if round_:
                        times[k].append(time.perf_counter() - t0)
    finally:
        for k, m in models.items():
            m.train(modes[k])
    return {k: statistics.median(v) for k, v in times.items()}
