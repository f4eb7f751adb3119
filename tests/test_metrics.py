import numpy as np
import pytest

from tscompress.metrics import balanced_accuracy, bootstrap_ci, majority_rate, mcnemar


def test_balanced_accuracy_and_majority_rate():
    labels = np.array([0, 0, 0, 1])
    preds = np.array([0, 0, 0, 0])
    assert majority_rate(labels) == 0.75
    assert balanced_accuracy(labels, preds) == pytest.approx(0.5)
    assert balanced_accuracy(labels, labels) == 1.0


def test_bootstrap_interval_contains_estimate_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.random(40) < 0.8
    large = rng.random(4000) < 0.8
    lo_s, hi_s = bootstrap_ci(np.ones(40, int), small.astype(int))
    lo_l, hi_l = bootstrap_ci(np.ones(4000, int), large.astype(int))
    assert lo_s <= small.mean() <= hi_s
    assert lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    # reproducible
    assert bootstrap_ci(np.ones(40, int), small.astype(int)) == (lo_s, hi_s)
    assert np.isnan(bootstrap_ci(np.ones(3, int), np.ones(3, int), n_boot=0)[0])


def test_bootstrap_balanced_accuracy():
    labels = np.array([0] * 30 + [1] * 10)
    preds = labels.copy()
    preds[:5] = 1
    lo, hi = bootstrap_ci(labels, preds, "balanced_accuracy")
    assert lo <= balanced_accuracy(labels, preds) <= hi <= 1.0


def test_mcnemar_known_table():
    # b = 10 discordant in favour of A, c = 2 in favour of B: exact two-sided p = 2 * P(X <= 2 | n=12, 1/2)
    a = np.array([1] * 10 + [0] * 2 + [1] * 20 + [0] * 5, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 20 + [0] * 5, bool)
    res = mcnemar(a, b)
    assert (res.b, res.c) == (10, 2)
    assert res.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert res.significant
    same = mcnemar(a, a)
    assert same.p_value == 1.0 and not same.significant


def test_library_metrics_match_the_definitions_the_book_used():
    """scikit-learn's balanced accuracy and scipy's exact binomial test give what the hand-written versions they
    replaced gave: the mean recall over the classes present in the labels, and 2·P(X ≤ min(b, c)) for
    X ~ Bin(b + c, 1/2), capped at 1."""
    import math

    rng = np.random.default_rng(3)
    for _ in range(200):
        k, n = int(rng.integers(2, 9)), int(rng.integers(1, 80))
        labels = rng.integers(0, k, n)
        preds = np.where(rng.random(n) < 0.6, labels, rng.integers(0, k + 1, n))  # k: a class never true
        recalls = [np.mean(preds[labels == c] == c) for c in np.unique(labels)]
        assert balanced_accuracy(labels, preds) == pytest.approx(float(np.mean(recalls)), abs=1e-12)
    for n in range(1, 120):
        for b in range(n + 1):
            a = np.r_[np.ones(b, bool), np.zeros(n - b, bool)]
            k = min(b, n - b)
            expected = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n)
            assert mcnemar(a, ~a).p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_bootstrap_balanced_accuracy_is_scikit_learns_on_every_resample():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, 57)
    preds = np.where(rng.random(57) < 0.7, labels, rng.integers(0, 4, 57))
    n_boot, level = 300, 0.9
    idx = np.random.default_rng(11).integers(0, 57, size=(n_boot, 57))  # bootstrap_ci's draws for seed 11
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = [balanced_accuracy_score(labels[i], preds[i]) for i in idx]
    expected = tuple(float(q) for q in np.quantile(stats, [0.05, 0.95]))
    got = bootstrap_ci(labels, preds, "balanced_accuracy", n_boot=n_boot, level=level, seed=11)
    assert got == pytest.approx(expected, abs=1e-12)


def test_russian_plurals_and_pairwise_text():
    import numpy as np

    from tscompress.report import pairwise_text, ru_plural

    forms = ("пример", "примера", "примеров")
    assert [ru_plural(n, *forms) for n in (1, 2, 4, 5, 11, 12, 21, 22, 25, 101, 111)] == [
        "пример", "примера", "примера", "примеров", "примеров", "примеров", "пример", "примера", "примеров",
        "пример", "примеров"]
    a = np.array([1, 1, 0, 1], bool)
    b = np.array([0, 1, 0, 0], bool)
    assert "A и B: примеров, верных только у A, — 2, только у B — 0 (точный критерий Мак-Немара: p = 0,500, " \
           "различие не значимо)" == pairwise_text({"A": a, "B": b}, "ru")
    assert "2 cases only A got right, 0 only B, exact McNemar p = 0.500" in pairwise_text({"A": a, "B": b}, "en")
    assert "p = 0,500" in pairwise_text({"A": a, "B": b}, "ru")  # the edition's decimal comma


