"""Shared fixtures: one smoke run of the models chapter on a small bundled dataset, reused by
the CLI, notebook and book tests so the suite executes it only once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tscompress(*args, cwd=ROOT, env=None, timeout=900):
    """Run the CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "tscompress", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory):
    """results/<smoke> of the models chapter on BasicMotions (ships with aeon; no download)."""
    results = tmp_path_factory.mktemp("results") / "smoke"
    proc = tscompress("run", "00_models", "--profile", "smoke", "--results-dir", str(results), "--quiet",
                      "-p", "dataset=BasicMotions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results, proc
