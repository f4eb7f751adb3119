"""Command line: ``tscompress run CHAPTER`` and ``tscompress book``.

Errors caused by the input (unknown chapter, profile, parameter or dataset, missing or corrupt data,
wrong types) end with one line ``error: …`` and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .errors import ConfigError, TscompressError

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="smoke | quick | full (default: quick)")
    parser.add_argument("--data-dir", default=None, help="folder with NAME/NAME_TRAIN.ts (and NAME_TEST.ts); "
                        "default: $TSCOMPRESS_DATA_DIR, the download cache, or a download")
    parser.add_argument("--datasets", default=None, metavar="A,B",
                        help="comma-separated UEA/UCR dataset names, each run into <results-dir>/<name>/ "
                             "(default: the profile's list; the first is the book's main thread)")
    parser.add_argument("--seeds", default=None, metavar="0,1,2",
                        help="comma-separated seeds (default: the profile's); with several, each seed is its own "
                             "run of every chapter, the first into <results-dir>/<dataset>/, the others into "
                             "<results-dir>/<dataset>/seeds/<seed>/, and the pages add their mean and spread")
    parser.add_argument("--results-dir", default=None, help="default: results/<profile> in the repository; "
                        "each dataset's chapters go to <results-dir>/<dataset>/<chapter>")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a notebook parameter (dataset=BasicMotions, seed=1) or a profile setting "
                             "with a dotted name (models.epochs=5); repeatable")
    parser.add_argument("--force", action="store_true", help="run even if the inputs have not changed")
    parser.add_argument("--executor", default="local", choices=["local", "ray"],
                        help="local: one chapter after another in this process (default); ray: every (dataset, "
                             "seed, chapter) as a Ray task once its inputs exist (pip install 'tscompress[ray]')")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="with --executor ray: an existing cluster ('auto' or host:port); default: a local Ray "
                             "on this machine's CPUs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tscompress", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute one chapter notebook with papermill")
    run.add_argument("chapter", help="e.g. 00_models (or just 'models' / '00')")
    _common(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    book = sub.add_parser("book", help="run every chapter (skipping unchanged ones) and build the book")
    _common(book)
    book.add_argument("--lang", default="ru,en", help="editions to build: ru, en or ru,en (default)")
    book.add_argument("--pdf", action="store_true", help="also build the PDFs (needs xelatex)")
    book.add_argument("--reuse", action="store_true", help="render from the results on disk; execute nothing")
    book.add_argument("--output", default=None, help="where the built book goes (default: _build/<profile>)")

    sub.add_parser("list", help="list chapters and profiles")

    assign = sub.add_parser("assignment", help="course mode: build the student version, grade it")
    asub = assign.add_subparsers(dest="action", required=True)
    abuild = asub.add_parser("build", help="write the student version of this repository")
    abuild.add_argument("out_dir")
    abuild.add_argument("--areas", default=None, help="comma-separated areas (default: all): sparsify,quantize,…")
    agrade = asub.add_parser("grade", help="run the reference tests of each task against a student repository")
    agrade.add_argument("student_dir")
    agrade.add_argument("--timeout", type=float, default=300.0, help="seconds per task (default 300)")
    agrade.add_argument("--json", default=None, help="also write the grades as JSON here")
    agrade.add_argument("--task", action="append", default=[], help="grade only this task (repeatable)")
    asub.add_parser("tasks", help="list the tasks of this repository")
    return parser


def cmd_run(args) -> int:
    from .graph import execute, plan
    from .preflight import preflight
    from .runner import ChapterTask, command_inputs, node_resources, resolve_chapter, root_or_error, seed_folder

    chapter = resolve_chapter(args.chapter, root_or_error())  # an unknown chapter fails before anything is printed
    given = command_inputs(args.profile, args.results_dir, args.param, args.data_dir, args.datasets, args.seeds)
    preflight([chapter], given.datasets, given.params, root=given.root, executor=args.executor)
    t0 = time.perf_counter()
    task = ChapterTask(given.root, given.params, given.results, force=args.force,
                       progress=not args.quiet and args.executor == "local", seeds=given.seeds)

    def start(node, i, n):
        seed = "" if node.seed is None else f", seed {node.seed}"
        folder = seed_folder(given.results / node.dataset, node.seed, given.seeds)
        print(f"tscompress: running {chapter} on {node.dataset} (profile {args.profile}{seed}) into {folder}", flush=True)

    execute(plan(given.datasets, [chapter], seeds=given.seeds), task, args.executor, ray_address=args.ray_address,
            **node_resources(args.profile, given.params), on_start=start,
            on_done=lambda result: _report(result.outcome))
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


def _report(outcome) -> None:
    how = "unchanged since its last run; kept" if outcome.status == "cached" else f"ran in {outcome.seconds:.0f} s"
    print(f"{outcome.chapter}: {how}")
    print(f"  results:  {outcome.out_dir}")
    print(f"  notebook: {outcome.notebook}")
    manifest = outcome.out_dir / "manifest.json"
    if manifest.exists():
        from .results import read_json

        files = read_json(manifest).get("files", [])
        for kind, ext in (("tables", ".csv"), ("figures", ".png")):
            shown = [f for f in files if f.endswith(ext)]
            if shown:
                print(f"  {kind}:".ljust(12) + ", ".join(shown))
        print(f"  manifest: {manifest}")
    for line in outcome.summary:
        print(f"  {line}")


def cmd_book(args) -> int:
    from .book import build_book
    from .runner import command_inputs

    given = command_inputs(args.profile, args.results_dir, args.param, args.data_dir, args.datasets, args.seeds)
    return build_book(given.root, args.profile, given.datasets, given.params, given.results, langs=args.lang,
                      pdf=args.pdf, reuse=args.reuse, force=args.force, output=args.output, executor=args.executor,
                      ray_address=args.ray_address, seeds=given.seeds)


def cmd_list(args) -> int:
    from .profiles import PROFILES
    from .runner import chapter_names

    print("chapters: " + ", ".join(chapter_names()))
    for name, values in PROFILES.items():
        print(f"profile {name}: {values['description']}")
    return 0


def cmd_assignment(args) -> int:
    from . import assignment
    from .runner import root_or_error

    root = root_or_error()
    if args.action == "tasks":
        for task in assignment.discover_tasks(root).values():
            print(f"{task.id}: {task.file} ({len(task.tests)} tests) — {task.summary}")
        return 0
    if args.action == "build":
        areas = [a.strip() for a in args.areas.split(",") if a.strip()] if args.areas else None
        record = assignment.build(root, args.out_dir, areas)
        print(f"student version in {Path(args.out_dir).resolve()}: {len(record['tasks'])} tasks in "
              f"{', '.join(record['areas'])}; see STUDENT.md there")
        for task in record["tasks"]:
            print(f"  {task['id']}: {task['file']} ({len(task['tests'])} tests)")
        return 0
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    grades = assignment.grade(args.student_dir, root, timeout=args.timeout, tasks=args.task or None)
    print(assignment.format_grades(grades))
    if args.json:
        from .results import write_json

        write_json(args.json, assignment.grades_json(grades))
        print(f"grades written to {Path(args.json).resolve()}")
    passed, graded = assignment.score(grades)
    return 0 if graded and passed == graded else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "book": cmd_book, "list": cmd_list, "assignment": cmd_assignment}
    try:
        return handlers[args.command](args)
    except TscompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; finished chapters are kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("TSCOMPRESS_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set TSCOMPRESS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
