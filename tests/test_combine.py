"""Sparse-aware quantile quantization of the comparison chapter's combined pipelines."""

import math

import torch
from torch.nn.utils import prune

from tscompress import combine
from tscompress.models import build_model
from tscompress.quantize import quantile_quantize
from tscompress.quantize.quantile import quantile_codebook
from tscompress.quantize.storage import load_quantized


def _sparse(shape, density, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g)
    return w * (torch.rand(shape, generator=g) < density)


def test_non_zeros_are_quantized_per_group_and_zeros_stay_exact():
    w = _sparse((5, 3, 4, 4), 0.5)
    qt = combine.sparse_quantile_tensor(w, 2, per_row=True)
    out = qt.dequantize()
    assert torch.equal(out == 0, w == 0)
    for row_w, row_o in zip(w.reshape(5, -1), out.reshape(5, -1)):
        nz = row_w[row_w != 0]
        idx, cb = quantile_codebook(nz, 2)
        assert torch.equal(row_o[row_w != 0], cb[idx.long()])
    nnz = (w.reshape(5, -1) != 0).sum(1).tolist()
    parts = sum(math.ceil(k / math.ceil(k / 4)) if k > 4 else k for k in nnz)
    assert qt.accounted_bits == w.numel() + sum(nnz) * 2 + 32 * parts


def test_an_all_zero_group_costs_only_its_mask_bits():
    w = _sparse((3, 10), 0.6)
    w[1] = 0
    qt = combine.sparse_quantile_tensor(w, 4, per_row=True)
    assert torch.equal(qt.dequantize()[1], torch.zeros(10))
    assert torch.equal(qt.dequantize() == 0, w == 0)


def test_pruned_model_is_smaller_than_plain_quantile_and_survives_a_file_round_trip(tmp_path):
    model = build_model("TimesNet", 3, 24, 2).eval()
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for m in convs:
        prune.l1_unstructured(m, "weight", amount=0.5)
    x = torch.randn(4, 24, 3)
    qm = combine.sparse_quantile_quantize(model, 4)
    plain = quantile_quantize(combine.sparse_quantile_quantize(model, 8).model, 4)  # same weights, no prune hooks
    assert qm.nbits() < plain.nbits()
    methods = {qt.method for qt in qm.qtensors.values()}
    assert methods == {"sparse_quantile", "quantile"}  # biases and norms are dense
    zeros_before = sum(int((m.weight == 0).sum()) for m in convs)
    zeros_after = sum(int((p == 0).sum()) for n, p in qm.model.named_parameters() if n.endswith("weight"))
    assert zeros_after >= zeros_before
    qm2, size = combine.quantize_variant(model, 4, tmp_path / "m.tsq")
    assert size == (tmp_path / "m.tsq").stat().st_size
    assert abs(size - qm2.nbytes()) < 0.1 * qm2.nbytes() + 4096  # the file is the accounting plus a header
    back = load_quantized(tmp_path / "m.tsq")
    with torch.no_grad():
        assert torch.equal(back(x), qm2.eval()(x))
