"""The first page's account of a run: profile, data, protocol, seeds, device, versions, commit and times."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import phrases
from ..names import LIST_SEP, number
from ..results import project_root, read_json


TEXT = phrases.table("first_page")


def _t(key: str, lang: str, **kw: Any) -> str:
    return TEXT[key][lang].format(**kw)


def _chapter_seconds(results_dir: Path, chapter: str) -> float:
    """A chapter's wall time: the runner's record of its last run, else the notebook's own manifest."""
    run = results_dir / chapter / "run.json"
    if run.exists():
        return float(read_json(run).get("seconds", 0.0))
    return float(read_json(results_dir / chapter / "manifest.json").get("wall_seconds") or 0.0)


def _dataset_rows(results_dir: Path, chapters: list[str], lang: str,
                  seeds: list[int] | None = None) -> tuple[str, str, str, str, str, str]:
    """One dataset's row of the first page: name, protocol, train / val / test cases, classes and the test
    set's majority rate, channels × length, and the wall time of all its chapters (over every seed)."""
    first = read_json(results_dir / chapters[0] / "manifest.json")
    data = next(iter(first.get("data", {}).values()), {})
    sizes = data.get("sizes", {})
    split = " / ".join(number(sizes[k], lang, 0) if k in sizes else "?" for k in ("train", "val", "test"))
    majority = (data.get("majority_rate") or {}).get("test")
    seconds = sum(_all_seeds_seconds(results_dir, c, seeds) for c in chapters)
    shape = f"{data.get('n_channels', '?')} × {data.get('seq_len', '?')}"
    return (str(first.get("dataset")), f"`{first.get('protocol', '?')}`", split,
            f"{data.get('n_classes', '?')}; {number(majority, lang) if majority is not None else '—'}",
            shape, number(seconds, lang, 0))


def _all_seeds_seconds(dataset_dir: Path, chapter: str, seeds: list[int] | None) -> float:
    """A chapter's wall time summed over the seeds' runs (one run without seed nodes)."""
    from ..seeds import seed_folders

    folders = seed_folders(dataset_dir, seeds).values() if seeds else [dataset_dir]
    return sum(_chapter_seconds(folder, chapter) for folder in folders)


def manifest_markdown(results_dir: Path, chapters: list[str], lang: str,
                      datasets: list[Path] | None = None, seeds: list[int] | None = None) -> str:
    """The run manifest shown on each edition's first page, from the chapters' manifests
    (``results_dir``: the main dataset's results; ``datasets``: every dataset's folder, when there are several;
    ``seeds``: the seeds, when each ran as its own node)."""
    manifests = {c: read_json(results_dir / c / "manifest.json") for c in chapters}
    seconds = {c: _chapter_seconds(results_dir, c) for c in chapters}
    first = manifests[chapters[0]]
    env = first.get("environment", {})
    data = next(iter(first.get("data", {}).values()), {})
    sizes = data.get("sizes", {})
    git = first.get("git", {})
    protocol = first.get("protocol", "?")
    # a rubric, not a section: on the root page sections would become numbered chapters in the PDF
    lines = [f"```{{rubric}} {_t('heading', lang)}", "```", ""]
    if protocol != "official":
        n_test = sizes.get("test") or 0
        pts = number(100 / n_test, lang, 1) if n_test else "?"  # «1,6 п.п.» in the Russian edition
        key = {"tslib": "warn_tslib", "cv": "warn_cv"}.get(protocol, "warn_resample")
        body = _t(key, lang, pts=pts, k=data.get("n_folds", "k"))
        # a titled admonition: {warning} takes no title, its argument would run into the body text
        lines += [":::{admonition} " + _t("warn_title", lang), ":class: warning", "", body, ":::", ""]
    versions = ", ".join(f"{k} {env[k]}" for k in ("tscompress", "python", "torch", "aeon", "numpy") if env.get(k))
    commit = git.get("commit") or "—"
    if git.get("dirty"):
        commit += " " + _t("dirty", lang)
    split = " / ".join(str(sizes.get(k, "?")) for k in ("train", "val", "test"))
    rows = [
        (_t("profile", lang), f"`{first.get('profile')}`"),
        (_t("dataset", lang), str(first.get("dataset"))),
        (_t("protocol", lang), f"`{protocol}`"),
        (_t("splits", lang), split),
        (_t("seeds", lang), _t("seeds_nodes", lang, seeds=", ".join(map(str, seeds)), first=seeds[0]) if seeds
         else ", ".join(str(s) for s in first.get("seeds", []))),
        (_t("device", lang), _t("device_text", lang, device=first.get("device"), cpus=env.get("cpu_count"), threads=env.get("torch_threads"))),
        (_t("versions", lang), versions),
        (_t("commit", lang), f"`{commit}`"),
        (_t("lock", lang), _lock_text(env.get("lock"), lang)),
        (_t("files", lang), _files_text(data.get("files") or {}, lang)),
        (_t("built", lang), _t("when", lang, d=datetime.now(timezone.utc))),
    ]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    if seeds:  # the first seed's run, then every seed's
        every = {c: _all_seeds_seconds(results_dir, c, seeds) for c in chapters}
        lines += [f"| {_t('chapter', lang)} | {_t('wall_first', lang, first=seeds[0])} | {_t('wall_seeds', lang)} | "
                  f"{_t('finished', lang)} |", "|---|---:|---:|---|"]
        for c in chapters:
            lines.append(f"| {_chapter(c, lang)} | {number(seconds[c], lang, 0)} | {number(every[c], lang, 0)} | "
                         f"{_finished(manifests[c], lang)} |")
        lines.append(f"| **{_t('total', lang)}** | **{number(sum(seconds.values()), lang, 0)}** | **{number(sum(every.values()), lang, 0)}** | |")
    else:
        lines += [f"| {_t('chapter', lang)} | {_t('wall', lang)} | {_t('finished', lang)} |", "|---|---:|---|"]
        for c in chapters:
            lines.append(f"| {_chapter(c, lang)} | {number(seconds[c], lang, 0)} | {_finished(manifests[c], lang)} |")
        lines.append(f"| **{_t('total', lang)}** | **{number(sum(seconds.values()), lang, 0)}** | |")
    if datasets:
        lines += ["", _t("datasets_intro", lang), "",
                  "| " + " | ".join(_t(k, lang) for k in ("dataset", "protocol", "splits", "classes_majority",
                                                          "shape", "wall")) + " |",
                  "|---|---|---|---|---|---:|"]
        lines += ["| " + " | ".join(_dataset_rows(folder, chapters, lang, seeds)) + " |" for folder in datasets]
    lines += cuts_table(str(first.get("profile")), str(first.get("dataset")), lang)
    return "\n".join(lines) + "\n"


