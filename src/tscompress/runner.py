"""Executing chapter notebooks with papermill: validated parameters, atomic results, resume.

A chapter run goes to a temporary folder ``<results_dir>/.tmp-<chapter>``; only when the whole
notebook succeeded is it moved into place as ``<results_dir>/<chapter>``, replacing the previous
result in one rename. A failed run leaves the previous result untouched and keeps the failed
executed notebook in ``<results_dir>/.failed/`` for inspection.

Each successful run records a fingerprint of its inputs (the notebook, the package's source, the
parameters, the data files and the fingerprints of the chapters it reads). ``tscompress book``
skips a chapter whose fingerprint has not changed, so an interrupted build resumes where it
stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ChapterError, ConfigError
from .results import project_root, read_json, write_json

__all__ = [
    "CHAPTERS",
    "ChapterOutcome",
    "chapter_names",
    "notebook_parameters",
    "coerce_parameters",
    "run_chapter",
    "fingerprint",
    "parse_params",
    "results_root",
    "resolve_datasets",
    "chapter_params",
    "ChapterTask",
    "node_resources",
    "command_inputs",
    "resolve_seeds",
    "seed_folder",
]

# chapter -> chapters whose results it reads
CHAPTERS: dict[str, tuple[str, ...]] = {
    "00_models": (),
    "01_sparsification": ("00_models",),
    "02_distillation": ("00_models",),
    "03_quantization": ("00_models",),
    "04_peft": ("00_models",),
    "05_comparison": ("00_models", "01_sparsification", "02_distillation", "03_quantization", "04_peft"),
}

# parameters the runner sets itself; users set them through dedicated options
RESERVED = {"out_dir"}


def root_or_error() -> Path:
    root = project_root()
    if root is None:
        raise ConfigError(
            "cannot find the tscompress repository (a folder with notebooks/ and _toc.yml); "
            "run from inside it or set TSCOMPRESS_ROOT"
        )
    return root


def chapter_names(root: Path | None = None) -> list[str]:
    root = root or root_or_error()
    # chapters are numbered so that a chapter only reads lower-numbered ones: name order is run order
    return [c for c in sorted(CHAPTERS) if (root / "notebooks" / f"{c}.ipynb").is_file()]


def resolve_chapter(name: str, root: Path) -> str:
    names = chapter_names(root)
    matches = [c for c in names if c == name or c.split("_", 1)[-1] == name or c.split("_", 1)[0] == name]
    if len(matches) != 1:
        raise ConfigError(f"unknown chapter {name!r}; chapters: {', '.join(names)}")
    return matches[0]


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """Name -> default value of the notebook's ``parameters`` cell, as papermill reads it (one assignment per line;
    a line papermill cannot parse is no parameter, and papermill would warn that a value passed for it is unknown)."""
    import ast

    from papermill.inspection import inspect_notebook

    params = inspect_notebook(str(notebook))
    if not params:
        raise ConfigError(f"{notebook.name} has no parameters papermill can read (a cell tagged 'parameters', one "
                          "assignment per line)")
    return {name: ast.literal_eval(p["default"]) for name, p in params.items()}


def parse_value(text: str) -> Any:
    """``-p key=value`` values: JSON literals (numbers, true/false, null, lists, objects), else text."""
    lowered = text.strip()
    if lowered in ("None", "none"):
        return None
    if lowered in ("True", "False"):
        return lowered == "True"
    try:
        return json.loads(lowered)
    except json.JSONDecodeError:
        return text


def coerce_parameters(defaults: Mapping[str, Any], given: Mapping[str, Any], chapter: str) -> tuple[dict, dict]:
    """Split ``given`` into notebook parameters and dotted profile overrides; check names and types."""
    params: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for key, value in given.items():
        if "." in key:
            overrides[key] = value
            continue
        if key not in defaults or key in RESERVED:
            known = ", ".join(k for k in defaults if k not in RESERVED)
            raise ConfigError(f"unknown parameter {key!r} for chapter {chapter}; parameters: {known}")
        default = defaults[key]
        if default is not None and value is not None:
            expected = type(default)
            ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                raise ConfigError(f"parameter {key!r} of chapter {chapter} takes {expected.__name__}, got {value!r}")
        params[key] = value
    if overrides:
        from .profiles import get_profile

        profile = params.get("profile", defaults.get("profile", "quick"))
        get_profile(profile, overrides)  # validates names and types
        merged = dict(params.get("overrides") or defaults.get("overrides") or {})
        merged.update(overrides)
        params["overrides"] = merged
    return params, overrides


def check_common(params: Mapping[str, Any], defaults: Mapping[str, Any], chapter: str) -> None:
    """Check the parameters every chapter shares before a kernel is started (fail fast, one line)."""
    merged = {**defaults, **params}
    from .profiles import PROFILES

    if "profile" in merged and merged["profile"] not in PROFILES:
        raise ConfigError(f"unknown profile {merged['profile']!r}; profiles: {', '.join(PROFILES)}")
    if "seed" in merged:
        seed = merged["seed"]
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ConfigError(f"parameter 'seed' of chapter {chapter} takes int (>= 0) or None, got {seed!r}")
    if "protocol" in merged:
        from .data import PROTOCOLS

        if merged["protocol"] not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {merged['protocol']!r}; protocols: {', '.join(PROTOCOLS)}")
    if "device" in merged:
        device = merged["device"]
        if not isinstance(device, str) or not (device in ("auto", "cpu", "mps") or device.startswith("cuda")):
            raise ConfigError(f"parameter 'device' takes auto, cpu, cuda[:N] or mps, got {device!r}")
    if "dataset" in merged:
        from .data import available

        info = available(merged["dataset"], merged.get("data_dir"))  # checks the name; never downloads
        if not info["found"] and not info["known"]:
            from .data.locate import _unknown_name_error

            error = _unknown_name_error(merged["dataset"], [Path(l["dir"]) for l in info["locations"]])
            raise ConfigError(f"chapter {chapter}: {error}")


def _kernel_manager_logging_to(log):
    """A kernel manager class whose kernels write their own stdout/stderr to the open file ``log``.

    A kernel inherits the terminal otherwise: ipykernel's start-up warnings and libzmq's assertion
    messages at shutdown would land between the command's own lines (and break its one-line
    errors). jupyter_client documents ``_async_launch_kernel`` as the place to override.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


