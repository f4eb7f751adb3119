"""Wall time of the run graph under the local and the Ray executor, on the same nodes, one after the other.

    python scripts/measure_executors.py --profile smoke --datasets BasicMotions,JapaneseVowels --out /tmp/exec
    python scripts/measure_executors.py --profile quick --datasets Heartbeat,JapaneseVowels \\
        --chapters 01_sparsification,02_distillation,03_quantization,04_peft --from results/quick \\
        --data-dir ../shared/data --out /tmp/exec-quick

Each executor runs into its own fresh results folder ``<out>/<executor>``; with ``--from`` the chapters that are not
measured but read (the models chapter) are copied from there first, so both executors start from the same models.
Prints each node's time, the total of each executor and their ratio, checks that both executors produced the same
test accuracies, and writes it all to ``<out>/executors.json``. Run nothing else on the machine meanwhile: two
CPU-bound jobs side by side slow each other down many times over.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    from tscompress.graph import execute, plan
    from tscompress.runner import CHAPTERS, ChapterTask, chapter_params, node_resources, root_or_error

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--datasets", required=True)
    parser.add_argument("--chapters", default=",".join(sorted(CHAPTERS)))
    parser.add_argument("--from", dest="source", default=None, help="results folder to copy the read chapters from")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    root = root_or_error()
    datasets = [d for d in args.datasets.split(",") if d]
    chapters = [c for c in args.chapters.split(",") if c]
    needed = sorted({dep for c in chapters for dep in CHAPTERS[c]} - set(chapters))
    if needed and not args.source:
        parser.error(f"the chapters read {', '.join(needed)}: give --from with their results")
    params = chapter_params([], args.profile, args.data_dir)
    out = Path(args.out).resolve()
    report = {"profile": args.profile, "datasets": datasets, "chapters": chapters, "executors": {}}
    for executor in args.executors.split(","):
        results = out / executor
        shutil.rmtree(results, ignore_errors=True)
        for dataset in datasets:
            for chapter in needed:
                shutil.copytree(Path(args.source) / dataset / chapter, results / dataset / chapter)
        task = ChapterTask(root, params, results, force=True, progress=False)
        print(f"{executor}: {len(datasets) * len(chapters)} nodes", flush=True)
        t0 = time.perf_counter()
        done = execute(plan(datasets, chapters), task, executor, **node_resources(args.profile, params),
                       on_done=lambda r: print(f"  {r.node}: {r.status} in {r.seconds:.0f} s", flush=True))
        total = time.perf_counter() - t0
        print(f"{executor}: {total:.0f} s", flush=True)
        report["executors"][executor] = {"total_seconds": round(total, 1),
                                         "nodes": {str(r.node): round(r.seconds, 1) for r in done}}
    names = list(report["executors"])
    if len(names) == 2:
        a, b = names
        report["ratio"] = round(report["executors"][b]["total_seconds"] / report["executors"][a]["total_seconds"], 3)
        print(f"{b} / {a}: {report['ratio']:.2f}")
        import pandas as pd

        same = True
        for dataset in datasets:
            for chapter in chapters:
                x, y = (pd.read_csv(out / e / dataset / chapter / "variants.csv") for e in names)
                cols = ["id", "test_accuracy", "test_accuracy_lo", "test_accuracy_hi", "test_balanced_accuracy"]
                if not x[cols].equals(y[cols]):
                    same = False
                    print(f"  {dataset}/{chapter}: the executors' test accuracies differ")
        report["same_accuracies"] = same
        print("same test accuracies and intervals under both executors" if same else "the accuracies differ")
    (out / "executors.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
