"""LoRA / DoRA adapters (QLoRA, QDoRA) and the bit-budget rank: tscompress.peft."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tscompress import peft as tp
from tscompress.models import build_model

CONV_CASES = [dict(kernel_size=3, stride=1, padding=1, dilation=1),
              dict(kernel_size=(3, 5), stride=2, padding=(2, 1), dilation=(2, 1)),
              dict(kernel_size=1, stride=1, padding=0, dilation=1)]
# peft 0.21 builds its convolution A without the layer's dilation (its adapter branch then has the wrong
# output size), so the comparison with peft uses dilation 1; dilation is covered by the two-branch test.
PEFT_CONV_CASES = [CONV_CASES[0], dict(kernel_size=(3, 5), stride=2, padding=(2, 1), dilation=1), CONV_CASES[2]]


class Net(nn.Module):
    def __init__(self, conv_kwargs=CONV_CASES[0]):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, **conv_kwargs)
        self.fc = nn.Linear(7, 4)

    def forward(self, x, z):
        return self.conv(x), self.fc(z)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 11, 10, generator=g), torch.randn(6, 7, generator=g)


def _randomize_adapters(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tp.lora_parameters(model):
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 else 0.0))


@pytest.mark.task("peft.LoraWeight.delta_weight")
@pytest.mark.task("peft.LoraWeight.forward")
@pytest.mark.parametrize("conv_kwargs", CONV_CASES)
@pytest.mark.parametrize("dora", [False, True])
def test_zero_b_leaves_outputs_unchanged(conv_kwargs, dora):
    torch.manual_seed(0)
    base = Net(conv_kwargs)
    x, z = _inputs()
    ref = base(x, z)
    model = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=2, alpha=4, dora=dora))
    out = model(x, z)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.task("peft.LoraWeight.delta_weight")
@pytest.mark.task("peft.LoraWeight.forward")
@pytest.mark.parametrize("conv_kwargs", CONV_CASES[:2])
def test_weight_path_equals_two_branch_conv(conv_kwargs):
    """conv(x, Ŵ + s·B·A) == conv(x, Ŵ) + s·B(A(x)) (A with the layer's kernel/stride/padding/dilation)."""
    torch.manual_seed(0)
    base = Net(conv_kwargs)
    model = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=3, alpha=6))
    _randomize_adapters(model)
    x, z = _inputs()
    adapter = dict((n, a) for n, _, a in tp.lora_layers(model))
    conv_out, fc_out = model(x, z)
    torch.testing.assert_close(conv_out, base.conv(x) + adapter["conv"].adapter_output(x), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fc_out, base.fc(z) + adapter["fc"].adapter_output(z), rtol=1e-4, atol=1e-5)
    assert adapter["conv"].lora_A.kernel_size == base.conv.kernel_size
    assert adapter["conv"].lora_A.stride == base.conv.stride and adapter["conv"].lora_B.kernel_size == (1, 1)


@pytest.mark.task("peft.merge")
@pytest.mark.parametrize("conv_kwargs", CONV_CASES[:2])
@pytest.mark.parametrize("dora", [False, True])
def test_merge_gives_identical_outputs(conv_kwargs, dora):
    torch.manual_seed(0)
    model = tp.apply_lora(Net(conv_kwargs), tp.LoraConfig(r=2, alpha=3, dora=dora))
    _randomize_adapters(model)
    x, z = _inputs()
    before = model(x, z)
    tp.merge(model)
    assert not list(tp.lora_layers(model))
    assert type(model.conv) is nn.Conv2d and type(model.fc) is nn.Linear
    assert not any("lora" in n for n, _ in model.named_parameters())
    after = model(x, z)
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert (after[0] - Net(conv_kwargs)(x, z)[0]).abs().max() > 1e-3  # the merge changed the weights


@pytest.mark.task("peft.LoraWeight.forward")
@pytest.mark.parametrize("dora", [False, True])
def test_only_adapters_receive_gradients(dora):
    torch.manual_seed(0)
    model = tp.apply_lora(Net(CONV_CASES[1]), tp.LoraConfig(r=2, dora=dora))
    _randomize_adapters(model)
    x, z = _inputs()
    a, b = model(x, z)
    (a.square().mean() + b.square().mean()).backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(("lora_" in n or "magnitude" in n) for n in trainable)
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, n
        else:
            assert p.grad is None, n
    expected = {"lora_A", "lora_B"} | ({"magnitude"} if dora else set())
    assert {n.split(".")[-2] if "lora" in n else "magnitude" for n in trainable} == expected


