"""Shared fixtures: one smoke run of every chapter (in dependency order) on a small bundled
dataset, reused by the CLI, chapter and book tests so the suite executes each only once."""

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
    """results/<smoke> of every chapter on BasicMotions (ships with aeon; no download).

    Returns ``(results_dir, proc)`` with ``proc`` the models chapter's completed CLI process."""
    from tscompress.runner import CHAPTERS

    results = tmp_path_factory.mktemp("results") / "smoke"
    first = None
    for chapter in CHAPTERS:  # dependency order
        proc = tscompress("run", chapter, "--profile", "smoke", "--results-dir", str(results), "--quiet",
                          "-p", "dataset=BasicMotions")
        assert proc.returncode == 0, f"{chapter}:\n" + proc.stdout + proc.stderr
        first = first or proc
    return results, first
