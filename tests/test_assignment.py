"""Course assignment mode: markers, the student build, the per-task test report, grading."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, tscompress
from tscompress import assignment
from tscompress.errors import ConfigError

TOY = '''\
"""A toy area with two tasks."""


def double(x):
    """Return twice ``x``.

    The rest of the docstring is not the summary."""
    ### BEGIN SOLUTION
    y = x + x
    return y
    ### END SOLUTION


def add(a, b):
    """Return the sum of ``a`` and ``b``."""
    if a is None:  # infrastructure stays
        raise TypeError("a")
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION


def helper():
    return "### BEGIN SOLUTION inside a string is not a marker"
'''

TOY_TESTS = '''\
import pytest

from tscompress.toy import add, double, helper


@pytest.mark.task("toy.double")
def test_double():
    assert double(3) == 6 and double(-1) == -2


@pytest.mark.task("toy.add")
def test_add():
    assert add(2, 3) == 5


@pytest.mark.task("toy.add")
def test_add_floats():
    assert add(0.5, 0.25) == 0.75


def test_helper_untouched():
    assert "BEGIN" in helper()
'''


def _toy_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    pkg = repo / "src" / "tscompress"
    pkg.mkdir(parents=True)
    for name in ("__init__.py", "errors.py", "results.py", "assignment.py"):
        shutil.copy2(ROOT / "src" / "tscompress" / name, pkg / name)
    (pkg / "toy").mkdir()
    (pkg / "toy" / "__init__.py").write_text(TOY)
    (repo / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    (repo / "tests" / "test_toy.py").write_text(TOY_TESTS)
    (repo / "notebooks" / "src").mkdir(parents=True)
    (repo / "notebooks" / "src" / "01_toy.py").write_text(
        "# %% [markdown]\n# # Toy\n\n# %%\nx = 1\n\n# %% [markdown]\n# ### BEGIN SOLUTION\n"
        "# The results show that x is one.\n# ### END SOLUTION\n")
    (repo / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "nb_from_py.py", repo / "scripts" / "nb_from_py.py")
    (repo / "README.md").write_text("toy\n")
    return repo


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd / "src"), "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_regions_and_tasks_are_found_with_their_tests(tmp_path):
    repo = _toy_repo(tmp_path)
    tasks = assignment.discover_tasks(repo)
    assert set(tasks) == {"toy.add", "toy.double", "toy.analysis"}
    assert tasks["toy.double"].summary == "Return twice ``x``."
    assert tasks["toy.add"].tests == ["tests/test_toy.py::test_add", "tests/test_toy.py::test_add_floats"]
    assert tasks["toy.analysis"].kind == "analysis"


@pytest.mark.parametrize("text,message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "without"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "nested"),
])
def test_bad_markers_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        assignment.find_regions(text)


def test_marker_outside_a_function_and_marks_for_unknown_tasks_are_refused(tmp_path):
    repo = _toy_repo(tmp_path)
    (repo / "src" / "tscompress" / "toy" / "bad.py").write_text("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n")
    with pytest.raises(ConfigError, match="inside a function"):
        assignment.discover_tasks(repo)
    (repo / "src" / "tscompress" / "toy" / "bad.py").unlink()
    (repo / "tests" / "test_more.py").write_text('import pytest\n\n@pytest.mark.task("toy.nothing")\n'
                                                 'def test_x():\n    pass\n')
    with pytest.raises(ConfigError, match="toy.nothing"):
        assignment.discover_tasks(repo)


def _without_regions(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for r in reversed(assignment.find_regions(text)):
        del lines[r.start: r.end + 1]
    return "".join(lines)


def _without_placeholders(text: str) -> str:
    return "".join(l for l in text.splitlines(keepends=True)
                   if "# TODO task " not in l and 'NotImplementedError("task ' not in l
                   and "*(Task " not in l)


def test_build_removes_exactly_the_marked_regions_and_student_tests_fail_per_task(tmp_path):
    repo = _toy_repo(tmp_path)
    out = tmp_path / "student"
    record = assignment.build(repo, out)
    assert {t["id"] for t in record["tasks"]} == {"toy.add", "toy.double", "toy.analysis"}
    for path in repo.rglob("*"):
        if path.is_file():
            rel = path.relative_to(repo)
            original, student = path.read_text(), (out / rel).read_text()
            if path.suffix == ".py" and assignment.find_regions(original):
                assert _without_regions(original) == _without_placeholders(student), rel
            else:
                assert original == student, rel
    toy = (out / "src/tscompress/toy/__init__.py").read_text()
    assert "y = x + x" not in toy and "return a + b" not in toy and 'raise TypeError("a")' in toy
    assert "# TODO task toy.double: Return twice ``x``." in toy
    assert "x is one" not in (out / "notebooks/src/01_toy.py").read_text()
    assert (out / "notebooks/01_toy.ipynb").is_file()
    md = (out / "STUDENT.md").read_text()
    assert "toy.double" in md and "Задание" in md and "Assignment" in md
    # the student's suite fails exactly on the removed tasks, one line each, with a per-task summary
    proc = _pytest(out, "tests")
    assert proc.returncode == 1
    assert "3 failed, 1 passed" in proc.stdout, proc.stdout
    assert "needs task toy.add: not implemented yet" in proc.stdout
    assert "toy.add: 2 test(s) waiting for it" in proc.stdout and "toy.double: 1 test(s)" in proc.stdout
    assert "Traceback" not in proc.stdout
    # one area only, refusing unknown areas and non-empty targets
    with pytest.raises(ConfigError, match="unknown area"):
        assignment.build(repo, tmp_path / "s2", ["nope"])
    with pytest.raises(ConfigError, match="not empty"):
        assignment.build(repo, out)


def _set_body(student: Path, old_marker: str, body: str) -> None:
    path = student / "src/tscompress/toy/__init__.py"
    lines = path.read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        if f'NotImplementedError("task {old_marker}:' in line:
            out.append(textwrap.indent(textwrap.dedent(body), "    "))
        else:
            out.append(line)
    path.write_text("".join(out))


def test_grading_untouched_solved_and_broken_copies(tmp_path):
    repo = _toy_repo(tmp_path)
    student = tmp_path / "student"
    assignment.build(repo, student)
    grades = {g.task: g for g in assignment.grade(student, repo, timeout=60)}
    assert grades["toy.add"].status == "not attempted" and grades["toy.double"].status == "not attempted"
    assert grades["toy.analysis"].status == "manual"
    assert assignment.score(list(grades.values())) == (0, 2)

    # solutions put back: 100%
    _set_body(student, "toy.double", "return 2 * x\n")
    _set_body(student, "toy.add", "return a + b\n")
    grades = assignment.grade(student, repo, timeout=60)
    assert assignment.score(grades) == (2, 2), assignment.format_grades(grades)

    # wrong maths in one task, an infinite loop in the other: each fails alone, within the limit
    solved = (student / "src/tscompress/toy/__init__.py").read_text()
    (student / "src/tscompress/toy/__init__.py").write_text(
        solved.replace("return 2 * x", "return 3 * x").replace("return a + b", "while True:\n        pass"))
    grades = {g.task: g for g in assignment.grade(student, repo, timeout=10)}
    assert grades["toy.double"].status == "failed" and "time limit" not in grades["toy.double"].detail
    assert grades["toy.add"].status == "failed" and "time limit" in grades["toy.add"].detail

    # an import error breaks the toy area only: the grader still reports every task
    (student / "src/tscompress/toy/__init__.py").write_text("import no_such_module\n" + solved)
    grades = assignment.grade(student, repo, timeout=60)
    assert [g.status for g in grades if g.task != "toy.analysis"] == ["failed", "failed"]


def test_cli_grade_table_json_and_exit_code(tmp_path):
    repo = _toy_repo(tmp_path)
    student = tmp_path / "student"
    assignment.build(repo, student)
    report = tmp_path / "grades.json"
    proc = tscompress("assignment", "grade", str(student), "--json", str(report), "--timeout", "30",
                      env={"TSCOMPRESS_ROOT": str(repo)})
    assert proc.returncode == 1, proc.stderr
    assert "not attempted" in proc.stdout and "score: 0/2" in proc.stdout
    data = json.loads(report.read_text())
    assert data["graded"] == 2 and data["passed"] == 0 and len(data["tasks"]) == 3
    proc = tscompress("assignment", "grade", str(tmp_path))
    assert proc.returncode != 0 and "not a student repository" in proc.stderr


@pytest.mark.skipif((ROOT / ".assignment.json").exists(), reason="a student repository has no solutions to take out")
def test_this_repository_builds_a_student_version_that_differs_only_in_marked_regions(tmp_path):
    out = tmp_path / "student"
    record = assignment.build(ROOT, out)
    tasks = assignment.discover_tasks(ROOT)
    assert [t["id"] for t in record["tasks"]] == list(tasks)
    for task in tasks.values():
        if task.kind == "code":
            assert task.tests, f"task {task.id} has no tests marked for it"
    for rel in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split():
        src, dst = ROOT / rel, out / rel
        if not src.is_file() or rel.endswith(".ipynb"):
            continue
        assert dst.is_file(), rel
        if src.suffix == ".py" and assignment.find_regions(src.read_text()):
            assert _without_regions(src.read_text()) == _without_placeholders(dst.read_text()), rel
        else:
            assert src.read_bytes() == dst.read_bytes(), rel