@pytest.mark.task("peft.LoraWeight.forward")
def test_dora_magnitude_init_and_detached_norm():
    torch.manual_seed(0)
    base = Net(CONV_CASES[0])
    model = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=2, dora=True))
    ad = dict((n, a) for n, _, a in tp.lora_layers(model))
    torch.testing.assert_close(ad["conv"].magnitude, base.conv.weight.detach().flatten(1).norm(dim=1))
    torch.testing.assert_close(ad["fc"].magnitude, base.fc.weight.detach().norm(dim=1))
    # with the norm detached, d W'/d m = V / ||V|| and the gradient w.r.t. B is m/||V|| * (dL/dW') A (no norm term)
    _randomize_adapters(model)
    layer = model.fc
    w = layer.weight
    gout = torch.randn_like(w)
    (w * gout).sum().backward()
    a = ad["fc"]
    v = layer.parametrizations.weight.original + a.delta_weight().detach()
    scale = (a.magnitude / v.norm(dim=1)).detach()
    expected_b = a.scaling * (scale[:, None] * gout) @ a.lora_A.weight.detach().T
    torch.testing.assert_close(a.lora_B.weight.grad, expected_b, rtol=1e-4, atol=1e-5)


def _peft_pair(conv_kwargs, dora, r=3, alpha=5):
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    base = Net(conv_kwargs)
    cfg = peft.LoraConfig(r=r, lora_alpha=alpha, target_modules=["conv", "fc"], use_dora=dora, lora_dropout=0.0)
    theirs = peft.get_peft_model(copy.deepcopy(base), cfg)
    ours = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=r, alpha=alpha, dora=dora))
    _randomize_adapters(ours)
    # map our A/B/m to peft's names (same shapes up to a view)
    theirs_params = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, _, a in tp.lora_layers(ours):
            prefix = f"base_model.model.{name}"
            theirs_params[f"{prefix}.lora_A.default.weight"].copy_(a.lora_A.weight)
            theirs_params[f"{prefix}.lora_B.default.weight"].copy_(a.lora_B.weight)
            if dora:
                t = theirs_params[f"{prefix}.lora_magnitude_vector.default.weight"]
                t.copy_(a.magnitude.reshape(t.shape))
    return ours, theirs


