"""Course assignment mode: build the student version of this repository and grade what comes back.

Solution regions are marked in the style of nbgrader, inside the body of a method function of
``src/tscompress/<area>/…``::

    def magnitude_prune(model, amount):
        \"\"\"Zero the ``amount`` smallest-|w| weights of every Conv2d and Linear layer. …\"\"\"
        ### BEGIN SOLUTION
        …
        ### END SOLUTION

A task is named ``<area>.<function>`` (``sparsify.magnitude_prune``); all regions of one function
form one task. Its checks are the tests decorated ``@pytest.mark.task("sparsify.magnitude_prune")``.
Markdown cells of a notebook source (``notebooks/src/NN_name.py``) may hold regions too: they are the
written analysis, replaced by an invitation to write it and left to the teacher (``manual``).

``build`` copies the tracked files of the repository, replaces the regions of the chosen areas by
``raise NotImplementedError("task …")`` (plus the docstring's summary as a comment) and writes
``STUDENT.md`` (both languages) and ``.assignment.json``. ``grade`` runs *this* repository's tests of
each task against a student's ``src`` in a subprocess with a time limit, one task at a time, so an
infinite loop, a crash or an import error costs only its own task.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .errors import ConfigError
from .results import atomic_write_text, write_json

__all__ = ["Task", "Region", "find_regions", "discover_tasks", "strip_source", "build", "grade", "AREA_CHAPTERS"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
AREA_CHAPTERS = {"sparsify": "01_sparsification", "distill": "02_distillation", "quantize": "03_quantization",
                 "peft": "04_peft"}
PLACEHOLDER = 'raise NotImplementedError("task {id}: not implemented yet (see the docstring of {function})")'
ANALYSIS = "*(Task {id}: write your analysis of the results above here.)*"
COPY_EXCLUDE = {"results", "_build", ".git"}


@dataclass
class Region:
    start: int  # 0-based line index of BEGIN
    end: int  # 0-based line index of END
    indent: str


@dataclass
class Task:
    id: str
    area: str
    file: str
    function: str
    summary: str
    chapter: str
    kind: str = "code"  # code | analysis
    tests: list[str] = field(default_factory=list)
    regions: int = 0


# ----------------------------------------------------------------------------------------- regions
def _comment_lines(text: str) -> set[int]:
    """0-based indices of lines that hold nothing but a comment (markers inside strings — e.g. this
    module's docstring — do not count)."""
    import io
    import tokenize

    lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT and not tok.line[: tok.start[1]].strip():
                lines.add(tok.start[0] - 1)
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise ConfigError(f"cannot read the source for solution markers: {exc}") from None
    return lines


def find_regions(text: str, where: str = "<text>") -> list[Region]:
    """The BEGIN/END SOLUTION regions of a Python text (markers are whole-line comments);
    unbalanced or nested markers are an error."""
    regions: list[Region] = []
    open_at: int | None = None
    indent = ""
    comments = _comment_lines(text)
    for i, line in enumerate(text.splitlines()):
        if i not in comments:
            continue
        stripped = re.sub(r"^[#\s]+", "", line).strip()
        if stripped == BEGIN.lstrip("# "):
            if open_at is not None:
                raise ConfigError(f"{where}:{i + 1}: nested {BEGIN} (the one at line {open_at + 1} is not closed)")
            open_at, indent = i, line[: len(line) - len(line.lstrip())]
        elif stripped == END.lstrip("# "):
            if open_at is None:
                raise ConfigError(f"{where}:{i + 1}: {END} without {BEGIN}")
            regions.append(Region(open_at, i, indent))
            open_at = None
    if open_at is not None:
        raise ConfigError(f"{where}:{open_at + 1}: {BEGIN} is never closed")
    return regions


def _enclosing_function(tree: ast.AST, line: int) -> tuple[ast.FunctionDef | None, str]:
    """The innermost function (and its qualified name) whose body contains 1-based ``line``."""
    best: tuple[ast.AST | None, str] = (None, "")

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if child.lineno <= line <= (child.end_lineno or child.lineno):
                    if not isinstance(child, ast.ClassDef):
                        best = (child, name)
                    visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return best  # type: ignore[return-value]


def _summary(doc: str | None) -> str:
    if not doc:
        return ""
    para = doc.strip().split("\n\n")[0]
    return " ".join(para.split())


def _area(rel: Path) -> str:
    parts = rel.parts  # src/tscompress/<area>/<file>.py or src/tscompress/<module>.py
    return parts[2] if len(parts) > 3 else Path(parts[2]).stem


def _code_tasks(root: Path, path: Path) -> dict[str, tuple[Task, list[Region]]]:
    rel = path.relative_to(root)
    text = path.read_text(encoding="utf-8")
    regions = find_regions(text, str(rel))
    if not regions:
        return {}
    tree = ast.parse(text)
    out: dict[str, tuple[Task, list[Region]]] = {}
    for region in regions:
        func, qualname = _enclosing_function(tree, region.start + 1)
        if func is None:
            raise ConfigError(f"{rel}:{region.start + 1}: a solution region must be inside a function body")
        area = _area(rel)
        task_id = f"{area}.{qualname}"
        if task_id not in out:
            task = Task(task_id, area, rel.as_posix(), qualname, _summary(ast.get_docstring(func)),
                        AREA_CHAPTERS.get(area, ""))
            out[task_id] = (task, [])
        out[task_id][1].append(region)
        out[task_id][0].regions += 1
    return out


def _analysis_tasks(root: Path, path: Path) -> dict[str, tuple[Task, list[Region]]]:
    rel = path.relative_to(root)
    regions = find_regions(path.read_text(encoding="utf-8"), str(rel))
    if not regions:
        return {}
    chapter = path.stem
    area = next((a for a, c in AREA_CHAPTERS.items() if c == chapter), re.sub(r"^\d+_", "", chapter))
    task = Task(f"{area}.analysis", area, rel.as_posix(), "", "the written analysis of the chapter's results",
                chapter, kind="analysis", regions=len(regions))
    return {task.id: (task, regions)}


def _task_tests(root: Path) -> dict[str, list[str]]:
    """``task id -> [test node ids]`` from ``@pytest.mark.task("…")`` decorators and module ``pytestmark``."""
    found: dict[str, list[str]] = {}

    def marks(node: ast.AST) -> list[str]:
        names = []
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "task"
                    and sub.args and isinstance(sub.args[0], ast.Constant) and isinstance(sub.args[0].value, str)):
                names += [a.value for a in sub.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        return names

    for path in sorted((root / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marks: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                    for t in node.targets):
                module_marks += marks(node.value)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                for task_id in module_marks + [m for d in node.decorator_list for m in marks(d)]:
                    found.setdefault(task_id, []).append(f"tests/{path.name}::{node.name}")
    return found


def discover_tasks(root: str | os.PathLike) -> dict[str, Task]:
    """Every task of the repository at ``root``, with its tests."""
    root = Path(root)
    tasks: dict[str, Task] = {}
    for path in sorted((root / "src" / "tscompress").rglob("*.py")):
        for task_id, (task, _) in _code_tasks(root, path).items():
            if task_id in tasks:
                raise ConfigError(f"task {task_id} is defined in two places")
            tasks[task_id] = task
    for path in sorted((root / "notebooks" / "src").glob("*.py")):
        for task_id, (task, _) in _analysis_tasks(root, path).items():
            tasks[task_id] = task
    for task_id, tests in _task_tests(root).items():
        if task_id not in tasks:
            raise ConfigError(f"tests are marked with task {task_id!r}, which no solution region defines "
                              f"({', '.join(tests[:2])})")
        tasks[task_id].tests = sorted(set(tests))
    return dict(sorted(tasks.items()))


# ------------------------------------------------------------------------------------------- build
def strip_source(text: str, replacements: Sequence[tuple[Region, list[str]]]) -> str:
    """``text`` with each region (BEGIN..END, inclusive) replaced by its lines."""
    lines = text.splitlines(keepends=True)
    newline = "\n"
    for region, new in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        lines[region.start: region.end + 1] = [line + newline for line in new]
    return "".join(lines)


def _code_placeholder(task: Task, region: Region) -> list[str]:
    lines = [f"{region.indent}# TODO task {task.id}: {task.summary}"] if task.summary else []
    return lines + [region.indent + PLACEHOLDER.format(id=task.id, function=task.function)]


def _tracked_files(root: Path) -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
        files = [root / p for p in out.stdout.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in root.rglob("*") if p.is_file() and not set(p.relative_to(root).parts) & COPY_EXCLUDE]
    return [p for p in files if p.is_file()]


def _student_md(tasks: Sequence[Task]) -> str:
    def rows(lang: str) -> list[str]:
        head = {"ru": "| задача | что реализовать | файл | тесты | глава |",
                "en": "| task | implement | file | tests | chapter |"}[lang]
        out = [head, "|---|---|---|---|---|"]
        for t in tasks:
            what = t.function if t.kind == "code" else {"ru": "анализ результатов (текст)",
                                                           "en": "the analysis of the results (text)"}[lang]
            tests = "<br>".join(f"`{n}`" for n in t.tests) or "—"
            out.append(f"| `{t.id}` | `{what}` — {t.summary} | `{t.file}` | {tests} | {t.chapter} |")
        return out

    return "\n".join([
        "# STUDENT.md",
        "",
        "## Задание (русский)",
        "",
        "В этой копии репозитория тела методов заменены на `raise NotImplementedError(\"task …\")`. Реализуйте "
        "каждую задачу из таблицы: что делать, описано в докстринге функции и в главе книги, которую она питает. "
        "Проверка: `python -m pytest -q` (падения, вызванные нереализованной задачей, выводятся одной строкой "
        "с её именем); одна задача: `python -m pytest -q --task ИМЯ`. Когда методы готовы, "
        "`tscompress book --profile quick --data-dir ПАПКА` пересчитывает главы и собирает книгу.",
        "",
        *rows("ru"),
        "",
        "## Assignment (English)",
        "",
        "In this copy of the repository the bodies of the methods are replaced by `raise NotImplementedError(\"task "
        "…\")`. Implement every task in the table: the function's docstring and the book chapter it feeds say what "
        "to do. Check with `python -m pytest -q` (failures caused by an unimplemented task are reported in one line "
        "naming it); one task: `python -m pytest -q --task NAME`. When the methods work, `tscompress book --profile "
        "quick --data-dir FOLDER` recomputes the chapters and builds the book.",
        "",
        *rows("en"),
        "",
    ])


def build(root: str | os.PathLike, out: str | os.PathLike, areas: Iterable[str] | None = None) -> dict:
    """Write the student version of the repository at ``root`` into ``out`` (which must not exist
    or be empty). Returns the ``.assignment.json`` record."""
    root, out = Path(root).resolve(), Path(out).resolve()
    tasks = discover_tasks(root)
    known = sorted({t.area for t in tasks.values()})
    chosen = sorted(set(areas)) if areas else known
    unknown = [a for a in chosen if a not in known]
    if unknown:
        raise ConfigError(f"unknown area(s) {', '.join(unknown)}; areas with tasks: {', '.join(known) or 'none'}")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty")
    if out == root or root in out.parents:
        raise ConfigError("the student version must go outside the repository")
    selected = [t for t in tasks.values() if t.area in chosen]
    tmp = Path(tempfile.mkdtemp(prefix=".student-", dir=out.parent if out.parent.exists() else None))
    try:
        for path in _tracked_files(root):
            rel = path.relative_to(root)
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        by_file: dict[str, list[tuple[Region, list[str]]]] = {}
        for path in sorted((root / "src" / "tscompress").rglob("*.py")):
            for task_id, (task, regions) in _code_tasks(root, path).items():
                if task.area in chosen:
                    by_file.setdefault(task.file, []).extend((r, _code_placeholder(task, r)) for r in regions)
        for path in sorted((root / "notebooks" / "src").glob("*.py")):
            for task_id, (task, regions) in _analysis_tasks(root, path).items():
                if task.area in chosen:
                    by_file.setdefault(task.file, []).extend(
                        (r, [f"{r.indent}# " + ANALYSIS.format(id=task.id)]) for r in regions)
        for rel, repl in by_file.items():
            src = root / rel
            atomic_write_text(tmp / rel, strip_source(src.read_text(encoding="utf-8"), repl))
        _regenerate_notebooks(root, tmp)
        atomic_write_text(tmp / "STUDENT.md", _student_md(selected))
        record = {"built_from": _commit(root), "built": time.strftime("%Y-%m-%d %H:%M:%S"), "areas": chosen,
                  "tasks": [asdict(t) for t in selected]}
        write_json(tmp / ".assignment.json", record)
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


def _regenerate_notebooks(root: Path, tmp: Path) -> None:
    """Notebooks of the student copy, made from its (stripped) sources, without outputs."""
    script = root / "scripts" / "nb_from_py.py"
    sources = sorted((tmp / "notebooks" / "src").glob("*.py"))
    if not script.exists() or not sources:
        return
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("_nb_from_py", script)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    for src in sources:
        nbformat.write(mod.build(src.read_text(encoding="utf-8")), tmp / "notebooks" / f"{src.stem}.ipynb")


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


# ------------------------------------------------------------------------------------------- grade
@dataclass
class Grade:
    task: str
    status: str  # passed | failed | not attempted | manual | no tests
    tests: int
    passed: int
    seconds: float
    detail: str = ""


def _attempted(student: Path, task: Task) -> bool:
    path = student / task.file
    if not path.exists():
        return False
    needle = f'NotImplementedError("task {task.id}:'
    return needle not in path.read_text(encoding="utf-8", errors="replace")


def _run_task_tests(root: Path, student: Path, task: Task, timeout: float) -> Grade:
    """The reference tests of one task against the student's package, in a fresh subprocess."""
    with tempfile.TemporaryDirectory(prefix="grade-") as work:
        work_dir = Path(work)
        shutil.copytree(student / "src", work_dir / "src")
        for extra in ("notebooks", "scripts", "book"):
            if (student / extra).is_dir():
                shutil.copytree(student / extra, work_dir / extra)
        for name in ("_toc.yml", "_toc.en.yml", "_config.yml", "_config.en.yml", "pyproject.toml",
                     "environment.yml", "README.md"):
            if (student / name).exists():
                shutil.copy2(student / name, work_dir / name)
        shutil.copytree(root / "tests", work_dir / "tests")  # the reference behaviour, not the student's tests
        env = dict(os.environ, PYTHONPATH=str(work_dir / "src"), TSCOMPRESS_ROOT=str(work_dir))
        report = work_dir / "report.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--task", task.id,
               f"--task-report={report}", "tests"]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=work_dir, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Grade(task.id, "failed", len(task.tests), 0, time.perf_counter() - t0,
                         f"time limit of {timeout:.0f} s exceeded")
        seconds = time.perf_counter() - t0
        counts = json.loads(report.read_text()) if report.exists() else {}
        n, ok = int(counts.get("tests", 0)), int(counts.get("passed", 0))
        if proc.returncode == 0 and n > 0 and ok == n:
            return Grade(task.id, "passed", n, ok, seconds)
        lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
        detail = next((l for l in lines if l.startswith(("E ", "ERROR", "FAILED"))), lines[-1] if lines else "")
        return Grade(task.id, "failed", max(n, len(task.tests)), ok, seconds, detail.strip()[:200])


def grade(student: str | os.PathLike, root: str | os.PathLike, timeout: float = 300.0,
          tasks: Iterable[str] | None = None) -> list[Grade]:
    """Grade the student repository at ``student`` with the tests of the reference repository ``root``."""
    student, root = Path(student).resolve(), Path(root).resolve()
    record_path = student / ".assignment.json"
    if not (student / "src" / "tscompress").is_dir() or not record_path.exists():
        raise ConfigError(f"{student} is not a student repository built by `tscompress assignment build`")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    reference = discover_tasks(root)
    wanted = [t["id"] for t in record.get("tasks", [])]
    if tasks:
        unknown = [t for t in tasks if t not in wanted]
        if unknown:
            raise ConfigError(f"unknown task(s) {', '.join(unknown)}; tasks: {', '.join(wanted)}")
        wanted = [t for t in wanted if t in set(tasks)]
    grades = []
    for task_id in wanted:
        task = reference.get(task_id)
        if task is None:
            grades.append(Grade(task_id, "failed", 0, 0, 0.0, "task unknown to the reference repository"))
        elif task.kind == "analysis":
            grades.append(Grade(task_id, "manual", 0, 0, 0.0, f"read {task.file}"))
        elif not task.tests:
            grades.append(Grade(task_id, "no tests", 0, 0, 0.0, "the reference has no tests for this task"))
        elif not _attempted(student, task):
            grades.append(Grade(task_id, "not attempted", len(task.tests), 0, 0.0))
        else:
            grades.append(_run_task_tests(root, student, task, timeout))
    return grades


def score(grades: Sequence[Grade]) -> tuple[int, int]:
    """(passed, graded): tasks graded automatically and how many of them passed."""
    graded = [g for g in grades if g.status in ("passed", "failed", "not attempted")]
    return sum(g.status == "passed" for g in graded), len(graded)


def format_grades(grades: Sequence[Grade]) -> str:
    width = max([len(g.task) for g in grades] + [4])
    lines = [f"{'task'.ljust(width)}  {'status'.ljust(13)}  tests  seconds  detail"]
    for g in grades:
        tests = f"{g.passed}/{g.tests}" if g.tests else "-"
        lines.append(f"{g.task.ljust(width)}  {g.status.ljust(13)}  {tests.rjust(5)}  {g.seconds:7.1f}  {g.detail}")
    passed, graded = score(grades)
    pct = 100.0 * passed / graded if graded else 0.0
    lines.append(f"score: {passed}/{graded} tasks ({pct:.0f}%)")
    return "\n".join(lines)


def grades_json(grades: Sequence[Grade]) -> dict:
    passed, graded = score(grades)
    return {"passed": passed, "graded": graded, "score": passed / graded if graded else 0.0,
            "tasks": [asdict(g) for g in grades]}


def task_of_failure(text: str) -> str | None:
    """The task named by a failure's text (a placeholder's NotImplementedError), if any."""
    match = re.search(r"NotImplementedError:? \(?['\"]?task ([A-Za-z0-9_.]+):", text)
    return match.group(1) if match else None
