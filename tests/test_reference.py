"""The MiniRocket reference: aeon's transform + scikit-learn's ridge, on the book's own splits."""

import numpy as np
import pytest

from tscompress.data import load_dataset
from tscompress.errors import ConfigError
from tscompress.reference import cross_validate_reference, fit_reference


def test_reference_beats_chance_on_basicmotions():
    ds = load_dataset("BasicMotions", protocol="official", seed=0)
    res = fit_reference(ds, n_kernels=840, seed=0, n_boot=200)
    assert res.evaluation.n == len(ds.test)
    assert res.evaluation.accuracy > 0.6 > 1 / ds.n_classes  # four balanced classes: chance is 0.25
    assert res.evaluation.accuracy_ci[0] > 0.25
    assert res.seconds > 0 and res.alpha > 0


def test_reference_is_seeded_and_never_fits_on_the_test_part():
    ds = load_dataset("BasicMotions", protocol="official", seed=0)
    a = fit_reference(ds, n_kernels=840, seed=3, n_boot=0)
    b = fit_reference(ds, n_kernels=840, seed=3, n_boot=0)
    assert np.array_equal(a.evaluation.preds, b.evaluation.preds)
    # permuting the test labels changes the score but not one prediction
    rng = np.random.default_rng(0)
    ds.test.y = ds.test.y[rng.permutation(len(ds.test))]
    c = fit_reference(ds, n_kernels=840, seed=3, n_boot=0)
    assert np.array_equal(a.evaluation.preds, c.evaluation.preds)


def test_reference_cross_validation_pools_every_case_once():
    folds = [load_dataset("BasicMotions", protocol="cv", fold=k, n_folds=3, seed=0) for k in range(3)]
    cv = cross_validate_reference(folds, n_kernels=840, seed=0, n_boot=100)
    n = len(folds[0].train) + len(folds[0].val) + len(folds[0].test)
    assert cv.pooled.n == n and np.array_equal(cv.case_index, np.arange(n))
    assert cv.pooled.accuracy > 0.6
    with pytest.raises(ConfigError):
        cross_validate_reference([folds[0], folds[0]], n_kernels=840)


def test_reference_refuses_bad_kernel_counts():
    with pytest.raises(ConfigError):
        fit_reference(load_dataset("BasicMotions", protocol="official", seed=0), n_kernels=10)


def test_reference_leaves_torch_with_the_threads_it_had():
    """aeon's MiniRocket (numba) resets the process's OpenMP threads to the machine's cores; a one-thread process (a
    Ray task's kernel) must stay at one thread, or two such tasks on two cores slow each other down many times."""
    import os
    import subprocess
    import sys

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: nothing to reset")
    code = ("import torch\nfrom tscompress.data import load_dataset\nfrom tscompress.reference import fit_reference\n"
            "assert torch.get_num_threads() == 1\n"
            "fit_reference(load_dataset('BasicMotions', protocol='official', seed=0), n_kernels=840, seed=0, n_boot=10)\n"
            "print(torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"