def test_selection_text_says_when_validation_does_not_choose():
    from tscompress.report import selection_text

    assert "all 3 settings tie" in selection_text({"a": 0.69, "b": 0.69, "c": 0.69}, "en")
    assert "все 3 настройки совпадают" in selection_text({"a": 0.69, "b": 0.69, "c": 0.69}, "ru")
    two = selection_text({"a": 0.6, "b": 0.7, "c": 0.7}, "en")
    assert two.startswith("2 of 3 settings tie") and "0.700" in two
    one = selection_text({"a": 0.6, "b": 0.75, "c": 0.7}, "en")
    assert "0.750" in one and "0.700" in one and "tie" not in one
    assert selection_text({"a": 0.7, "b": 0.7}, "en").startswith("both settings tie")
    assert selection_text({"a": 0.7, "b": 0.7}, "ru").startswith("обе настройки совпадают")
    assert "only setting" in selection_text({"a": 0.5}, "en")
    assert selection_text({}, "en") == ""


def test_memory_text_names_the_saving_and_the_largest_part():
    from tscompress.report import memory_text

    full = {"weights": 4, "gradients": 4, "optimizer": 8, "activations": 24, "total": 40}
    qlora = {"weights": 5, "gradients": 1, "optimizer": 2, "activations": 22, "total": 30}
    assert memory_text(full, qlora, "en") == ("QLoRA needs 25% less memory per step than full fine-tuning; the largest "
                                              "part of full fine-tuning's step is the activations saved for backward (60%)")
    assert "на 25% меньше" in memory_text(full, qlora, "ru") and "активации" in memory_text(full, qlora, "ru")
    assert "the optimizer state (50%)" in memory_text({**full, "optimizer": 20, "activations": 12}, qlora, "en")


def test_recipe_choice_text_says_whether_the_book_follows_the_choice():
    from tscompress.report import recipe_choice_text

    scores = {"val_accuracy": 0.61, "weighted": 0.72}
    en = recipe_choice_text("weighted", "weighted", scores, "en")
    assert "0.720" in en and "0.610" in en and "every chapter" in en and "weighted" not in en.split("«")[0]
    other = recipe_choice_text("weighted", "val_accuracy", scores, "en")
    assert "-p train.recipe=weighted" in other and "0.610" in other
    ru = recipe_choice_text("weighted", "weighted", scores, "ru")
    assert "все главы" in ru and "0.720" in ru
    some = recipe_choice_text("weighted", "weighted", scores, "en", compared=["TimesNet", "iTransformer"],
                              models=["TimesNet", "Transformer", "iTransformer"])
    assert "TimesNet and iTransformer, the models that ran every recipe" in some
    assert "TimesNet и iTransformer" in recipe_choice_text("weighted", "weighted", scores, "ru",
                                                           compared=["TimesNet", "iTransformer"], models=["TimesNet", "Transformer", "iTransformer"])


def test_reference_text_uses_mcnemar_against_the_reference():
    from tscompress.report import reference_text

    ref_ok = np.array([True] * 40 + [False] * 10)
    same = ref_ok.copy()
    worse = np.array([False] * 30 + [True] * 10 + [False] * 10)
    row = lambda acc: {"test_accuracy": acc, "test_balanced_accuracy": 0.5}  # noqa: E731
    text = reference_text({"A": row(0.8), "B": row(0.2)}, {"test_accuracy": 0.8, "test_balanced_accuracy": 0.7},
                          {"A": same, "B": worse, "MiniRocket": ref_ok}, "en")
    assert "A 0.800 (balanced 0.500) cannot be told apart" in text
    assert "B 0.200 (balanced 0.500) is significantly worse (McNemar p < 0.001)" in text  # never "p = 0.00"
    assert "значимо хуже (критерий Мак-Немара p < 0,001)" in reference_text({"B": row(0.2)}, {"test_accuracy": 0.8, "test_balanced_accuracy": 0.7},
                                           {"B": worse, "MiniRocket": ref_ok}, "ru")


def test_starting_point_text_states_the_baselines_verdict_in_each_language():
    from tscompress.report import starting_point_text

    base = {"test_accuracy": 0.7213, "test_accuracy_lo": 0.607, "test_accuracy_hi": 0.836,
            "test_balanced_accuracy": 0.644, "test_majority_rate": 0.7213, "test_single_class": False, "test_n": 61}
    ref = {"test_accuracy": 0.705, "test_balanced_accuracy": 0.525}
    en = starting_point_text(base, ref, "en")
    ru = starting_point_text(base, ref, "ru")
    assert "0.721 [0.607, 0.836] on the 61 test cases" in en and "cannot be told apart" in en and "0.705" in en
    assert "0,721 [0,607; 0,836] на 61 тестовом примере" in ru and "неотличима" in ru and "0,705" in ru
    assert "MiniRocket" not in starting_point_text(base, None, "en")


def test_summary_line_reads_the_row_it_is_given():
    from tscompress import report

    row = {"test_accuracy": 0.7541, "test_accuracy_lo": 0.639, "test_accuracy_hi": 0.852, "test_n": 61,
           "test_majority_rate": 0.7213, "test_balanced_accuracy": 0.6312}
    assert report.summary_line("Transformer seed 0", row) == (
        "Transformer seed 0: test accuracy 0.754 [95% CI 0.639-0.852], n=61, majority rate 0.721, "
        "balanced accuracy 0.631")
    assert report.summary_line("x", row, "pooled accuracy", ", 2.0 s").endswith("0.631, 2.0 s")
    assert "pooled accuracy 0.754" in report.summary_line("x", row, "pooled accuracy")