@pytest.mark.task("peft.LoraWeight.delta_weight")
@pytest.mark.task("peft.LoraWeight.forward")
@pytest.mark.parametrize("conv_kwargs", PEFT_CONV_CASES)
@pytest.mark.parametrize("dora", [False, True])
def test_matches_huggingface_peft(conv_kwargs, dora):
    ours, theirs = _peft_pair(conv_kwargs, dora)
    x, z = _inputs()
    ours.eval(), theirs.eval()
    for a, b in zip(ours(x, z), theirs(x, z)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # gradients agree too (DoRA's detached norm included)
    for m in (ours, theirs):
        m.train()
        out = m(x, z)
        (out[0].square().mean() + out[1].square().mean()).backward()
    theirs_grads = {n: p.grad for n, p in theirs.named_parameters() if p.requires_grad}
    for name, _, a in tp.lora_layers(ours):
        prefix = f"base_model.model.{name}"
        torch.testing.assert_close(a.lora_B.weight.grad, theirs_grads[f"{prefix}.lora_B.default.weight"],
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a.lora_A.weight.grad, theirs_grads[f"{prefix}.lora_A.default.weight"],
                                   rtol=1e-4, atol=1e-5)
        if dora:
            g = theirs_grads[f"{prefix}.lora_magnitude_vector.default.weight"]
            torch.testing.assert_close(a.magnitude.grad, g.reshape(a.magnitude.shape), rtol=1e-4, atol=1e-5)


@pytest.mark.task("peft.merge")
@pytest.mark.parametrize("dora", [False, True])
def test_merge_matches_peft_merge(dora):
    ours, theirs = _peft_pair(PEFT_CONV_CASES[1], dora)
    merged_theirs = theirs.merge_and_unload()
    tp.merge(ours)
    torch.testing.assert_close(ours.conv.weight, merged_theirs.conv.weight, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.fc.weight, merged_theirs.fc.weight, rtol=1e-5, atol=1e-6)


def _hand_count(model, r, layout):
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total += r * (m.in_channels * (kh * kw if layout == "peft" else 1)) + m.out_channels * r
        elif isinstance(m, nn.Linear):
            total += r * m.in_features + m.out_features * r
    return total


@pytest.mark.task("peft.adapter_params_per_rank")
def test_adapter_count_matches_real_adapters():
    tiny = build_model("TimesNet", 3, 24, 2, d_model=4, d_ff=6, e_layers=1, num_kernels=2)
    for r in (1, 3):
        real = tp.count_lora_parameters(tp.apply_lora(copy.deepcopy(tiny), tp.LoraConfig(r=r)))
        assert real == r * tp.adapter_params_per_rank(tiny, "peft") == _hand_count(tiny, r, "peft")
        dora = tp.count_lora_parameters(tp.apply_lora(copy.deepcopy(tiny), tp.LoraConfig(r=r, dora=True)))
        assert dora == real + tp.magnitude_params(tiny)
    assert tp.adapter_params_per_rank(tiny, "channel") == _hand_count(tiny, 1, "channel")
    # by hand: two Conv2d per kernel size k in (1, 3): 4->6 and 6->4; Linear(4,4) temporal (no bias) and the
    # projection Linear(24*4, 2)
    convs = sum(4 * k * k + 6 + 6 * k * k + 4 for k in (1, 3))
    linears = [m for m in tiny.modules() if isinstance(m, nn.Linear)]
    assert tp.adapter_params_per_rank(tiny, "peft") == convs + sum(m.in_features + m.out_features for m in linears)


@pytest.mark.task("peft.bit_budget_rank")
@pytest.mark.task("peft.adapter_params_per_rank")
def test_bit_budget_rank_arithmetic():
    tiny = build_model("TimesNet", 3, 24, 2, d_model=4, d_ff=6, e_layers=1, num_kernels=2)
    n = sum(p.numel() for p in tiny.parameters())
    for layout in tp.LAYOUTS:
        b = tp.bit_budget_rank(tiny, 4, 8, layout=layout)
        p = _hand_count(tiny, 1, layout)
        assert b.per_rank == p and b.n_params == n
        assert n * 4 / 32 + b.rank * p >= n * 8 / 32
        assert b.rank == 1 or n * 4 / 32 + (b.rank - 1) * p < n * 8 / 32
    d = tp.bit_budget_rank(tiny, 2, 8, dora=True)
    assert d.fixed == tp.magnitude_params(tiny) and d.adapter_params == d.rank * d.per_rank + d.fixed
    assert d.total_size >= d.target_size and (d.rank == 1 or d.below_size < d.target_size)
    with pytest.raises(ValueError):
        tp.bit_budget_rank(tiny, 8, 4)


@pytest.mark.task("peft.bit_budget_rank")
@pytest.mark.task("peft.adapter_params_per_rank")
def test_study_timesnet_budget():
    """The study's TimesNet (Heartbeat): 895,442 parameters; the study's 115,220 adapter parameters at its
    "rank 7" equal 14 ranks of the channel (1x1) layout; peft's layout reaches the budget at a lower rank."""
    tn = build_model("TimesNet", 61, 405, 2)
    ch = tp.bit_budget_rank(tn, 4, 8, layout="channel")
    assert ch.n_params == 895_442 and ch.target_size == 223_860.5
    assert ch.rank == 14 and ch.adapter_params == 115_220 and ch.total_size == 227_150.25
    pf = tp.bit_budget_rank(tn, 4, 8, layout="peft")
    assert pf.per_rank == _hand_count(tn, 1, "peft") and pf.rank < 7


@pytest.mark.task("peft.LoraWeight.forward")
@pytest.mark.task("peft.merge")
def test_quantized_base_training_step_keeps_base_frozen():
    from tscompress.quantize import quantile_quantize

    torch.manual_seed(0)
    tiny = build_model("TimesNet", 3, 24, 2, d_model=4, d_ff=6, e_layers=1, num_kernels=2)
    q = quantile_quantize(tiny, 4).model
    frozen = {n: p.detach().clone() for n, p in q.named_parameters()}
    model = tp.apply_lora(q, tp.LoraConfig(r=2, dora=True))
    opt = torch.optim.SGD(tp.lora_parameters(model), lr=0.1)
    x, y = torch.randn(4, 24, 3), torch.tensor([0, 1, 0, 1])
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    tp.merge(model)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, frozen[n])]
    assert changed and all(n.endswith("weight") for n in changed)
    biases = [n for n in frozen if n.endswith("bias")]
    assert all(torch.equal(dict(model.named_parameters())[n], frozen[n]) for n in biases)


