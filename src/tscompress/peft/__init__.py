"""Parameter-efficient fine-tuning of a quantized base: QLoRA and QDoRA (chapter 04).

* :mod:`.lora` — :func:`apply_lora` (``get_peft_model``-like: frozen base, trainable adapters on
  every ``nn.Linear`` / ``nn.Conv2d``), :class:`LoraConfig` (``dora=True`` for DoRA), :func:`merge`;
* :mod:`.budget` — :func:`bit_budget_rank`, the rank at which a 4-bit base plus float32 adapters is
  as large as the 8-bit model;
* :mod:`.dylora` — DyLoRA / QDyLoRA (:class:`RankSampler`, :func:`set_rank`): one run for all ranks;
* :mod:`.fastforward` — Fast Forward (:class:`FastForward`): repeat the last update while a tiny
  validation batch's loss falls;
* :mod:`.experiment` — one fine-tuning run of the chapter (QLoRA, QDoRA, full, DyLoRA);
* :mod:`.figures` — the chapter's figures.
"""

from .budget import LAYOUTS, BitBudget, adapter_params_per_rank, bit_budget_rank, magnitude_params
from .dylora import RankSampler
from .fastforward import FastForward
from .lora import (LoraConfig, LoraWeight, apply_lora, count_lora_parameters, get_peft_model, lora_layers,
                   lora_parameters, merge, set_rank)
from .memory import training_memory

__all__ = ["LoraConfig", "LoraWeight", "apply_lora", "get_peft_model", "merge", "lora_layers", "lora_parameters",
           "count_lora_parameters", "bit_budget_rank", "BitBudget", "adapter_params_per_rank", "magnitude_params",
           "LAYOUTS", "set_rank", "RankSampler", "FastForward",
           "training_memory"]
