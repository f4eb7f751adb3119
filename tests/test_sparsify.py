"""Sparsification: low-rank SVD layers, magnitude masks, gradient importance and branch removal."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tscompress.models import build_model
from tscompress.models.timesnet import InceptionBlock
from tscompress.sparsify import (factorize_layer, kernel_importance, lowrank, magnitude_prune, make_permanent,
                                 plan_ranks, remove_kernels, sparse_bytes, target_params, SparseLowRank,
                                 sparse_lowrank, sparse_lowrank_bytes, relative_weight_error)

# convolution geometries every exact-reconstruction test runs on: plain, strided with rectangular kernel, dilated circular
CONV_CASES = [dict(kernel_size=3, padding=1), dict(kernel_size=(3, 5), stride=2, padding=(1, 2)),
              dict(kernel_size=3, dilation=2, padding=2, padding_mode="circular")]


@pytest.mark.task("sparsify.factorize_layer")
@pytest.mark.parametrize("kw", CONV_CASES)
def test_full_rank_factorization_reproduces_a_convolution(kw):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, **kw)
    x = torch.randn(2, 4, 9, 11)
    full = min(6, conv.weight[0].numel())
    pair = factorize_layer(conv, full)
    assert isinstance(pair[0], nn.Conv2d) and pair[0].weight.shape == (full, 4, *conv.kernel_size)
    assert pair[1].kernel_size == (1, 1) and pair[0].stride == conv.stride and pair[0].dilation == conv.dilation
    assert torch.allclose(pair(x), conv(x), atol=1e-5)


@pytest.mark.task("sparsify.factorize_layer")
def test_truncated_factorization_is_the_best_rank_r_approximation():
    torch.manual_seed(0)
    lin = nn.Linear(12, 8)
    pair = factorize_layer(lin, 3)
    assert sum(p.numel() for p in pair.parameters()) == 3 * (12 + 8) + 8
    u, s, vh = torch.linalg.svd(lin.weight.detach(), full_matrices=False)
    w3 = (u[:, :3] * s[:3]) @ vh[:3]
    x = torch.randn(5, 12)
    assert torch.allclose(pair(x), x @ w3.T + lin.bias, atol=1e-5)


def test_lowrank_hits_the_fraction_and_really_removes_parameters():
    model = build_model("TimesNet", 3, 24, 2)
    before = target_params(model)
    out, plan = lowrank(model, 0.5)
    assert plan.fraction >= 0.5
    assert target_params(model) == before  # the input is untouched
    assert before - target_params(out) == plan.removed
    for name, r in plan.ranks.items():  # a layer is factorized only when that saves parameters
        w = model.get_submodule(name).weight
        if r is not None:
            assert r * (w.shape[0] + w[0].numel()) < w.numel()
            assert isinstance(out.get_submodule(name), nn.Sequential)
        else:
            assert type(out.get_submodule(name)) is type(model.get_submodule(name))
    x = torch.randn(4, 24, 3)
    assert out.eval()(x).shape == (4, 2)
    assert plan_ranks(model, 0.0).removed >= 0


@pytest.mark.task("sparsify.magnitude_prune")
def test_magnitude_masks_zero_the_smallest_weights_and_survive_training():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 2))
    pruned = magnitude_prune(model, 0.5)
    assert not hasattr(model[0], "weight_mask")
    for m in (pruned[0], pruned[2]):
        assert int((m.weight == 0).sum()) == m.weight.numel() // 2
        kept = m.weight_orig[m.weight_mask.bool()].abs().min()
        assert kept >= m.weight_orig[~m.weight_mask.bool()].abs().max()
    opt = torch.optim.SGD(pruned.parameters(), lr=0.1)
    F.cross_entropy(pruned(torch.randn(8, 10)), torch.randint(0, 2, (8,))).backward()
    opt.step()
    assert int((pruned(torch.zeros(1, 10)) * 0).sum()) == 0 and int((pruned[0].weight == 0).sum()) >= 100
    make_permanent(pruned)
    assert not any(m._forward_pre_hooks for m in pruned.modules())
    assert int((pruned[0].weight == 0).sum()) >= 100 and isinstance(pruned[0].weight, nn.Parameter)


def test_sparse_bytes_counts_bitmask_and_nonzeros():
    lin = nn.Linear(64, 4)  # 256 weights
    with torch.no_grad():
        lin.weight[:, :48] = 0  # 64 non-zeros
    assert sparse_bytes(lin) == 256 // 8 + 4 * 64 + 4 * 4
    dense = nn.Linear(64, 4)
    assert sparse_bytes(dense) == 4 * (256 + 4)


@pytest.mark.task("sparsify.kernel_importance")
def test_kernel_importance_is_the_mean_filter_gradient_norm_over_the_data():
    torch.manual_seed(0)
    model = build_model("TimesNet", 3, 24, 2)
    X, y = torch.randn(6, 24, 3), torch.tensor([0, 1, 0, 1, 1, 0])
    imp = kernel_importance(model, X, y, batch_size=3)
    name = "model.0.conv.0.kernels.2" if "model.0.conv.0.kernels.2" in imp else sorted(imp)[2]
    ref = build_model("TimesNet", 3, 24, 2)
    ref.load_state_dict(model.state_dict())
    ref.eval()
    k = ref.get_submodule(name)
    total = torch.zeros(k.weight.shape[0], dtype=torch.float64)
    for s in (0, 3):
        ref.zero_grad()
        F.cross_entropy(ref(X[s:s + 3]), y[s:s + 3], reduction="sum").backward()
        total += k.weight.grad.double().reshape(k.weight.shape[0], -1).norm(dim=1)
    assert imp[name] == pytest.approx(float(total.mean()), rel=1e-6)
    assert len(imp) == sum(len(m.kernels) for m in model.modules() if isinstance(m, InceptionBlock))


def test_removing_branches_leaves_the_average_of_the_rest():
    torch.manual_seed(0)
    model = build_model("TimesNet", 3, 24, 2).eval()
    names = [f"{n}.kernels.{i}" for n, m in model.named_modules() if isinstance(m, InceptionBlock)
             for i in range(len(m.kernels))]
    imp = {n: float(i) for i, n in enumerate(names)}  # the first ones are "least important"
    out, removed = remove_kernels(model, imp, 0.2)
    assert removed and removed == [n for n in names if n in removed]  # in order of importance
    assert removed[0] == names[0]
    assert target_params(out) <= 0.8 * target_params(model)
    block = next(m for m in out.modules() if isinstance(m, InceptionBlock))
    orig = next(m for m in model.modules() if isinstance(m, InceptionBlock))
    x = torch.randn(2, orig.in_channels, 5, 7)
    kept = [k for i, k in enumerate(orig.kernels) if f"{next(n for n, m in model.named_modules() if m is orig)}.kernels.{i}" not in removed]
    with torch.no_grad():
        assert torch.allclose(block(x), torch.stack([k(x) for k in kept], -1).mean(-1), atol=1e-5)
    assert all(len(m.kernels) >= 1 for m in out.modules() if isinstance(m, InceptionBlock))


# ------------------------------------------------------------------------------------ sparse + low-rank
@pytest.mark.task("sparsify.SparseLowRank.__init__")
@pytest.mark.parametrize("kw", CONV_CASES)
def test_sparse_lowrank_at_full_budget_reproduces_the_layer(kw):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, **kw)
    x = torch.randn(2, 4, 9, 11)
    slr = SparseLowRank(conv, rank=6, density=0.03)
    assert torch.allclose(slr.weight, conv.weight, atol=1e-5)
    assert torch.allclose(slr(x), conv(x), atol=1e-5)
    lin = nn.Linear(12, 8)
    xl = torch.randn(3, 12)
    assert torch.allclose(SparseLowRank(lin, 8, 0.02)(xl), lin(xl), atol=1e-5)


@pytest.mark.task("sparsify.SparseLowRank.__init__")
def test_sparse_part_holds_the_largest_residual_entries():
    torch.manual_seed(0)
    lin = nn.Linear(40, 30)
    w = lin.weight.detach().double()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    residual = (w - (u[:, :3] * s[:3]) @ vh[:3]).flatten()
    slr = SparseLowRank(lin, rank=3, density=0.05)
    nnz = round(0.05 * w.numel())
    assert slr.values.numel() == nnz == slr.index.numel()
    expected = set(torch.topk(residual.abs(), nnz).indices.tolist())
    assert set(slr.index.tolist()) == expected
    assert torch.allclose(slr.values.double(), residual[slr.index], atol=1e-6)
    err_l = (residual.norm()).item()
    err_ls = (slr.weight.detach().double() - w).norm().item()
    assert err_ls < err_l  # the sparse part removes the largest residual entries
    assert torch.allclose((slr.weight.detach().double() - w).flatten()[slr.index], torch.zeros(nnz, dtype=torch.double),
                          atol=1e-6)
    assert sum(p.numel() for p in slr.parameters()) == 3 * (30 + 40) + nnz + 30


@pytest.mark.task("sparsify.SparseLowRank.__init__")
def test_sparse_lowrank_meets_the_budget_trains_both_parts_and_keeps_its_support():
    torch.manual_seed(0)
    model = build_model("TimesNet", 3, 24, 2)
    before = target_params(model)
    out, plan = sparse_lowrank(model, 0.5, density=0.02)
    assert plan.fraction >= 0.5 and plan.density == 0.02
    assert before - target_params(out) == plan.removed
    layers = [m for m in out.modules() if isinstance(m, SparseLowRank)]
    assert layers and not any(isinstance(m, nn.Conv2d) for m in out.modules() if isinstance(m, InceptionBlock))
    for m in layers:
        assert m.values.numel() == max(1, round(0.02 * m.U.shape[0] * m.V.shape[1]))
    # the Inception blocks keep their merged fast path, and it agrees with the per-kernel path
    block = next(m for m in out.modules() if isinstance(m, InceptionBlock))
    assert block.merged_conv() is not None
    x = torch.randn(4, 24, 3)
    out.eval()
    fast = out(x)
    for m in out.modules():
        if isinstance(m, InceptionBlock):
            m.fast = False
    assert torch.allclose(fast, out(x), atol=1e-5)
    # one training step moves U, V and the sparse values; the support does not move
    out.train()
    supports = [m.index.clone() for m in layers]
    old = [(m.U.detach().clone(), m.V.detach().clone(), m.values.detach().clone()) for m in layers]
    opt = torch.optim.SGD(out.parameters(), lr=0.1)
    F.cross_entropy(out(x), torch.tensor([0, 1, 0, 1])).backward()
    # (the classifier does not use the temporal embedding, so only the Inception kernels are checked)
    used = [m for b in out.modules() if isinstance(b, InceptionBlock) for m in b.kernels]
    assert used and all(m.U.grad is not None and m.V.grad is not None and m.values.grad is not None for m in used)
    opt.step()
    assert all(torch.equal(m.index, s) for m, s in zip(layers, supports))
    assert any(not torch.equal(m.values, v) for m, (_, _, v) in zip(layers, old))
    assert any(not torch.equal(m.U, u) for m, (u, _, _) in zip(layers, old))


@pytest.mark.task("sparsify.SparseLowRank.__init__")
def test_sparse_lowrank_bytes_are_parameters_plus_the_cheaper_support():
    lin = nn.Linear(64, 32)
    slr = SparseLowRank(lin, rank=2, density=0.01)
    model = nn.Sequential(slr)
    nnz = slr.values.numel()
    params = 4 * (2 * (32 + 64) + nnz + 32)
    index = min(-(-2048 // 8), -(-nnz * 11 // 8))  # 2048 entries: a bitmask of 256 bytes or 11-bit indices
    assert sparse_lowrank_bytes(model) == params + index


def test_relative_weight_error_is_zero_for_exact_factorizations_and_orders_the_budgets():
    torch.manual_seed(0)
    model = build_model("TimesNet", 3, 24, 2)
    assert relative_weight_error(model, model) == 0.0
    full = nn.Sequential(nn.Linear(12, 8))
    pair = nn.Sequential(factorize_layer(full[0], 8))
    assert relative_weight_error(full, pair) < 1e-6
    errors = [relative_weight_error(model, sparse_lowrank(model, f)[0]) for f in (0.25, 0.5, 0.75)]
    assert 0 < errors[0] < errors[1] < errors[2] < 1
