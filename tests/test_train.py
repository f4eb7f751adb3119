"""The training engine: selection on validation, hooks, determinism, and learning on real data."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tscompress.errors import ConfigError
from tscompress.train import Batch, TrainConfig, evaluate, fit, resolve_device, set_seed


def _splits(n=96, length=12, channels=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = torch.randn(n, length, channels, generator=g) + y[:, None, None].float() * 1.5
    part = lambda a, b: SimpleNamespace(X=X[a:b], y=y[a:b])  # noqa: E731
    return SimpleNamespace(train=part(0, 64), val=part(64, 80), test=part(80, n))


class Tiny(nn.Module):
    def __init__(self, length=12, channels=3):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(length * channels, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


def _cfg(**kw):
    base = dict(epochs=6, patience=None, seed=0, progress=False, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def test_fit_learns_and_restores_the_best_validation_epoch():
    splits = _splits()
    set_seed(0)
    model = Tiny()
    res = fit(model, splits, _cfg(epochs=10, lr=1e-2))
    accs = [h["val_accuracy"] for h in res.history]
    assert res.best_val_accuracy == max(accs)
    assert res.history[res.best_epoch - 1]["val_accuracy"] == max(accs)
    # the restored weights are the selected epoch's: re-evaluating gives its validation numbers
    ev = evaluate(model, splits.val, device="cpu")
    assert ev.accuracy == pytest.approx(res.best_val_accuracy)
    assert ev.loss == pytest.approx(res.best_val_loss, rel=1e-5)
    assert ev.accuracy > 0.8
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} <= set(res.history[0])


def test_same_seed_same_numbers():
    runs = []
    for _ in range(2):
        set_seed(3)
        model = Tiny()
        runs.append(fit(model, _splits(), _cfg(seed=3, epochs=3)).history)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(runs[0]) == strip(runs[1])


def test_early_stopping_uses_patience():
    splits = _splits()
    model = Tiny()
    # a learning rate of ~0 cannot improve after the first epoch
    res = fit(model, splits, _cfg(epochs=20, patience=2, lr=1e-12))
    assert res.stopped_early and len(res.history) == 3 and res.best_epoch == 1


def test_loss_hook_callbacks_and_loss_module_parameters():
    splits = _splits()
    seen = {"steps": 0, "epochs": 0, "index": set()}

    class Weighted(nn.Module):
        """A loss with a trainable parameter, like OFA's projectors."""

        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, model, batch: Batch):
            seen["index"].update(batch.index.tolist())
            logits = model(batch.x)
            return F.cross_entropy(logits * self.scale, batch.y), logits

    class Counter:
        def on_step_end(self, model, step):
            seen["steps"] = step

        def on_epoch_end(self, model, record):
            seen["epochs"] += 1

    loss = Weighted()
    fit(Tiny(), splits, _cfg(epochs=2), loss=loss, callbacks=[Counter()])
    assert seen["epochs"] == 2 and seen["steps"] == 2 * 4  # 64 cases / batch 16
    assert seen["index"] == set(range(64))  # every training case's position reaches the hook
    assert loss.scale.item() != 1.0  # the loss module's parameter was trained


def test_evaluate_reports_context():
    splits = _splits()
    model = Tiny()
    ev = evaluate(model, splits.test, device="cpu", n_boot=500)
    assert ev.n == 16
    assert ev.accuracy_ci[0] <= ev.accuracy <= ev.accuracy_ci[1]
    assert ev.majority_rate == max(np.bincount(splits.test.y.numpy())) / 16
    s = ev.summary("test_")
    assert set(s) >= {"test_accuracy", "test_accuracy_lo", "test_majority_rate", "test_balanced_accuracy", "test_n"}
    assert "n=16" in ev.describe() and ev.describe().startswith(f"accuracy {ev.accuracy:.3f} [95% CI")
    ru = ev.describe("ru")
    assert ru.startswith("точность ") and "n = 16" in ru and "ДИ" in ru and "." not in ru.replace("n = 16", "")


@pytest.mark.parametrize("kw", [{"epochs": -1}, {"epochs": 1.5}, {"batch_size": 0}, {"lr": 0}, {"patience": 0},
                                {"seed": "x"}])
def test_bad_config(kw):
    with pytest.raises(ConfigError):
        TrainConfig(**kw)


def test_unknown_setting_and_device():
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ConfigError):
        resolve_device("tpu:0")
    assert resolve_device("cpu").type == "cpu"


