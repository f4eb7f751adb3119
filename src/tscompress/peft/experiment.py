"""One fine-tuning run of the chapter: QLoRA / QDoRA at a rank on a quantized base, or full fine-tuning.

:func:`finetune` copies the base (a float module holding dequantized weights), attaches adapters,
trains only them with :func:`tscompress.train.fit` (epoch selected on validation; the base itself — adapters
at zero — is epoch 0 and a candidate), measures
wall and CPU time and the memory of one training step (:mod:`tscompress.peft.memory`), evaluates the adapted model on the test split, merges the adapters and checks that
the merged model predicts the same (largest logit difference recorded).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .. import train
from .dylora import RankSampler
from .fastforward import FastForward
from .lora import LoraConfig, apply_lora, count_lora_parameters, lora_parameters, merge, set_rank
from .memory import training_memory

__all__ = ["FinetuneResult", "finetune", "METHODS", "DyLoraResult", "dylora_finetune", "make_base"]

METHODS = {"qlora": False, "qdora": True, "lora": False, "dora": True}
"""method name -> DoRA?"""


def make_base(key: str, pretrained: nn.Module) -> tuple[nn.Module, float, str]:
    """The base a fine-tuning starts from, by its key in the profile's ``peft`` settings: ``"fp32"`` (the pretrained
    model itself), ``"nf4"`` (NormalFloat 4-bit with double quantization) or ``"q<bits>"`` (the study's quantile
    quantization). Returns (a float module holding the base's weights, its stored bytes by its own accounting, a
    description for the variant table)."""
    from .. import quantize, variants
    from ..errors import ConfigError

    if key == "fp32":
        return pretrained, variants.dense_bytes(pretrained), "float32 base"
    if key == "nf4":
        q = quantize.nf4_quantize(pretrained, 4)
        return q.model, q.nbytes(), "NF4 base (double quantization)"
    if key.startswith("q") and key[1:].isdigit():
        q = quantize.quantile_quantize(pretrained, int(key[1:]))
        return q.model, q.nbytes(), f"{key[1:]}-bit quantile base (study accounting)"
    raise ConfigError(f"unknown PEFT base {key!r}: fp32, nf4 or q<bits> (the quantile quantization at that many bits)")


@dataclass
class FinetuneResult:
    method: str
    rank: int | None
    model: nn.Module  # merged (plain layers)
    fit: train.FitResult
    evaluation: train.EvalResult
    trainable_params: int
    cpu_seconds: float
    merge_max_diff: float
    extra: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)  # one training step, bytes (peft.memory)

    @property
    def seconds_per_epoch(self) -> float:
        return self.fit.seconds / max(1, len(self.fit.history))

    @property
    def adapter_bytes(self) -> int:
        """float32 adapters (0 for full fine-tuning, whose result is a dense float32 model)."""
        return 4 * self.trainable_params if self.rank is not None else 0


def finetune(base: nn.Module, splits: Any, config: train.TrainConfig, method: str = "qlora", rank: int | None = 4,
             alpha_ratio: float = 2.0, n_boot: int = 2000, fast_forward: int = 0, ff_cases: int = 16) -> FinetuneResult:
    """Fine-tune a copy of ``base``: ``method`` in :data:`METHODS` with rank ``rank`` and ``alpha =
    alpha_ratio · rank``, or ``method="full"`` (every parameter trained, ``rank=None``). ``fast_forward = k > 0``:
    Fast Forward every ``k`` optimizer steps on the first ``ff_cases`` validation cases (statistics in
    ``extra``)."""
    model = copy.deepcopy(base)
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        params = list(model.parameters())
    elif method in METHODS:
        train.set_seed(config.seed)  # the adapters' initial draws: this run's seed, not whatever ran before
        apply_lora(model, LoraConfig(r=rank, alpha=alpha_ratio * rank, dora=METHODS[method]))
        params = lora_parameters(model)
    else:
        raise ValueError(f"unknown fine-tuning method {method!r}; methods: full, {', '.join(METHODS)}")
    trainable = sum(p.numel() for p in params)
    callbacks = []
    if fast_forward:
        callbacks.append(FastForward(params, splits.val.X[:ff_cases], splits.val.y[:ff_cases], every=fast_forward))
    cpu0 = time.process_time()
    fit = train.fit(model, splits, config, params=params, callbacks=callbacks, start_candidate=True)
    cpu = time.process_time() - cpu0
    dev = next(model.parameters()).device
    bs = config.batch_size
    memory = training_memory(model, params, splits.train.X[:bs].to(dev), splits.train.y[:bs].to(dev))
    ev = train.evaluate(model, splits.test, device=config.device, n_boot=n_boot, seed=config.seed)
    diff = 0.0
    if method != "full":
        assert trainable == count_lora_parameters(model)
        before = train.predict_logits(model, splits.test.X, device=config.device)
        merge(model)
        after = train.predict_logits(model, splits.test.X, device=config.device)
        diff = float((before - after).abs().max())
        if not torch.equal(before.argmax(1), after.argmax(1)):
            raise RuntimeError(f"merging changed a prediction (largest logit difference {diff:.2e})")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    extra = {}
    if fast_forward:
        ff = callbacks[0]
        extra = {"ff_repeats": ff.repeats, "ff_events": ff.events, "ff_seconds": ff.seconds}
    return FinetuneResult(method=method, rank=rank if method != "full" else None, model=model, fit=fit,
                          evaluation=ev, trainable_params=trainable, cpu_seconds=cpu, merge_max_diff=diff, extra=extra,
                          memory=memory)


@dataclass
class DyLoraResult:
    method: str
    max_rank: int
    model: nn.Module  # adapters attached (not merged), active rank = all
    fit: train.FitResult
    cpu_seconds: float
    rank_counts: list[int]
    trainable_params: int

    def at_rank(self, rank: int) -> nn.Module:
        """A merged copy truncated to ``rank``."""
        m = copy.deepcopy(self.model)
        set_rank(m, rank)
        merge(m)
        return m.eval()


def dylora_finetune(base: nn.Module, splits: Any, config: train.TrainConfig, max_rank: int, dora: bool = False,
                    alpha_ratio: float = 2.0) -> DyLoraResult:
    """One DyLoRA (QDyLoRA on a quantized base) run: a rank from ``1..max_rank`` sampled per step
    (:class:`~tscompress.peft.dylora.RankSampler`), scaling fixed at ``alpha_ratio``, validation at the full rank."""
    model = copy.deepcopy(base)
    train.set_seed(config.seed)  # the adapters' initial draws: this run's seed, not whatever ran before
    apply_lora(model, LoraConfig(r=max_rank, alpha=alpha_ratio * max_rank, dora=dora))
    params = lora_parameters(model)
    sampler = RankSampler.for_split(max_rank, len(splits.train.y), config.batch_size, seed=config.seed)
    sampler.start(model)
    cpu0 = time.process_time()
    fit = train.fit(model, splits, config, params=params, callbacks=[sampler], start_candidate=True)
    cpu = time.process_time() - cpu0
    set_rank(model, None)
    model.eval()
    return DyLoraResult(method="qdydora" if dora else "qdylora", max_rank=max_rank, model=model, fit=fit,
                        cpu_seconds=cpu, rank_counts=sampler.counts[1:], trainable_params=sum(p.numel() for p in params))
