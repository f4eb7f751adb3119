"""Speed of the book's models and of their compressed forms, measured in one run on this machine.

For every model and path: milliseconds per training step (forward + backward, batch 16, train mode)
and per evaluated case (eval mode, no gradient, batch 64), each the median of ``--repeats`` timings after a warm-up
(``tscompress.latency``, the timings of the book's speed table),
and each variant's ratio to its baseline (the same architecture on its default path). Shapes are Heartbeat's
(61 channels, length 405, 2 classes) unless ``--channels/--length/--classes`` say otherwise; the data are random
(speed does not depend on the values, except TimesNet's periods, which are fixed by a seeded input).

    python scripts/bench.py                 # the table on stdout
    python scripts/bench.py --csv bench.csv --repeats 7
    python scripts/bench.py --compile       # also each model under torch.compile (inductor), compile time apart

``--compile`` answers whether ``torch.compile`` pays for the book's models on this CPU: each model's default path
compiled, its first training step (the compilation) timed apart, then the same medians, and the largest difference
between its evaluation logits and eager mode's. Measured on the 2-core AVX-512 development CPU (torch 2.13.0,
2026-12-07, ``--compile --repeats 3``): training steps 0.87x (TimesNet), 0.96x (Transformer), 0.86x (iTransformer)
of eager, evaluation 0.67x / 0.90x / 0.77x, logits within 7e-7, for 10-27 s of compilation per model and input
shape (every compressed variant and dataset compiles again). Training dominates a chapter, and it saves 4-14 %, far
from the third that would pay for the compilations: the book runs eager.

Run it alone: two torch processes on two cores slow each other many times over.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tscompress import latency, models, peft, quantize, sparsify  # noqa: E402


def compiled(rows_of_variants):
    """Each model's default path once more under ``torch.compile`` (after the eager ones)."""
    defaults = []
    for row in rows_of_variants:
        yield row
        if row[3] is None:
            defaults.append(row)
    for name, variant, module, _ in defaults:
        yield name, "torch.compile (inductor)", torch.compile(copy.deepcopy(module)), variant


def variants(c: int, length: int, k: int):
    """(model, variant, module, baseline variant name) for every path the book trains."""
    torch.manual_seed(0)
    tn = models.build_model("TimesNet", c, length, k)
    yield "TimesNet", "merged kernel (default)", tn, None
    per_kernel = copy.deepcopy(tn)
    models.set_inception_fast(per_kernel, False)
    yield "TimesNet", "per-kernel path (forced)", per_kernel, "merged kernel (default)"
    low, _ = sparsify.lowrank(tn, 0.5)
    yield "TimesNet", "low-rank 50%", low, "merged kernel (default)"
    yield "TimesNet", "magnitude-pruned 50%", sparsify.magnitude_prune(tn, 0.5), "merged kernel (default)"
    adapted = quantize.quantile_quantize(tn, 4).model
    peft.apply_lora(adapted, peft.LoraConfig(r=7, alpha=14))
    yield "TimesNet", "QLoRA r = 7 (4-bit base)", adapted, "merged kernel (default)"
    torch.manual_seed(0)
    for p in (0.0, 0.1):
        tr = models.build_model("Transformer", c, length, k, attn_dropout=p)
        yield "Transformer", f"attention dropout {p:g}", tr, None if p == 0.0 else "attention dropout 0"
    torch.manual_seed(0)
    yield "iTransformer", "default", models.build_model("iTransformer", c, length, k), None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=61)
    parser.add_argument("--length", type=int, default=405)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--csv", default=None, help="also write the table here")
    parser.add_argument("--compile", action="store_true",
                        help="also each model's default path under torch.compile (inductor); slow: compiles")
    args = parser.parse_args(argv)
    g = torch.Generator().manual_seed(0)
    x16 = torch.randn(16, args.length, args.channels, generator=g)
    y16 = torch.randint(0, args.classes, (16,), generator=g)
    x64 = torch.randn(64, args.length, args.channels, generator=g)
    rows, base, eager = [], {}, {}
    paths = variants(args.channels, args.length, args.classes)
    for name, variant, module, baseline in (compiled(paths) if args.compile else paths):
        note = ""
        if variant.startswith("torch.compile"):
            t0 = time.perf_counter()
            latency.train_step_time(module, x16, y16, repeats=1, warmup=0)  # the first call compiles
            module.eval()
            with torch.no_grad():
                diff = (module(x64) - eager[name](x64)).abs().max().item()
            note = f"  (compiled in {time.perf_counter() - t0:.0f} s; eval logits within {diff:.1e} of eager)"
        elif baseline is None:
            eager[name] = module.eval()
        step = 1000 * latency.train_step_time(module, x16, y16, repeats=args.repeats)
        case = 1000 * latency.inference_latency(module, x64, repeats=args.repeats) / len(x64)
        if baseline is None:
            base[name] = (step, case)
        ref = base[name]
        rows.append({"model": name, "variant": variant, "ms_per_step": step, "ms_per_case": case,
                     "step_ratio": step / ref[0], "case_ratio": case / ref[1], "note": note})
    width = max(len(r["model"] + " " + r["variant"]) for r in rows)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch 16 (train) / 64 (eval); "
          f"{args.channels} channels x {args.length} steps, {args.classes} classes")
    print(f"{'model / path':<{width}}  ms/step  x base  ms/case  x base")
    for r in rows:
        print(f"{r['model'] + ' ' + r['variant']:<{width}}  {r['ms_per_step']:7.0f}  {r['step_ratio']:6.2f}  "
              f"{r['ms_per_case']:7.2f}  {r['case_ratio']:6.2f}{r['note']}")
    if args.csv:
        import csv

        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
