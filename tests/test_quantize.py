"""Quantization: the study's quantile method and accounting, files, QAT, NF4 against torchao."""

import math

import pytest
import torch
from torch import nn

from tscompress.models import build_model, count_parameters
from tscompress.quantize import (load_quantized, nf4_quantize, nf_tensor, pack_bits, project_, qat_fit,
                                 quantile_codebook, quantile_quantize, uniform_quantize, unpack_bits)
from tscompress.quantize.storage import file_breakdown

MIB = 2**20


@pytest.mark.task("quantize.quantile_codebook")
def test_quantile_parts_are_equal_count_and_the_last_one_shorter():
    w = torch.tensor([9.0, 0.0, 8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0])  # 10 values, 2 bits: parts of 3,3,3,1
    idx, cb = quantile_codebook(w, 2)
    assert torch.allclose(cb, torch.tensor([1.0, 4.0, 7.0, 9.0]))
    assert idx.tolist() == [3, 0, 2, 0, 2, 0, 2, 1, 1, 1]
    short = torch.tensor([0.5, -1.0, 2.0])  # fewer values than 2^b: one part per value, exact
    idx, cb = quantile_codebook(short, 4)
    assert torch.equal(cb[idx.long()], short)


@pytest.mark.task("quantize.quantile_codebook")
def test_convolutions_are_grouped_per_output_filter():
    conv = nn.Conv2d(2, 3, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(3, 2, 3, 3) * torch.tensor([1.0, 10.0, 100.0])[:, None, None, None])
    idx, cb = quantile_codebook(conv.weight, 2, per_row=True)
    assert cb.shape == (3, 4)  # 18 values per filter -> 4 parts each
    for f in range(3):
        ref_idx, ref_cb = quantile_codebook(conv.weight[f], 2)
        assert torch.equal(idx[f], ref_idx) and torch.allclose(cb[f], ref_cb)


@pytest.mark.task("quantize.quantile_codebook")
def test_study_memory_figures_to_the_last_digit():
    model = build_model("TimesNet", 61, 405, 2)
    assert count_parameters(model) == 895_442
    q8, q4 = quantile_quantize(model, 8), quantile_quantize(model, 4)
    assert round(q8.nbytes_fp32() / MIB, 4) == 3.4158
    assert round(q8.nbytes() / MIB, 4) == 1.5436
    assert round(q4.nbytes() / MIB, 4) == 0.4831


@pytest.mark.parametrize("bits", range(1, 9))
def test_bit_packing_round_trips(bits):
    codes = torch.randint(0, 2**bits, (1000,), dtype=torch.uint8)
    packed = pack_bits(codes, bits)
    assert len(packed) == math.ceil(1000 * bits / 8)
    assert torch.equal(unpack_bits(packed, bits, 1000), codes)


@pytest.mark.parametrize("method", [quantile_quantize, uniform_quantize, nf4_quantize])
def test_saved_file_loads_to_the_same_predictions_and_is_about_the_accounting(method, tmp_path):
    model = build_model("TimesNet", 3, 24, 2).eval()
    x = torch.randn(5, 24, 3)
    qm = method(model, 4).eval()
    path = qm.save(tmp_path / "m.tsq")
    back = load_quantized(path)
    with torch.no_grad():
        assert torch.equal(back(x), qm(x))
    parts = file_breakdown(path)
    assert parts["total"] == path.stat().st_size
    assert parts["codes"] + parts["tables"] + parts["float"] <= qm.nbytes() + 8 * len(qm.qtensors)
    assert parts["total"] - parts["header"] >= qm.nbytes() - 8 * len(qm.qtensors)


def test_int8_is_closer_to_the_float_model_than_int4():
    model = build_model("TimesNet", 3, 24, 2).eval()
    errs = {b: sum(quantile_quantize(model, b).error(model).values()) for b in (8, 4)}
    assert errs[8] < errs[4]


def test_nf4_equals_torchao_given_its_level_table():
    nf4mod = pytest.importorskip("torchao.quantization.quantize_.workflows.nf4.nf4_tensor")
    torch.manual_seed(0)
    w = torch.randn(64 * 256 * 2)
    ref = nf4mod.to_nf4(w, 64, 256)
    ours = nf_tensor(w, 4, levels=ref.nf4).dequantize()
    assert torch.equal(ours, ref.get_original_weight().float())
    assert torch.allclose(nf_tensor(w, 4).tables.get("levels", ref.nf4), ref.nf4)
    from tscompress.quantize import nf_levels

    assert torch.allclose(nf_levels(4), ref.nf4.float(), atol=1e-4)  # torchao's table is rounded


@pytest.mark.task("quantize.project_")
def test_qat_projection_leaves_only_code_values():
    model = build_model("TimesNet", 3, 24, 2)
    project_(model, 2)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.shape[1] > 1)
    for row in conv.weight.detach().reshape(conv.weight.shape[0], -1):
        assert row.unique().numel() <= 4
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    project_(model, 2)  # quantized weights are a fixed point
    assert all(torch.allclose(before[n], p) for n, p in model.named_parameters())


@pytest.mark.task("quantize.project_")
def test_qat_training_keeps_the_model_quantized_throughout():
    from types import SimpleNamespace

    from tscompress.train import TrainConfig

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(16, 24, 3, generator=g), torch.randint(0, 2, (16,), generator=g)
    split = SimpleNamespace(X=X, y=y, index=torch.arange(16))
    splits = SimpleNamespace(train=split, val=split, test=split)
    model = build_model("TimesNet", 3, 24, 2)
    seen = []

    class Check:
        def on_step_end(self, m, step):
            lin = next(x for x in m.modules() if isinstance(x, nn.Linear) and x.weight.numel() > 16)
            seen.append(lin.weight.detach().unique().numel())

    res = qat_fit(model, splits, TrainConfig(epochs=2, batch_size=8, progress=False, patience=None), bits=2,
                  callbacks=[Check()])
    assert len(seen) == 4 and all(k <= 4 for k in seen) and len(res.history) == 2
    lin = next(x for x in model.modules() if isinstance(x, nn.Linear) and x.weight.numel() > 16)
    assert lin.weight.detach().unique().numel() <= 4