def _hash_update_file(h: "hashlib._Hash", path: Path) -> None:
    h.update(str(path.name).encode())
    h.update(path.read_bytes())


def fingerprint(root: Path, chapter: str, parameters: Mapping[str, Any], results_dir: Path) -> str:
    """Hash of everything a chapter's result depends on."""
    from . import data as data_mod

    h = hashlib.sha256()
    h.update(chapter.encode())
    _hash_update_file(h, root / "notebooks" / f"{chapter}.ipynb")
    pkg = Path(__file__).resolve().parent
    for path in sorted(pkg.rglob("*.py")):
        h.update(str(path.relative_to(pkg)).encode())
        h.update(path.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    dataset = parameters.get("dataset")
    if dataset:
        try:
            found = data_mod.available(dataset, parameters.get("data_dir"))
        except Exception:  # the notebook will report the problem itself
            found = {}
        h.update(json.dumps(found, sort_keys=True, default=str).encode())
    for dep in CHAPTERS.get(chapter, ()):
        run = results_dir / dep / "run.json"
        h.update(read_json(run).get("fingerprint", "").encode() if run.exists() else b"missing")
    return h.hexdigest()


@dataclass
class ChapterOutcome:
    chapter: str
    status: str  # "ran" | "cached"
    seconds: float
    out_dir: Path
    notebook: Path
    summary: list[str]


def _summary(out_dir: Path) -> list[str]:
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        return list(read_json(manifest).get("summary", []))
    return []


def run_chapter(
    chapter: str,
    parameters: Mapping[str, Any],
    results_dir: str | os.PathLike,
    force: bool = False,
    progress: bool = True,
    root: Path | None = None,
) -> ChapterOutcome:
    """Execute ``notebooks/<chapter>.ipynb`` into ``<results_dir>/<chapter>`` (atomically)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    root = root or root_or_error()
    chapter = resolve_chapter(chapter, root)
    notebook = root / "notebooks" / f"{chapter}.ipynb"
    defaults = notebook_parameters(notebook)
    params, _ = coerce_parameters(defaults, dict(parameters), chapter)
    check_common(params, defaults, chapter)
    results_dir = Path(results_dir).resolve()
    for dep in CHAPTERS[chapter]:
        if not (results_dir / dep / "run.json").exists():
            raise ConfigError(f"chapter {chapter} needs the results of {dep} in {results_dir}: run `tscompress run {dep}` first")
    params["results_dir"] = str(results_dir)
    if params.get("data_dir"):
        params["data_dir"] = str(Path(params["data_dir"]).expanduser().resolve())
    final = results_dir / chapter
    fp = fingerprint(root, chapter, params, results_dir)
    run_file = final / "run.json"
    if not force and run_file.exists():
        previous = read_json(run_file)
        if previous.get("fingerprint") == fp and previous.get("status") == "ok":
            return ChapterOutcome(chapter, "cached", float(previous.get("seconds", 0.0)), final,
                                  final / f"{chapter}.ipynb", _summary(final))

    tmp = results_dir / f".tmp-{chapter}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    params["out_dir"] = str(tmp)
    executed = tmp / f"{chapter}.ipynb"
    kernel_log = tmp / "kernel.log"
    t0 = time.perf_counter()
    try:
        with open(kernel_log, "wb") as log:
            pm.execute_notebook(
                str(notebook),
                str(executed),
                parameters=params,
                kernel_name="python3",
                progress_bar=progress,
                cwd=str(root),
                log_output=False,
                stdout_file=None,
                kernel_manager_class=_kernel_manager_logging_to(log),
            )
    except PapermillExecutionError as exc:
        failed = results_dir / ".failed"
        failed.mkdir(exist_ok=True)
        kept = failed / f"{chapter}.ipynb"
        with contextlib.suppress(OSError):
            shutil.copyfile(executed, kept)
        with contextlib.suppress(OSError):
            shutil.copyfile(kernel_log, failed / f"{chapter}.kernel.log")
        shutil.rmtree(tmp, ignore_errors=True)
        evalue = str(exc.evalue).strip().splitlines()
        message = evalue[-1] if evalue else ""
        raise ChapterError(
            f"chapter {chapter} failed in cell {exc.exec_count} ({exc.ename}: {message}); "
            f"executed notebook kept at {kept}; earlier results left intact"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    stored = {k: v for k, v in params.items() if k != "out_dir"}
    write_json(tmp / "run.json", {"chapter": chapter, "status": "ok", "fingerprint": fp, "seconds": round(seconds, 2),
                                  "parameters": stored, "python": sys.executable})
    old = results_dir / f".old-{chapter}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return ChapterOutcome(chapter, "ran", seconds, final, final / f"{chapter}.ipynb", _summary(final))


# ------------------------------------------------------------------ what a command asks for
def parse_params(pairs) -> dict[str, Any]:
    """``-p key=value`` pairs as a dict (values parsed by :func:`parse_value`)."""
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise ConfigError(f"parameter {pair!r} is not of the form key=value")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"parameter {pair!r} has no name")
        out[key] = parse_value(value)
    return out


def results_root(root: Path, profile: str, results_dir: str | os.PathLike | None = None) -> Path:
    """Where a profile's results go: ``results_dir``, else ``results/<profile>`` in the repository."""
    from .profiles import get_profile

    get_profile(profile)
    return Path(results_dir).resolve() if results_dir else root / "results" / profile


def resolve_datasets(datasets: str | None, params: dict, profile: str) -> list[str]:
    """The datasets to run: ``datasets`` (comma-separated), else a ``dataset`` parameter, else the profile's
    list. A ``dataset`` notebook parameter is taken out of ``params``: each run sets its own."""
    import re

    from .profiles import get_profile

    given = params.pop("dataset", None)
    if datasets is not None:
        if given is not None:
            raise ConfigError("give the datasets either with --datasets or with -p dataset=NAME, not both")
        names = [d.strip() for d in datasets.split(",") if d.strip()]
        if not names:
            raise ConfigError("--datasets lists no dataset")
    elif given is not None:
        if not isinstance(given, str) or not given.strip():
            raise ConfigError(f"parameter 'dataset' takes a dataset name, got {given!r}")
        names = [given.strip()]
    else:
        names = list(get_profile(profile, {k: v for k, v in params.items() if "." in k}).datasets)
    bad = [d for d in names if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", d)]
    if bad:
        raise ConfigError(f"{bad[0]!r} is not a dataset name (letters, digits, '_' and '-')")
    doubles = sorted({d for d in names if names.count(d) > 1})
    if doubles:
        raise ConfigError(f"--datasets names {', '.join(doubles)} more than once")
    return names


def chapter_params(pairs, profile: str, data_dir: str | None = None) -> dict[str, Any]:
    """The notebook parameters every node of a command shares: ``-p`` pairs, the profile and the data folder."""
    params = parse_params(pairs)
    params["profile"] = profile
    if data_dir is not None:
        if not Path(data_dir).expanduser().is_dir():
            raise ConfigError(f"--data-dir {data_dir} is not a folder")
        params["data_dir"] = data_dir
    return params


def resolve_seeds(seeds: str | None, params: dict, profile: str) -> list[int] | None:
    """The seeds a command runs as separate nodes: ``seeds`` (comma-separated, ``--seeds``), else the profile's
    ``seeds``, when there are several; else ``None`` (one node per chapter). One seed given with ``--seeds``
    becomes the ``seed`` notebook parameter of every node (as ``-p seed=N`` does)."""
    from .profiles import get_profile

    if seeds is not None:
        if params.get("seed") is not None:
            raise ConfigError("give the seeds either with --seeds or with -p seed=N, not both")
        try:
            names = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds takes comma-separated integers, got {seeds!r}") from None
        if not names:
            raise ConfigError("--seeds lists no seed")
    elif params.get("seed") is not None:
        return None
    else:
        names = list(get_profile(profile, {k: v for k, v in params.items() if "." in k}).seeds)
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in names) or len(set(names)) != len(names):
        raise ConfigError(f"seeds must be distinct integers >= 0, got {names!r}")
    if len(names) == 1:
        if seeds is not None:
            params["seed"] = names[0]
        return None
    return names


SEEDS_FOLDER = "seeds"
"""Where the seeds after the first go inside a dataset's results: ``<dataset>/seeds/<seed>/<chapter>``."""


def seed_folder(dataset_dir: Path, seed: int | None, seeds: list[int] | None) -> Path:
    """The results folder of one seed's nodes: the dataset's own folder for the first seed (the run the pages show
    in full, as in a one-seed book), ``<dataset>/seeds/<seed>`` for every further one."""
    if seed is None or not seeds or seed == seeds[0]:
        return dataset_dir
    return dataset_dir / SEEDS_FOLDER / str(seed)


@dataclass
class ChapterTask:
    """One node's work, as every executor runs it: :func:`run_chapter` of ``node.chapter`` on ``node.dataset``
    (for ``node.seed``, when seeds are nodes) into that seed's folder of ``<results>/<dataset>``
    (:func:`seed_folder`). A plain picklable object, so a Ray worker can run it too."""

    root: Path
    params: dict
    results: Path
    force: bool = False
    progress: bool = True
    seeds: list[int] | None = None

    def __call__(self, node) -> ChapterOutcome:
        params = {**self.params, "dataset": node.dataset}
        if node.seed is not None:
            params["seed"] = node.seed
        return run_chapter(node.chapter, params, seed_folder(self.results / node.dataset, node.seed, self.seeds),
                           force=self.force, progress=self.progress, root=self.root)


def node_resources(profile: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What each node asks of a Ray cluster, as ``execute``'s ``resources``: the profile's ``resources`` for the
    node's dataset (``per_dataset`` changes first) with the command's ``-p`` overrides."""
    from .profiles import get_profile

    overrides = {k: v for k, v in params.items() if "." in k}

    def of(node) -> dict[str, float]:
        res = get_profile(profile, overrides, dataset=node.dataset).resources
        return {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus}

    return {"resources": of}


@dataclass
class CommandInputs:
    """What ``tscompress run`` and ``tscompress book`` both start from."""

    root: Path
    results: Path
    params: dict[str, Any]
    datasets: list[str]
    seeds: list[int] | None  # several seeds: one node per seed (:func:`resolve_seeds`)


def command_inputs(profile: str, results_dir: str | None, pairs, data_dir: str | None,
                   datasets: str | None, seeds: str | None = None) -> CommandInputs:
    """The repository, the results folder, the parameters every node shares, the datasets and the seeds of a
    command, each checked (one line on bad input)."""
    root = root_or_error()
    results = results_root(root, profile, results_dir)
    params = chapter_params(pairs, profile, data_dir)
    names = resolve_datasets(datasets, params, profile)
    return CommandInputs(root, results, params, names, resolve_seeds(seeds, params, profile))
