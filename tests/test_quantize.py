"""Quantization: the study's quantile method and accounting, files, QAT, NF4 against torchao."""

import copy
import math

import pytest
import torch
from torch import nn

from tscompress.models import build_model, count_parameters
from tscompress.quantize import (CodeStep, FakeQuantile, code_finetune, load_quantized, max_codes, nf4_quantize,
                                 nf_tensor, pack_bits, project_, qat_fit, quantile_codebook, quantile_quantize, quantize, save_quantized,
                                 ste_fit, uniform_quantize, unpack_bits)
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
    path = save_quantized(qm, tmp_path / "m.tsq")
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


def _tiny_splits(n=16, seed=0):
    from types import SimpleNamespace

    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(n, 24, 3, generator=g), torch.randint(0, 2, (n,), generator=g)
    split = SimpleNamespace(X=X, y=y, index=torch.arange(n))
    return SimpleNamespace(train=split, val=split, test=split)


# ------------------------------------------------------------------------------------------ STE
@pytest.mark.task("quantize.FakeQuantile.forward")
def test_ste_forward_is_the_quantized_weight_and_the_gradient_reaches_the_latent_one():
    torch.manual_seed(0)
    lin = nn.Linear(20, 6)
    latent = lin.weight.detach().clone()
    fq = FakeQuantile(bits=2, per_row=False)
    w = latent.clone().requires_grad_(True)
    q = fq(w)
    idx, cb = quantile_codebook(latent, 2)
    assert torch.equal(q.detach(), cb[idx.long()])  # exactly the code values
    g = torch.randn_like(q)
    q.backward(g)
    assert torch.equal(w.grad, g)  # straight through


@pytest.mark.task("quantize.FakeQuantile.forward")
def test_ste_training_keeps_latent_weights_and_ends_quantized():
    from torch.nn.utils import parametrize

    from tscompress.train import TrainConfig

    splits = _tiny_splits()
    model = build_model("TimesNet", 3, 24, 2)
    latents = []

    class Check:
        def on_step_end(self, m, step):
            lin = next(x for x in m.modules() if isinstance(x, nn.Linear) and x.weight.numel() > 16)
            assert parametrize.is_parametrized(lin, "weight")
            latents.append(lin.parametrizations.weight.original.detach().unique().numel())
            assert lin.weight.detach().unique().numel() <= 4  # the forward sees 2-bit values

    res = ste_fit(model, splits, TrainConfig(epochs=2, batch_size=8, progress=False, patience=None), bits=2,
                  callbacks=[Check()])
    assert len(latents) == 4 and all(k > 4 for k in latents)  # the latent weights are not quantized
    assert len(res.history) == 2
    assert not any(parametrize.is_parametrized(m) for m in model.modules())
    lin = next(x for x in model.modules() if isinstance(x, nn.Linear) and x.weight.numel() > 16)
    assert lin.weight.detach().unique().numel() <= 4
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    project_(model, 2)  # what is left is exactly on the codebooks
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


# --------------------------------------------------------------------- largest-gradient code moves
@pytest.mark.parametrize("method", ["quantile", "uniform", "nf"])
def test_code_values_increase_with_the_code_in_every_format(method):
    torch.manual_seed(0)
    qm = quantize(build_model("TimesNet", 3, 24, 2), method, 3)
    for qt in qm.qtensors.values():
        up = copy.deepcopy(qt)
        up.codes = (qt.codes.long() + 1).clamp(max=max_codes(qt)).to(qt.codes.dtype)
        assert (up.dequantize() >= qt.dequantize() - 1e-7).all()


@pytest.mark.task("quantize.CodeStep.step")
def test_code_step_moves_the_weights_that_travel_furthest_in_gaps_one_code_against_the_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 10))
    qm = quantize(model, "uniform", 3)  # uniform: every gap of a row is its scale
    p = qm.model[0].weight
    qt = qm.qtensors["0.weight"]
    codes = qt.codes.clone().reshape(-1).long()
    mid = ((codes > 0) & (codes < max_codes(qt))).nonzero().flatten()  # weights that can move either way
    p.grad = 1e-3 * torch.randn_like(p)
    big = mid[:4]
    p.grad.reshape(-1)[big] = torch.tensor([1.0, -1.0, 1.0, -1.0]) * 100 * qt.tables["scale"][big // 30]
    bias = qm.model[0].bias
    bias.grad = torch.zeros_like(bias)
    bias_before = bias.detach().clone()
    opt = CodeStep([p, bias], [qt, qm.qtensors["0.bias"]], objective=None, moves=4)
    opt.step()
    new = qt.codes.reshape(-1).long()
    expected = codes.clone()
    expected[big] = codes[big] - torch.tensor([1, -1, 1, -1])
    assert torch.equal(new, expected) and opt.accepted == 4 and opt.moved == 4
    assert torch.equal(p.detach(), qt.dequantize())  # the model computes with the new codes
    assert torch.equal(bias.detach(), bias_before)  # zero gradient: never moves


@pytest.mark.task("quantize.CodeStep.step")
def test_code_step_keeps_moves_only_when_the_objective_falls_and_halves_them_otherwise():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 10))
    qm = quantize(model, "quantile", 3)
    p = qm.model[0].weight
    qt = qm.qtensors["0.weight"]
    start = qt.codes.clone()
    p.grad = torch.randn_like(p)
    calls = []

    def never_better():  # every move raises the objective: the step must undo all of them
        calls.append(int((qt.codes != start).sum()))
        return 1.0 + calls[-1]

    opt = CodeStep([p], [qt], objective=never_better, moves=8)
    opt.step()
    assert torch.equal(qt.codes, start) and torch.equal(p.detach(), qt.dequantize())
    assert calls == [0, 8, 4, 2, 1] and opt.accepted == 0 and opt.converged

    def fewer_is_better():  # the objective falls only with at most 2 moved weights
        moved = int((qt.codes != start).sum())
        return 0.5 if 0 < moved <= 2 else 1.0

    opt = CodeStep([p], [qt], objective=fewer_is_better, moves=8)
    opt.step()
    assert int((qt.codes != start).sum()) == 2 and opt.accepted == 2 and not opt.converged