@pytest.mark.task("peft.LoraWeight.delta_weight")
@pytest.mark.parametrize("dora", [False, True])
def test_dylora_truncation_equals_rank_r_lora(dora):
    torch.manual_seed(0)
    base = Net(CONV_CASES[1])
    big = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=5, alpha=10, dora=dora))  # s = 2
    _randomize_adapters(big)
    x, z = _inputs()
    for k in (1, 3, 5):
        small = tp.apply_lora(copy.deepcopy(base), tp.LoraConfig(r=k, alpha=2 * k, dora=dora))  # s = 2
        with torch.no_grad():
            for (_, _, a_big), (_, _, a_small) in zip(tp.lora_layers(big), tp.lora_layers(small)):
                a_small.lora_A.weight.copy_(a_big.lora_A.weight[:k])
                a_small.lora_B.weight.copy_(a_big.lora_B.weight[:, :k])
                if dora:
                    a_small.magnitude.copy_(a_big.magnitude)
        tp.set_rank(big, k)
        for a, b in zip(big(x, z), small(x, z)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    tp.set_rank(big, None)
    with pytest.raises(ValueError):
        tp.set_rank(big, 6)


@pytest.mark.task("peft.LoraWeight.forward")
def test_rank_sampler_full_rank_for_validation():
    model = tp.apply_lora(Net(), tp.LoraConfig(r=4))
    sampler = tp.RankSampler(max_rank=4, steps_per_epoch=3, seed=0)
    sampler.start(model)
    seen = []
    for step in range(1, 10):
        sampler.on_step_end(model, step)
        rank = next(iter(tp.lora_layers(model)))[2].active_rank
        seen.append(rank)
        if step % 3 == 0:
            assert rank is None  # the validation pass after an epoch uses every factor
            sampler.on_epoch_end(model, {})
    sampled = [r for r in seen if r is not None]
    assert all(1 <= r <= 4 for r in sampled) and len(set(sampled)) > 1
    assert sum(sampler.counts) == len(sampled) + 1 + 3  # start + per-step samples + one per epoch end


@pytest.mark.task("peft.merge")
def test_merging_a_copy_leaves_the_original_adapted_model_intact():
    torch.manual_seed(0)
    model = tp.apply_lora(Net(CONV_CASES[1]), tp.LoraConfig(r=2, dora=True))
    _randomize_adapters(model)
    x, z = _inputs()
    before = model(x, z)
    for _ in range(2):
        merged = tp.merge(copy.deepcopy(model))
        for a, b in zip(merged(x, z), before):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert len(list(tp.lora_layers(model))) == 2
    for a, b in zip(model(x, z), before):
        torch.testing.assert_close(a, b)


def test_fast_forward_repeats_the_last_update_while_the_loss_falls():
    torch.manual_seed(0)
    # a linear model and a target reached by moving along one direction: repeats must help, then stop
    model = nn.Sequential(nn.Linear(3, 2))
    X = torch.randn(32, 3)
    y = (X[:, 0] > 0).long()
    params = list(model.parameters())
    ff = tp.FastForward(params, X, y, every=2, max_repeats=1000)
    opt = torch.optim.SGD(params, lr=0.05)
    for step in range(1, 5):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        before = [p.detach().clone() for p in params]
        with torch.no_grad():
            loss_before = float(nn.functional.cross_entropy(model(X), y))
        last = [p.detach() - q for p, q in zip(params, ff.prev)] if ff.prev is not None else None
        repeats_before = ff.repeats
        ff.on_step_end(model, step)
        if step % 2 == 0:
            n = ff.repeats - repeats_before
            assert n >= 1  # early in training the last step direction still lowers the loss
            for p, b, d in zip(params, before, last):  # moved by exactly n times the last update
                torch.testing.assert_close(p.detach(), b + n * d, rtol=1e-4, atol=1e-5)
            with torch.no_grad():
                after = float(nn.functional.cross_entropy(model(X), y))
            assert after < loss_before
            # one more repeat would not have lowered the loss (the stopping rule)
            with torch.no_grad():
                nxt = float(nn.functional.cross_entropy(nn.functional.linear(X, params[0] + last[0], params[1] + last[1]), y))
            assert nxt >= after or n == ff.max_repeats
    assert ff.events == 2


def test_training_memory_counts_what_a_step_holds_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(24, 32), nn.GELU(), nn.Linear(32, 2))
    X, y = torch.randn(8, 6, 4), torch.randint(0, 2, (8,))
    before = copy.deepcopy(model.state_dict())
    torch.manual_seed(1)
    full = tp.training_memory(model, list(model.parameters()), X, y)
    after_rng = torch.rand(3)
    torch.manual_seed(1)
    assert torch.equal(after_rng, torch.rand(3))  # the caller's random stream is untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    n_bytes = 4 * sum(p.numel() for p in model.parameters())
    assert full["weights"] == n_bytes and full["gradients"] == n_bytes
    assert 2 * n_bytes <= full["optimizer"] <= 2 * n_bytes + 64 * len(list(model.parameters()))  # two moments + step
    assert full["activations"] > 0
    assert full["total"] == sum(full[k] for k in ("weights", "gradients", "optimizer", "activations"))

    tp.apply_lora(model, tp.LoraConfig(r=2))
    adapters = tp.lora_parameters(model)
    lora = tp.training_memory(model, adapters, X, y)
    a_bytes = 4 * tp.count_lora_parameters(model)
    assert lora["gradients"] == a_bytes and lora["gradients"] < full["gradients"]
    assert 2 * a_bytes <= lora["optimizer"] < full["optimizer"]
    assert lora["weights"] == n_bytes + a_bytes


