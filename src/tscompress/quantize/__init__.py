"""Quantization of the study's models: the study's quantile PTQ and QAT variant, and baselines.

* :func:`quantile_quantize` — equal-frequency (quantile) post-training quantization, the study's
  method and size accounting (:mod:`.quantile`);
* :func:`uniform_quantize` — per-channel uniform affine quantization (:mod:`.uniform`);
* :func:`nf4_quantize` — NormalFloat with double quantization, QLoRA (:mod:`.nf4`);
* :func:`qat_fit` — quantization-aware training, the study's variant: the model only ever holds
  quantized weights (:mod:`.qat`);
* :func:`ste_fit` — the classic straight-through estimator, for comparison (:mod:`.qat`);
* :func:`code_finetune` — fine-tuning after PTQ by moving the codes of the weights with the largest
  gradient (PV-tuning's V step; :mod:`.finetune`);
* :mod:`.storage` — bit-packed files (:func:`save_quantized` / :func:`load_quantized`).

All methods return a :class:`QuantizedModel`: an ``nn.Module`` whose forward is the original
model with dequantized weights, with ``nbytes()`` (the method's accounting), ``dequantized()``
(a plain float copy) and ``save(path)``.
"""

from .core import QuantizedModel, QuantizedTensor, named_quantizable, per_filter
from .qat import STE_METHODS, FakeQuant, FakeQuantile, QuantileProjection, project_, qat_fit, ste_fit
from .finetune import CodeStep, code_finetune, max_codes
from .nf4 import nf4_quantize, nf_levels, nf_tensor
from .quantile import dequantize, part_size, quantile_codebook, quantile_quantize, quantile_tensor
from .storage import file_breakdown, load_quantized, pack_bits, save_quantized, unpack_bits
from .uniform import uniform_quantize, uniform_tensor

METHODS = {"quantile": quantile_quantize, "uniform": uniform_quantize, "nf": nf4_quantize}
"""method name -> ``quantize(model, bits)``."""


def quantize(model, method: str, bits: int) -> QuantizedModel:
    """``METHODS[method](model, bits)``."""
    if method not in METHODS:
        raise ValueError(f"unknown quantization method {method!r}; methods: {', '.join(METHODS)}")
    return METHODS[method](model, bits)


__all__ = [
    "QuantizedModel", "QuantizedTensor", "named_quantizable", "per_filter",
    "quantile_quantize", "quantile_codebook", "dequantize", "part_size", "quantile_tensor",
    "uniform_quantize", "uniform_tensor", "nf4_quantize", "nf_levels", "nf_tensor",
    "save_quantized", "load_quantized", "file_breakdown", "pack_bits", "unpack_bits",
    "METHODS", "quantize", "qat_fit", "project_", "QuantileProjection", "FakeQuantile", "FakeQuant", "ste_fit",
    "STE_METHODS",
    "CodeStep", "code_finetune", "max_codes",
]
