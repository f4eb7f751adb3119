"""Memory of one training step, counted from the tensors torch holds.

On the CPU the process's resident size cannot be attributed to one fine-tuning variant (the
allocator keeps freed memory, other variants ran before in the same process), so the chapter counts
what a training step must hold at its peak, tensor by tensor:

* **weights** — every parameter and buffer of the model being trained (for QLoRA here: the frozen,
  dequantized base in float32 and the adapters);
* **gradients** — one per trainable parameter;
* **optimizer state** — what the optimizer keeps after a step (RAdam: two moments per trainable value);
* **activations** — the tensors autograd saves in the forward pass for the backward pass, for one
  training batch (counted once per storage, parameters excluded since they are already weights).

The sum is the step's peak working set up to short-lived temporaries. PEFT shrinks the gradients and
the optimizer state (only adapters train), not the activations.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["training_memory"]


def _storage_key(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def training_memory(
    model: nn.Module,
    trainable: Iterable[nn.Parameter],
    X: torch.Tensor,
    y: torch.Tensor,
    optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] | None = None,
) -> dict[str, int]:
    """Bytes of weights, gradients, optimizer state and saved activations of one training step of
    ``model`` on the batch ``X``, ``y`` (cross-entropy), training only ``trainable``.

    The step runs on a deep copy under a forked RNG, so ``model`` and the random streams of the
    caller are left exactly as they were. Returns ``{"weights", "gradients", "optimizer",
    "activations", "total"}`` in bytes.
    """
    names = {id(p) for p in trainable}
    with torch.random.fork_rng(devices=[]):
        work = copy.deepcopy(model)
        work.train()
        original = dict(model.named_parameters())
        params = [p for n, p in work.named_parameters() if id(original[n]) in names]
        for p in work.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        held = {}
        for t in list(work.parameters()) + list(work.buffers()):
            held[_storage_key(t)] = t.untyped_storage().nbytes()
        weights = sum(held.values())

        saved: dict[tuple[int, int], int] = {}

        def pack(t: torch.Tensor) -> Any:
            key = _storage_key(t)
            if key not in held:
                saved[key] = t.untyped_storage().nbytes()
            return t

        opt = optimizer(params) if optimizer is not None else torch.optim.RAdam(params, lr=1e-3)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = F.cross_entropy(work(X), y)
        loss.backward()
        gradients = sum(p.grad.untyped_storage().nbytes() for p in params if p.grad is not None)
        opt.step()
        state = 0
        for st in opt.state.values():
            for v in st.values():
                if torch.is_tensor(v):
                    state += v.untyped_storage().nbytes()
    activations = sum(saved.values())
    return {"weights": int(weights), "gradients": int(gradients), "optimizer": int(state),
            "activations": int(activations), "total": int(weights + gradients + state + activations)}
