"""Running Jupyter Book for each edition, and ``build_book``, the whole of ``tscompress book``."""

from __future__ import annotations

import html
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ..errors import BookError, ConfigError
from ..results import atomic_write_text, write_json
from ..preflight import jupyter_book_command
from ..runner import chapter_names
from .links import link_editions
from .localize import LANGS
from .stage import stage_sources


def _run_build(src: Path, lang: str, out: Path, builder: str, log: Path) -> None:
    config, toc = LANGS[lang]
    cmd = jupyter_book_command() + ["build", str(src), "--config", str(src / config), "--toc", str(src / toc),
                             "--path-output", str(out), "--builder", builder, "-W", "--keep-going", "--all"]
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
        problems = [l for l in text if "WARNING" in l or "ERROR" in l or "Error" in l]
        first = problems[0].strip() if problems else (text[-1] if text else "no output")
        raise BookError(f"{lang} {builder} build failed ({len(problems)} problem(s)); first: {first}; full log: {log}")


def _landing(output: Path, langs: list[str], pdfs: dict[str, Path], profile: str) -> Path:
    titles = {"ru": "Русское издание", "en": "English edition"}
    items = []
    for lang in langs:
        link = f'<a href="{lang}/_build/html/index.html">{titles[lang]} (HTML)</a>'
        if lang in pdfs:
            link += f' · <a href="{html.escape(os.path.relpath(pdfs[lang], output))}">PDF</a>'
        items.append(f"<li>{link}</li>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tscompress book ({html.escape(profile)})</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}}</style></head>
<body><h1>tscompress</h1>
<p>Сжатие нейронных сетей для классификации временных рядов · Compressing neural networks for time-series
classification. Profile <code>{html.escape(profile)}</code>.</p>
<ul>{''.join(items)}</ul></body></html>
"""
    return atomic_write_text(output / "index.html", page)


def _check_outputs(out: Path, lang: str, src: Path) -> None:
    html_dir = out / "_build" / "html"
    config, toc = LANGS[lang]
    missing = []
    for line in (src / toc).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        for prefix in ("root:", "- file:"):
            if line.startswith(prefix):
                page = line[len(prefix):].strip()
                if not (html_dir / f"{page}.html").exists():
                    missing.append(f"{page}.html")
    if missing:
        raise BookError(f"{lang} edition is missing page(s): {', '.join(missing)}")


def build_book(root: Path, profile: str, datasets: list[str], params: dict[str, Any], results_dir: Path, *,
               langs: str = "ru,en", pdf: bool = False, reuse: bool = False, force: bool = False,
               output: str | os.PathLike | None = None, executor: str = "local", ray_address: str | None = None,
               seeds: list[int] | None = None) -> int:
    """Run every chapter on every dataset (and every seed of ``seeds``, each its own node) — the run graph,
    :mod:`tscompress.graph`; unchanged chapters are kept — stage the results and build the editions ``langs``
    (HTML, and PDF with ``pdf``) into ``output``."""
    from ..graph import execute, plan
    from ..preflight import preflight
    from ..runner import ChapterTask, node_resources, seed_folder

    langs = [l.strip() for l in langs.split(",") if l.strip()]
    bad = [l for l in langs if l not in LANGS]
    if bad or not langs:
        raise ConfigError(f"unknown edition(s) {', '.join(bad) or '(none)'}; choose from: {', '.join(LANGS)}")
    chapters = chapter_names(root)
    # --reuse runs no chapter: only the tools of the build itself are checked
    preflight([] if reuse else chapters, [] if reuse else datasets, params, root=root,
              executor="local" if reuse else executor, pdf=pdf, book=True)
    output = Path(output).resolve() if output else root / "_build" / profile
    output.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, str, float]] = []
    t_all = time.perf_counter()

    def elapsed() -> str:
        s = int(time.perf_counter() - t_all)
        return f"{s // 60:02d}:{s % 60:02d}"

    graph = plan(datasets, chapters, seeds=seeds)
    if reuse:
        for node in graph.nodes:
            folder = seed_folder(results_dir / node.dataset, node.seed, seeds)
            if not (folder / node.chapter / "manifest.json").exists():
                raise ConfigError(f"--reuse: no results for {node.chapter} on {node.dataset} in {folder}; "
                                  "run without --reuse first")
            steps.append((str(node), "reused", 0.0))
    else:
        def started(node, i, n):
            print(f"[{i}/{n}] {node} (elapsed {elapsed()})", flush=True)

        def finished(result):
            status = "unchanged, kept" if result.status == "cached" else result.status
            print(f"      {result.node}: {status} ({result.seconds:.0f} s)", flush=True)

        task = ChapterTask(root, params, results_dir, force=force, progress=executor == "local", seeds=seeds)
        results = execute(graph, task, executor, ray_address=ray_address,
                          **node_resources(profile, params), on_start=started, on_done=finished)
        steps += [(str(r.node), "unchanged, kept" if r.status == "cached" else r.status, r.seconds) for r in results]

    t0 = time.perf_counter()
    src = stage_sources(root, results_dir, chapters, output / "src", datasets=datasets, seeds=seeds)
    steps.append(("stage sources", "ok", time.perf_counter() - t0))
    logs = output / "logs"
    logs.mkdir(exist_ok=True)
    pdfs: dict[str, Path] = {}
    for lang in langs:
        print(f"html {lang} (elapsed {elapsed()})", flush=True)
        t0 = time.perf_counter()
        _run_build(src, lang, output / lang, "html", logs / f"html-{lang}.log")
        _check_outputs(output / lang, lang, src)
        steps.append((f"html {lang}", "ok", time.perf_counter() - t0))
    link_editions(output, langs)
    if pdf:
        for lang in langs:
            print(f"pdf {lang} (elapsed {elapsed()})", flush=True)
            t0 = time.perf_counter()
            _run_build(src, lang, output / lang, "pdflatex", logs / f"pdf-{lang}.log")
            pdf_file = output / lang / "_build" / "latex" / f"tscompress-{lang}.pdf"
            if not pdf_file.exists() or pdf_file.stat().st_size == 0:
                raise BookError(f"the {lang} PDF was not produced; see {logs / f'pdf-{lang}.log'}")
            pdfs[lang] = pdf_file
            steps.append((f"pdf {lang}", "ok", time.perf_counter() - t0))
    landing = _landing(output, langs, pdfs, profile)
    total = time.perf_counter() - t_all
    write_json(output / "build_times.json", {"profile": profile, "datasets": datasets, "seeds": seeds,
                                             "executor": executor, "steps": [
        {"step": s, "status": st, "seconds": round(sec, 1)} for s, st, sec in steps], "total_seconds": round(total, 1)})
    width = max(33, *(len(step) + 1 for step, _, _ in steps))
    print("\nstep".ljust(width + 1) + "status".ljust(18) + "seconds")
    for step, status, sec in steps:
        print(f"{step:<{width}}{status:<18}{sec:>7.0f}")
    print(f"{'total':<{width + 18}}{total:>7.0f}")
    print(f"\nlanding page: {landing}")
    for lang in langs:
        print(f"{lang} HTML:      {output / lang / '_build' / 'html' / 'index.html'}")
        if lang in pdfs:
            print(f"{lang} PDF:       {pdfs[lang]}")
    return 0