def test_fit_improves_over_chance_on_basicmotions():
    """A real model on a real (small, bundled) UEA dataset learns in seconds."""
    from tscompress.data import load_dataset
    from tscompress.models import build_model

    ds = load_dataset("BasicMotions", protocol="official", seed=0)
    set_seed(0)
    model = build_model("TimesNet", ds.n_channels, ds.seq_len, ds.n_classes)
    fit(model, ds, _cfg(epochs=20))
    ev = evaluate(model, ds.test, device="cpu")
    assert ev.n == len(ds.test)
    assert ev.accuracy > 0.5 > 1 / ds.n_classes  # four balanced classes: chance is 0.25


def test_cross_validation_tests_every_case_once_and_pools_the_folds():
    from tscompress.data import load_dataset
    from tscompress.train import cross_validate, evaluate_logits

    folds = [load_dataset("BasicMotions", protocol="cv", fold=k, n_folds=4, seed=0) for k in range(4)]
    n = len(folds[0].train) + len(folds[0].val) + len(folds[0].test)
    built = []

    def build(d):
        built.append(d)
        return nn.Sequential(nn.Flatten(), nn.Linear(d.seq_len * d.n_channels, d.n_classes))

    cv = cross_validate(build, folds, _cfg(epochs=2), n_boot=100)
    assert len(built) == 4 and len(cv.fits) == 4 and len(cv.folds) == 4
    # every labelled case exactly once, in case order, with its own label
    assert cv.pooled.n == n and np.array_equal(cv.case_index, np.arange(n))
    labels = {int(i): int(y) for d in folds for i, y in zip(d.test.index, d.test.y)}
    assert cv.pooled.labels.tolist() == [labels[i] for i in range(n)]
    # pooled accuracy = the folds' accuracies weighted by their sizes
    weighted = sum(f.accuracy * f.n for f in cv.folds) / n
    assert cv.pooled.accuracy == pytest.approx(weighted)
    assert cv.pooled.accuracy_ci[0] <= cv.pooled.accuracy <= cv.pooled.accuracy_ci[1]
    # evaluate_logits is evaluate without the model
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    ev = evaluate_logits(logits, torch.tensor([0, 1, 1]), n_boot=50)
    assert ev.accuracy == pytest.approx(2 / 3) and ev.loss == pytest.approx(F.cross_entropy(logits, torch.tensor([0, 1, 1])).item())


def test_cross_validation_refuses_overlapping_test_parts():
    from tscompress.train import cross_validate

    splits = _splits()
    splits.test.index = np.arange(16)
    with pytest.raises(ConfigError, match="overlap"):
        cross_validate(lambda d: Tiny(), [splits, splits], _cfg(epochs=1), n_boot=10)