def test_a_finetuning_run_does_not_depend_on_the_random_state_it_starts_in():
    """torch seeds its generator from the OS at start-up: the adapters' initial draws come from the run's own seed,
    so two runs of one configuration agree whatever was drawn before (here: nothing, or a thousand numbers)."""
    from tscompress.data import load_dataset
    from tscompress.peft.experiment import finetune
    from tscompress.train import TrainConfig

    data = load_dataset("BasicMotions", protocol="official", seed=0)
    torch.manual_seed(0)
    base = build_model("iTransformer", data.n_channels, data.seq_len, data.n_classes, d_model=16, d_ff=16, e_layers=1)
    config = TrainConfig(epochs=2, patience=None, seed=3, progress=False, device="cpu")
    runs = []
    for draws in (0, 1000):
        torch.manual_seed(12345)
        torch.rand(draws)
        runs.append(finetune(base, data, config, method="qlora", rank=2, n_boot=0))
    first, second = runs
    assert [r["val_loss"] for r in first.fit.history] == [r["val_loss"] for r in second.fit.history]
    for (name, a), (_, b) in zip(first.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_make_base_gives_the_pretrained_model_or_a_quantized_copy_and_refuses_an_unknown_key():
    from tscompress import variants
    from tscompress.errors import ConfigError
    from tscompress.peft.experiment import make_base

    torch.manual_seed(0)
    pre = build_model("TimesNet", 3, 24, 2, d_model=4, d_ff=6, e_layers=1, num_kernels=2)
    model, nbytes, desc = make_base("fp32", pre)
    assert model is pre and nbytes == variants.dense_bytes(pre) and desc == "float32 base"
    q2, b2, d2 = make_base("q2", pre)
    q4, b4, _ = make_base("q4", pre)
    assert b2 < b4 < nbytes and d2.startswith("2-bit quantile")
    conv = max((m.weight.numel(), n) for n, m in pre.named_modules() if isinstance(m, nn.Conv2d))[1] + ".weight"
    w2 = dict(q2.named_parameters())[conv]
    assert all(len(torch.unique(w2[f])) <= 4 for f in range(w2.shape[0]))  # 2 bits per output filter
    assert not torch.equal(w2, dict(pre.named_parameters())[conv])
    _, bn, dn = make_base("nf4", pre)
    assert bn < nbytes and dn.startswith("NF4")
    with pytest.raises(ConfigError, match="unknown PEFT base 'q'"):
        make_base("q", pre)
