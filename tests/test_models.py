"""The three TSLib classifiers: exact sizes, the TimesNet fast path, features, shapes, hparams,
checkpoints and errors."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from tscompress.errors import ConfigError, DataError
from tscompress.models import (
    MODEL_NAMES,
    InceptionBlock,
    TimesNet,
    build_model,
    count_parameters,
    load_checkpoint,
    parameter_breakdown,
    save_checkpoint,
    set_inception_fast,
)

HEARTBEAT = (61, 405, 2)  # n_channels, seq_len, n_classes


def _seeded(name, *shape, **overrides):
    torch.manual_seed(0)
    return build_model(name, *shape, **overrides)


def _x(batch, seq_len, n_channels, seed=1):
    return torch.randn(batch, seq_len, n_channels, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("name, total", [("TimesNet", 895_442), ("Transformer", 164_354),
                                         ("iTransformer", 134_338)])
def test_exact_parameter_counts_on_heartbeat(name, total):
    model = build_model(name, *HEARTBEAT)
    assert count_parameters(model) == total
    assert sum(parameter_breakdown(model).values()) == total


def test_timesnet_parameter_breakdown():
    model = build_model("TimesNet", *HEARTBEAT)
    assert parameter_breakdown(model) == {"Conv2d": 879_456, "Linear": 13_026, "Other": 2_960}
    # six real Conv2d kernels per Inception block: 3 blocks x 2 Inceptions x 6
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 36


def test_parameter_breakdown_follows_parametrized_and_pruned_modules():
    model = build_model("TimesNet", *HEARTBEAT)
    before = parameter_breakdown(model)

    class Identity(nn.Module):
        def forward(self, w):
            return w

    parametrize.register_parametrization(model.model[0].conv[0].kernels[1], "weight", Identity())
    prune.l1_unstructured(model.model[0].conv[2].kernels[2], "weight", amount=0.5)
    assert parameter_breakdown(model) == before
    assert count_parameters(model, trainable_only=True) == count_parameters(model)


# ------------------------------------------------------------------------------ fast path


def _block_out(block, x, fast):
    block.fast = fast
    try:
        return block(x)
    finally:
        block.fast = True


def test_inception_fast_equals_slow_including_gradients():
    torch.manual_seed(0)
    block = InceptionBlock(4, 5, num_kernels=6)
    for k in block.kernels:  # non-zero biases so their averaging is tested too
        nn.init.normal_(k.bias)
    x = torch.randn(2, 4, 7, 9)
    assert block.merged_conv() is not None
    fast, slow = _block_out(block, x, True), _block_out(block, x, False)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    grads = []
    for flag in (True, False):
        block.zero_grad()
        _block_out(block, x, flag).square().sum().backward()
        grads.append([k.weight.grad.clone() for k in block.kernels])
    for g_fast, g_slow in zip(*grads):
        torch.testing.assert_close(g_fast, g_slow, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("h,w", [(2, 40), (7, 9), (1, 1)])
def test_per_kernel_path_crops_pruned_low_rank_and_parametrized_kernels_to_the_same_outputs(h, w):
    """The per-kernel path computes each known branch with only the kernel rows that meet data: the same
    outputs and gradients as calling every branch, and the structure kept (a low-rank branch still has its
    rank, a pruned one its mask)."""
    from tscompress.models.timesnet import kernel_forward
    from tscompress.sparsify import factorize_layer

    torch.manual_seed(0)
    block = InceptionBlock(4, 5, num_kernels=6)
    for k in block.kernels:
        nn.init.normal_(k.bias)
    block.kernels[5] = factorize_layer(block.kernels[5], 2)  # 11x11, rank 2
    block.kernels[3] = factorize_layer(block.kernels[3], 3)
    prune.l1_unstructured(block.kernels[4], "weight", amount=0.6)

    class Scale(nn.Module):
        def forward(self, w):
            return 1.5 * w

    parametrize.register_parametrization(block.kernels[2], "weight", Scale())
    block.eval()
    assert block.merged_conv() is None  # in evaluation the low-rank pairs keep their structure: per-kernel path
    block.train()
    assert block.merged_conv() is not None  # in training they are multiplied out and merged
    x = torch.randn(2, 4, h, w, requires_grad=True)
    outs, grads = [], []
    for how in ("merged", "per-kernel", "each"):
        block.zero_grad()
        block.fast = how == "merged"
        xx = x.detach().clone().requires_grad_(True)
        y = (block(xx) if how != "each" else torch.stack([k(xx) for k in block.kernels], -1).mean(-1))
        y.square().sum().backward()
        outs.append(y.detach())
        grads.append([p.grad.clone() for p in block.parameters()] + [xx.grad.clone()])
    block.fast = True
    for out, grad in zip(outs[:2], grads[:2]):
        torch.testing.assert_close(out, outs[2], atol=1e-4, rtol=1e-5)
        for a, b in zip(grad, grads[2]):
            torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-4)
    for k in block.kernels:  # each branch on its own, too
        torch.testing.assert_close(kernel_forward(k, x.detach()), k(x.detach()), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("h,w", [(1, 405), (3, 202), (2, 3), (7, 67), (21, 20), (1, 1)])
def test_cropped_channels_last_conv_equals_the_plain_convolution(h, w):
    """The outer kernel rows/columns that only meet zero padding are dropped: same outputs (float32
    rounding aside) and the same weight gradients, exactly zero on the dropped rows."""
    from tscompress.models.timesnet import cropped_conv2d

    torch.manual_seed(0)
    x = torch.randn(3, 4, h, w)
    weight = torch.randn(5, 4, 11, 11, requires_grad=True)
    bias = torch.randn(5, requires_grad=True)
    fast = cropped_conv2d(x, weight, bias, 5)
    plain = torch.nn.functional.conv2d(x, weight, bias, padding=5)
    assert fast.shape == plain.shape and fast.is_contiguous()
    torch.testing.assert_close(fast, plain, atol=1e-4, rtol=1e-5)  # sums of 484 terms of size ~1
    grads = []
    for out in (fast, plain):
        weight.grad = None
        out.square().sum().backward()
        grads.append(weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5 * float(grads[1].abs().max()), rtol=1e-4)
    if h < 6:
        rows = min(11, 2 * h - 1)
        assert torch.count_nonzero(grads[0][:, :, : (11 - rows) // 2]) == 0
        assert torch.count_nonzero(grads[1][:, :, : (11 - rows) // 2]) == 0


def test_inception_after_removing_a_branch():
    torch.manual_seed(0)
    block = InceptionBlock(3, 4)
    x = torch.randn(2, 3, 6, 5)
    del block.kernels[5]  # the largest kernel: merged size shrinks to 9x9
    del block.kernels[0]
    assert block.num_kernels == 4
    expected = torch.stack([k(x) for k in block.kernels], -1).mean(-1)
    torch.testing.assert_close(_block_out(block, x, True), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(_block_out(block, x, False), expected, atol=1e-5, rtol=0)


def test_inception_pruned_kernel_merges_and_honours_mask():
    torch.manual_seed(0)
    block = InceptionBlock(3, 4)
    x = torch.randn(2, 3, 6, 5)
    unpruned, reference = copy.deepcopy(block), copy.deepcopy(block)
    prune.l1_unstructured(block.kernels[3], "weight", amount=0.6)
    assert block.merged_conv() is not None  # a pruned convolution is a dense one with masked weights
    with torch.no_grad():
        reference.kernels[3].weight.mul_(block.kernels[3].weight_mask)
    out = block(x)
    torch.testing.assert_close(out, reference(x), atol=1e-5, rtol=0)
    assert not torch.allclose(out, unpruned(x), atol=1e-3)  # the mask changed the output
    # the whole TimesNet with a pruned kernel: fast flag on or off, same result
    model = _seeded("TimesNet", 6, 100, 4).eval()
    prune.l1_unstructured(model.model[1].conv[0].kernels[2], "weight", amount=0.5)
    with torch.no_grad():
        fast = model(_x(2, 100, 6))
        set_inception_fast(model, False)
        torch.testing.assert_close(fast, model(_x(2, 100, 6)), atol=1e-5, rtol=0)


def test_inception_arbitrary_kernel_modules_and_parametrizations():
    torch.manual_seed(0)
    block = InceptionBlock(3, 4)
    x = torch.randn(2, 3, 6, 5)

    class Scale(nn.Module):
        def forward(self, w):
            return 0.5 * w

    parametrize.register_parametrization(block.kernels[2], "weight", Scale())
    assert block.merged_conv() is not None  # parametrized Conv2d subclass: still mergeable
    torch.testing.assert_close(_block_out(block, x, True), _block_out(block, x, False), atol=1e-5, rtol=0)

    # a low-rank pair replacing one kernel: the block calls the modules
    block.kernels[4] = nn.Sequential(nn.Conv2d(3, 2, (9, 1), padding=(4, 0), bias=False),
                                     nn.Conv2d(2, 4, (1, 9), padding=(0, 4)))
    assert block.merged_conv() is None
    expected = torch.stack([k(x) for k in block.kernels], -1).mean(-1)
    torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=0)


def test_timesnet_fast_equals_slow_whole_model():
    model = _seeded("TimesNet", *HEARTBEAT).eval()
    x = _x(2, 405, 61)
    with torch.no_grad():
        set_inception_fast(model, True)
        fast = model(x)
        set_inception_fast(model, False)
        slow = model(x)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)


# ------------------------------------------------------------------------- features, shapes


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_return_features_match_feature_dims(name):
    model = build_model(name, 12, 29, 9).eval()
    logits, features = model(_x(3, 29, 12), return_features=True)
    assert logits.shape == (3, 9)
    assert [tuple(f.shape[1:]) for f in features] == model.feature_dims
    assert all(f.shape[0] == 3 for f in features)
    expected = {"TimesNet": [(29, 16)] * 3, "Transformer": [(29, 64)] * 3, "iTransformer": [(12, 64)] * 3}[name]
    assert model.feature_dims == expected
    torch.testing.assert_close(model(_x(3, 29, 12)), logits)


def test_heartbeat_feature_dims():
    assert build_model("TimesNet", *HEARTBEAT).feature_dims == [(405, 16)] * 3
    assert build_model("Transformer", *HEARTBEAT).feature_dims == [(405, 64)] * 3
    assert build_model("iTransformer", *HEARTBEAT).feature_dims == [(61, 64)] * 3


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("n_channels, seq_len, n_classes", [(6, 100, 4), (12, 29, 9), (3, 8, 2), (1, 2, 3)])
def test_other_dataset_shapes(name, n_channels, seq_len, n_classes):
    model = build_model(name, n_channels, seq_len, n_classes)
    x = _x(4, seq_len, n_channels)
    logits = model(x)
    assert logits.shape == (4, n_classes) and torch.isfinite(logits).all()
    logits.sum().backward()
    with pytest.raises(ValueError, match="expected input"):
        model(x[:, :, :-1] if n_channels > 1 else x[:, :-1])


def test_timesnet_handles_constant_input():
    model = build_model("TimesNet", 2, 8, 2).eval()
    assert torch.isfinite(model(torch.zeros(2, 8, 2))).all()


@pytest.mark.parametrize("name", ["Transformer", "iTransformer"])
def test_transformers_are_fx_traceable(name):
    model = build_model(name, 6, 100, 4).eval()
    traced = torch.fx.symbolic_trace(model, concrete_args={"return_features": False})
    x = _x(2, 100, 6)
    torch.testing.assert_close(traced(x), model(x), atol=0, rtol=0)


# ---------------------------------------------------------------------- hparams, checkpoints


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_hparams_round_trip(name):
    overrides = {"d_model": 8, "e_layers": 2} if name == "TimesNet" else {"d_model": 16, "n_heads": 4}
    model = _seeded(name.upper(), 6, 100, 4, **overrides).eval()
    hp = model.hparams
    assert hp["name"] == name and hp["n_channels"] == 6 and hp["seq_len"] == 100 and hp["n_classes"] == 4
    assert hp["d_model"] == overrides["d_model"] and "dropout" in hp
    rebuilt = build_model(**hp).eval()
    assert rebuilt.hparams == hp
    rebuilt.load_state_dict(model.state_dict())
    x = _x(2, 100, 6)
    torch.testing.assert_close(rebuilt(x), model(x), atol=0, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_checkpoint_round_trip(tmp_path, name):
    model = _seeded(name, 6, 100, 4).eval()
    path = tmp_path / "sub" / f"{name}.pt"
    save_checkpoint(model, path, extra={"epoch": 3, "accuracy": 0.75})
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    loaded, extra = load_checkpoint(path)
    assert extra == {"epoch": 3, "accuracy": 0.75}
    assert type(loaded) is type(model) and loaded.hparams == model.hparams
    loaded.eval()
    x = _x(2, 100, 6)
    torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError):
        load_checkpoint(bad)
    with pytest.raises(TypeError):
        save_checkpoint(nn.Linear(2, 2), tmp_path / "x.pt")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_same_initial_weights(name):
    a, b = _seeded(name, *HEARTBEAT), _seeded(name, *HEARTBEAT)
    torch.manual_seed(1)
    c = build_model(name, *HEARTBEAT)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_attention_dropout_override_only_affects_training():
    x = _x(2, 29, 12)
    a = _seeded("Transformer", 12, 29, 9).eval()
    b = _seeded("Transformer", 12, 29, 9, attn_dropout=0.1).eval()
    assert a.hparams["attn_dropout"] == 0.0 and b.hparams["attn_dropout"] == 0.1
    torch.testing.assert_close(a(x), b(x), atol=0, rtol=0)


# -------------------------------------------------------------------------------- errors


def test_unknown_model_name():
    with pytest.raises(ConfigError, match="TimesNet, Transformer, iTransformer"):
        build_model("ResNet", *HEARTBEAT)
    assert MODEL_NAMES == ("TimesNet", "Transformer", "iTransformer")
    assert isinstance(build_model("timesnet", *HEARTBEAT), TimesNet)


@pytest.mark.parametrize("name, bad", [("TimesNet", {"n_heads": 8}), ("Transformer", {"top_k": 2}),
                                       ("iTransformer", {"dmodel": 3})])
def test_unknown_override(name, bad):
    with pytest.raises(ConfigError, match="unknown hyperparameter") as info:
        build_model(name, *HEARTBEAT, **bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("overrides", [{"d_model": 0}, {"dropout": 1.5}, {"activation": "tanh"},
                                       {"e_layers": 2.5}, {"n_heads": 128}])
def test_bad_override_values(overrides):
    with pytest.raises(ConfigError):
        build_model("Transformer", *HEARTBEAT, **overrides)


def test_bad_data_sizes():
    with pytest.raises(ConfigError):
        build_model("TimesNet", 61, 1, 2)  # no non-DC frequency to find a period in
    with pytest.raises(ConfigError):
        build_model("iTransformer", 0, 405, 2)
