"""Wall-clock measurements on this machine: inference latency and training-step time.

Timings are medians over repeats after warm-up, with ``torch.no_grad`` for inference. They depend
on the CPU, the thread count and what else runs, so a chapter measures everything it compares in
one run, side by side, and reports ratios as well as milliseconds.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
from torch import nn

__all__ = ["time_call", "inference_latency", "train_step_time"]


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