SETTINGS = phrases.table("profile_settings")
COUNTED = ("models.recipes",)
"""Settings whose value is a long list of names: the table gives how many."""


def _setting(key: str, value: Any, lang: str) -> str:
    """A profile setting's value as the first page shows it, in the edition's number format."""
    if value is None or value == []:
        return _t("cuts_none", lang)
    if key in COUNTED and isinstance(value, list):
        return str(len(value))
    if isinstance(value, list):
        parts = [_setting(key, v, lang) for v in value]
        if all(isinstance(v, list) for v in value):
            parts = [f"({p})" for p in parts]
        return (LIST_SEP[lang] if any(isinstance(v, (float, list)) for v in value) else ", ").join(parts)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return number(value, lang, digits=len(repr(value).split(".")[1].rstrip("0")) if "." in repr(value) else 0)
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def cuts_table(profile: str, dataset: str, lang: str) -> list[str]:
    """The first page's table of what ``profile`` (as run on ``dataset``) changes against the study's settings, the
    ``full`` profile (:func:`tscompress.profiles.differences`); nothing for the full profile itself."""
    from ..profiles import PROFILES, differences

    if profile not in PROFILES or profile == "full":
        return []
    rows = differences(profile, dataset)
    if not rows:
        return []
    lines = ["", f"```{{rubric}} {_t('cuts_heading', lang, profile=profile)}", "```", "",
             f"| {_t('cuts_setting', lang)} | {profile} | full |", "|---|---|---|"]
    for key, mine, theirs in rows:
        label = SETTINGS.get(key, {}).get(lang, f"`{key}`")
        lines.append(f"| {label} | {_setting(key, mine, lang)} | {_setting(key, theirs, lang)} |")
    return lines


def _chapter(chapter: str, lang: str) -> str:
    """``03_quantization`` -> ``4. Квантование``: the book's chapter number and the part of its page's title before
    the colon (``book/<lang>/<chapter>.md``, the one place the title is written); the id if there is no page."""
    root = project_root()
    page = root / "book" / lang / f"{chapter}.md" if root else None
    if page is None or not page.is_file() or not chapter[:2].isdigit():
        return chapter
    heading = next((line for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("# ")), "")
    title = heading[2:].split(":", 1)[0].strip()
    return f"{int(chapter[:2]) + 1}. {title}" if title else chapter


def _finished(manifest: dict[str, Any], lang: str) -> str:
    """When a chapter's run ended, in the edition's date format (UTC); as recorded if it does not parse."""
    text = manifest.get("finished") or ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    return _t("when", lang, d=when.astimezone(timezone.utc) if when.tzinfo else when)


def _lock_text(lock: dict[str, Any] | None, lang: str) -> str:
    """The lock the chapters ran with: its hash, and the packages installed at other versions (locked → installed)."""
    if not lock or not lock.get("lock"):
        return _t("lock_none", lang)
    differs = lock.get("differs") or {}
    if not differs:
        return _t("lock_same", lang, hash=lock["lock"])
    which = ", ".join(f"{name} {locked} → {installed or '—'}" for name, (locked, installed) in sorted(differs.items()))
    return _t("lock_differs", lang, hash=lock["lock"], which=which)


def _files_text(files: dict[str, Any], lang: str) -> str:
    """The data files by name (never the build machine's path), checksum and whether they are the official ones."""
    parts = []
    for split in ("train", "test"):
        rec = files.get(split)
        if not isinstance(rec, dict) or not rec.get("path"):
            continue
        verdict = {True: "file_official", False: "file_differs"}.get(rec.get("official"), "file_unknown")
        parts.append(f"`{Path(rec['path']).name}` (sha256 `{str(rec.get('sha256', ''))[:12]}…`): {_t(verdict, lang)}")
    return "; ".join(parts) or "—"
