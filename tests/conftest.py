"""Shared fixtures: one smoke run of every chapter (in dependency order) on two small bundled
datasets, reused by the CLI, chapter and book tests so the suite executes each only once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE_DATASETS = ("BasicMotions", "JapaneseVowels")
"""The smoke book's datasets: both ship with aeon; the second has unequal lengths."""


def tscompress(*args, cwd=ROOT, env=None, timeout=900):
    """Run the CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "tscompress", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def _torch_threads_kept():
    """A test that opens a chapter (which sets torch's threads from its profile) leaves the others the threads
    they had."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory):
    """results/<smoke> of every chapter on two datasets that ship with aeon (no download): BasicMotions
    (equal lengths) and JapaneseVowels (unequal lengths, 9 classes), in ``<results>/<dataset>/``.

    The models chapter runs once over both datasets (``--datasets A,B``, as a user would); the later chapters run
    per dataset, the two datasets' chains side by side (the smoke profile gives every chapter one torch thread,
    so two processes on two cores do not slow each other).

    Returns ``(results_dir, proc)`` with ``proc`` the models chapter's completed CLI process."""
    from concurrent.futures import ThreadPoolExecutor

    from tscompress.runner import CHAPTERS

    results = tmp_path_factory.mktemp("results") / "smoke"
    first, *later = sorted(CHAPTERS)  # numbered: name order is dependency order
    proc = tscompress("run", first, "--profile", "smoke", "--results-dir", str(results), "--quiet",
                      "--datasets", ",".join(SMOKE_DATASETS))
    assert proc.returncode == 0, f"{first}:\n" + proc.stdout + proc.stderr

    def chain(dataset):
        for chapter in later:
            done = tscompress("run", chapter, "--profile", "smoke", "--results-dir", str(results), "--quiet",
                              "--datasets", dataset)
            if done.returncode:
                return f"{chapter} on {dataset}:\n" + done.stdout + done.stderr
        return None

    with ThreadPoolExecutor(len(SMOKE_DATASETS)) as pool:
        failures = [f for f in pool.map(chain, SMOKE_DATASETS) if f]
    assert not failures, failures[0]
    return results, proc


# ------------------------------------------------------------------ course assignment support
# Tests that check a method carry @pytest.mark.task("<area>.<function>"); `--task NAME` runs only
# those (the grader uses it), and a failure caused by an unimplemented task is reported in one line.
def pytest_addoption(parser):
    parser.addoption("--task", action="append", default=[], help="run only the tests of this task (repeatable)")
    parser.addoption("--task-report", default=None, help="write {tests, passed} of the run as JSON here")
    parser.addoption("--all", action="store_true", default=False,
                     help="also run the tests marked ci (the longest end-to-end checks; CI runs them)")


def pytest_configure(config):
    config.addinivalue_line("markers", "task(name): the test checks this assignment task (see STUDENT.md)")
    config._task_counts = {"tests": 0, "passed": 0, "failed": 0}
    config._task_missing = {}


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--all"):
        skip = pytest.mark.skip(reason="a longest end-to-end check: run with --all (CI does)")
        for item in items:
            if item.get_closest_marker("ci"):
                item.add_marker(skip)
    wanted = set(config.getoption("--task"))
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        names = {a for m in item.iter_markers("task") for a in m.args}
        (keep if names & wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    counts = item.config._task_counts
    if report.when == "call" or (report.when == "setup" and not report.passed):
        counts["tests"] += 1
        counts["passed" if report.passed else "failed"] += int(report.passed or report.failed)
    if report.failed:
        from tscompress.assignment import task_of_failure

        task = task_of_failure(str(report.longrepr))
        if task:
            report.longrepr = f"needs task {task}: not implemented yet (see STUDENT.md)"
            item.config._task_missing.setdefault(task, []).append(item.nodeid)


def pytest_terminal_summary(terminalreporter, config):
    missing = config._task_missing
    if missing:
        terminalreporter.section("tasks not implemented yet")
        for task, tests in sorted(missing.items()):
            terminalreporter.write_line(f"{task}: {len(tests)} test(s) waiting for it")


def pytest_sessionfinish(session):
    path = session.config.getoption("--task-report")
    if path:
        import json

        Path(path).write_text(json.dumps(session.config._task_counts))