@pytest.mark.task("quantize.CodeStep.step")
@pytest.mark.parametrize("method", ["quantile", "uniform", "nf"])
def test_code_finetune_keeps_the_format_and_the_size(method):
    from tscompress.train import TrainConfig

    torch.manual_seed(0)
    qm = quantize(build_model("TimesNet", 3, 24, 2), method, 2)
    size = qm.nbytes()
    start = {n: qt.codes.clone() for n, qt in qm.qtensors.items()}
    res, moved = code_finetune(qm, _tiny_splits(), TrainConfig(epochs=3, progress=False, patience=None), moves=4)
    assert res.history[0]["epoch"] == 0 and res.start_candidate  # the PTQ model is a candidate
    assert res.best_record["val_accuracy"] >= res.history[0]["val_accuracy"]
    assert moved == sum(int((start[n] != qt.codes).sum()) for n, qt in qm.qtensors.items())
    assert (moved > 0) == (res.best_epoch > 0)
    kept = [h["moves"] for h in res.history[1:]]
    assert all(k >= 0 for k in kept)
    # either some moves lowered the training loss, or none did and the run ended there (converged)
    assert sum(kept) > 0 or (res.stopped_by == "converged" and kept == [0])
    assert qm.nbytes() == size
    params = dict(qm.model.named_parameters())
    for name, qt in qm.qtensors.items():
        assert torch.equal(params[name].detach(), qt.dequantize().to(params[name].dtype))
        assert int(qt.codes.max()) <= max_codes(qt)


@pytest.mark.parametrize("method", ["quantile", "uniform", "nf"])
def test_ste_fine_tuning_starts_from_the_ptq_model_and_caching_changes_nothing(method, monkeypatch):
    """STE from a trained model: epoch 0 is the PTQ model of the format; the forward pass computes each
    fake-quantized weight once (parametrize.cached), with exactly the numbers of computing it at every access."""
    import tscompress.quantize.qat as qat_module
    from tscompress.train import TrainConfig, evaluate

    splits = _tiny_splits()
    torch.manual_seed(0)
    trained = build_model("TimesNet", 3, 24, 2)
    ptq = quantize(trained, method, 3)
    histories = []
    for cached in (True, False):
        if not cached:
            monkeypatch.setattr(qat_module, "_CachedParametrizations", lambda m: m)
        model = copy.deepcopy(trained)
        res = ste_fit(model, splits, TrainConfig(epochs=2, progress=False, patience=None, lr=1e-2), bits=3,
                      method=method, start_candidate=True)
        histories.append([{k: v for k, v in r.items() if k != "seconds"} for r in res.history])
    assert histories[0] == histories[1]
    start = evaluate(ptq, splits.val, device="cpu", n_boot=0)
    assert histories[0][0]["epoch"] == 0 and histories[0][0]["val_loss"] == pytest.approx(start.loss, rel=1e-5)


def test_bits_figure_draws_every_method_before_and_after_each_fine_tuning_in_the_editions_words():
    import matplotlib.pyplot as plt
    import pandas as pd

    from tscompress.quantize.figures import PTQ_METHODS, bits_figure

    acc = {"test_accuracy": 0.8, "test_accuracy_lo": 0.7, "test_accuracy_hi": 0.9, "test_balanced_accuracy": 0.75,
           "test_majority_rate": 0.5}
    ptq = pd.DataFrame([{"method": "fp32", "bits": 32, **acc}] + [{"method": m, "bits": b, **acc}
                                                                     for m in PTQ_METHODS for b in (2, 4, 8)])
    tuned = pd.DataFrame([{"method": m, "bits": b, "procedure": p, **acc} for m in PTQ_METHODS for b in (2, 4)
                          for p in ("codes", "ste_tune")])
    fig = bits_figure(ptq, tuned, "ru", ste_bits=[2])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "квантильное (исследование), после дообучения кодов" in legend
    assert "NormalFloat (NF), после дообучения с STE" in legend and "fp32 (0.800)" in legend
    assert [t for t in fig.axes[0].get_xticks()] == [2, 4, 8]
    ste = [line for line in fig.axes[0].get_lines() if line.get_marker() == "^"]
    assert all(len(line.get_xdata()) == 1 for line in ste)  # STE only at the bits asked for
    plt.close(fig)