# ------------------------------------------------------------------ recipes' mechanisms in fit
def _imbalanced(n=120, seed=0):
    """80% class 0; class 1 separable but rare."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=g) < 0.2).long()
    X = torch.randn(n, 12, 3, generator=g) + y[:, None, None].float() * 1.0
    part = lambda a, b: SimpleNamespace(X=X[a:b], y=y[a:b])  # noqa: E731
    return SimpleNamespace(train=part(0, 80), val=part(80, 100), test=part(100, n))


def test_class_weights_are_sklearns_balanced():
    from sklearn.utils.class_weight import compute_class_weight

    from tscompress.train import class_weights

    y = torch.tensor([0, 0, 0, 1, 2, 2])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y.numpy())
    assert np.allclose(class_weights(y, 3).numpy(), expected)
    assert class_weights(torch.tensor([0, 0, 2]), 3)[1] == 0  # an absent class gets no weight


def test_weighted_recipe_trains_with_weighted_cross_entropy():
    """class_weight='balanced' gives the same training as an explicit weighted-CE hook."""
    from tscompress.train import class_weights, weighted_cross_entropy_loss

    splits = _imbalanced()
    set_seed(0)
    a = Tiny()
    fa = fit(a, splits, _cfg(epochs=3, class_weight="balanced"))
    set_seed(0)
    b = Tiny()
    fb = fit(b, splits, _cfg(epochs=3), loss=weighted_cross_entropy_loss(class_weights(splits.train.y, 2)))
    assert [h["train_loss"] for h in fa.history] == [h["train_loss"] for h in fb.history]
    set_seed(0)
    c = Tiny()
    fc = fit(c, splits, _cfg(epochs=3))
    assert [h["train_loss"] for h in fc.history] != [h["train_loss"] for h in fa.history]


def test_balanced_sampling_draws_each_class_about_equally():
    from tscompress.train import _balanced_batches

    y = torch.tensor([0] * 90 + [1] * 10)
    drawn = torch.cat(list(_balanced_batches(y, 16, torch.Generator().manual_seed(0))))
    assert len(drawn) == 100
    share = float((y[drawn] == 1).float().mean())
    assert 0.35 < share < 0.65  # the 10% class now fills about half of the draws


@pytest.mark.parametrize("select", ["accuracy", "balanced_accuracy", "mean_accuracy", "loss", "last"])
def test_selection_criteria_keep_the_epoch_they_promise(select):
    splits = _imbalanced()
    set_seed(0)
    res = fit(Tiny(), splits, _cfg(epochs=6, select=select, patience=2))
    h = res.history
    if select == "last":
        assert res.best_epoch == len(h) == 6 and not res.stopped_early  # patience ignored
        return
    if select == "loss":
        assert res.best_epoch == min(h, key=lambda r: r["val_loss"])["epoch"]
        return
    score = {"accuracy": lambda r: r["val_accuracy"], "balanced_accuracy": lambda r: r["val_balanced_accuracy"],
             "mean_accuracy": lambda r: (r["val_accuracy"] + r["val_balanced_accuracy"]) / 2}[select]
    best = max(score(r) for r in h)
    tied = [r for r in h if score(r) == best]
    assert res.best_epoch == min(tied, key=lambda r: r["val_loss"])["epoch"]


@pytest.mark.parametrize("kw", [{"select": "auc"}, {"class_weight": None}, {"class_weight": "inverse"},
                                {"sampling": "oversample"}, {"weight_decay": -1.0}])
def test_bad_recipe_settings(kw):
    with pytest.raises(ConfigError):
        TrainConfig(**kw)


# --------------------------------------------------------------------- a trained start is epoch 0
def _trained(splits):
    set_seed(0)
    model = Tiny()
    fit(model, splits, _cfg(epochs=10, lr=1e-2))
    return model


def test_a_finetuning_whose_every_step_hurts_returns_its_start_bit_for_bit():
    splits = _splits()
    model = _trained(splits)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # a huge learning rate wrecks the model at the first step; nothing later is as good as the start
    res = fit(model, splits, _cfg(epochs=4, patience=2, lr=50.0), start_candidate=True)
    assert res.start_candidate and res.history[0]["epoch"] == 0 and res.best_epoch == 0
    assert all(h["val_accuracy"] < res.history[0]["val_accuracy"] for h in res.history[1:])
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    assert res.stopped_by == "patience" and res.epochs_trained == 2
    assert np.isnan(res.history[0]["train_loss"]) and res.best_record is res.history[0]


def test_a_finetuning_whose_steps_help_leaves_its_start():
    splits = _splits()
    set_seed(0)
    model = Tiny()
    fit(model, splits, _cfg(epochs=1, lr=1e-3))  # barely trained: fine-tuning still has room
    start = {k: v.clone() for k, v in model.state_dict().items()}
    res = fit(model, splits, _cfg(epochs=8, lr=1e-2), start_candidate=True)
    assert res.best_epoch > 0 and res.best_record["val_accuracy"] > res.history[0]["val_accuracy"]
    assert not all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    # without the start as a candidate, the same run gives the same epochs (epoch 0 only evaluates)
    model2 = Tiny()
    model2.load_state_dict(start)
    res2 = fit(model2, splits, _cfg(epochs=8, lr=1e-2))
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("seconds", "best")} for r in h]  # noqa: E731
    assert strip(res.history[1:]) == strip(res2.history)


def test_every_run_says_why_it_stopped():
    splits = _splits()
    assert fit(Tiny(), splits, _cfg(epochs=3, lr=1e-2)).stopped_by == "cap"  # no patience: the cap ends it
    res = fit(Tiny(), splits, _cfg(epochs=20, patience=2, lr=1e-12))
    assert res.stopped_by == "patience" and not res.capped
    assert fit(Tiny(), splits, _cfg(epochs=2, select="last")).stopped_by == "fixed"

    class Done:
        converged = False

        def on_epoch_end(self, model, record):
            self.converged = record["epoch"] == 2

    res = fit(Tiny(), splits, _cfg(epochs=9, lr=1e-2), callbacks=[Done()])
    assert res.stopped_by == "converged" and len(res.history) == 2
