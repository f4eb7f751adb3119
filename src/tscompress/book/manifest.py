"""The first page's account of a run: profile, data, protocol, seeds, device, versions, commit and times."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..names import number
from ..results import project_root, read_json


TEXT = {
    "heading": {"ru": "Параметры этого запуска", "en": "This run"},
    "profile": {"ru": "Профиль", "en": "Profile"},
    "dataset": {"ru": "Датасет", "en": "Dataset"},
    "protocol": {"ru": "Протокол", "en": "Protocol"},
    "splits": {"ru": "Разбиение (обучение / валидация / тест)", "en": "Split (train / validation / test)"},
    "seeds": {"ru": "Сиды", "en": "Seeds"},
    "device": {"ru": "Устройство", "en": "Device"},
    "versions": {"ru": "Версии", "en": "Versions"},
    "commit": {"ru": "Коммит", "en": "Commit"},
    "lock": {"ru": "Закреплённые версии", "en": "Locked versions"},
    "lock_same": {"ru": "`requirements.lock` (sha256 `{hash}`): установленные версии совпадают с ним",
                  "en": "`requirements.lock` (sha256 `{hash}`): the installed versions match it"},
    "lock_differs": {"ru": "`requirements.lock` (sha256 `{hash}`); установлены другие версии: {which}",
                     "en": "`requirements.lock` (sha256 `{hash}`); installed at other versions: {which}"},
    "lock_none": {"ru": "файла `requirements.lock` нет", "en": "no `requirements.lock`"},
    "dirty": {"ru": "(с незакоммиченными изменениями)", "en": "(with uncommitted changes)"},
    "built": {"ru": "Собрано", "en": "Built"},
    "files": {"ru": "Файлы данных", "en": "Data files"},
    "file_official": {"ru": "совпадает с официальным файлом", "en": "identical to the official file"},
    "file_differs": {"ru": "**не совпадает побайтно с официальным файлом** (контрольная сумма другая); использован как есть",
                     "en": "**not byte-identical to the official file** (the checksum differs); used as is"},
    "file_unknown": {"ru": "официальная контрольная сумма неизвестна", "en": "no official checksum known"},
    "chapter": {"ru": "Глава", "en": "Chapter"},
    "datasets_intro": {"ru": "Каждая глава выполнена на каждом датасете; первый — основной в книге, таблица выше описывает его.",
                       "en": "Every chapter ran on every dataset; the first is the book's main thread, the table above describes it."},
    "classes_majority": {"ru": "Классов; доля мажоритарного в тесте", "en": "Classes; test majority rate"},
    "shape": {"ru": "Каналы × длина", "en": "Channels × length"},
    "wall": {"ru": "Время счёта, с", "en": "Wall time, s"},
    "finished": {"ru": "Завершена", "en": "Finished"},
    "when": {"ru": "{d:%d.%m.%Y}, {d:%H:%M} UTC", "en": "{d:%Y-%m-%d} {d:%H:%M} UTC"},
    "total": {"ru": "Всего", "en": "Total"},
    "seeds_nodes": {"ru": "{seeds}; каждый сид — отдельный запуск каждой главы; страницы показывают сид {first}, а в разделе "
                          "«По сидам» — среднее и разброс по всем",
                    "en": "{seeds}; each seed is its own run of every chapter; the pages show seed {first} and, in their "
                          "section \"Over seeds\", the mean and spread over all of them"},
    "wall_first": {"ru": "Время счёта сида {first}, с", "en": "Wall time of seed {first}, s"},
    "wall_seeds": {"ru": "Время счёта всех сидов, с", "en": "Wall time of all seeds, s"},
    "seeds_heading": {"ru": "По сидам", "en": "Over seeds"},
    "seeds_intro": {
        "ru": "Каждая модель этой главы обучена и проверена по одному разу на каждый сид ({seeds}): от сида зависят "
              "инициализация и порядок батчей, а при протоколе resample и само разбиение. Рисунки и таблицы выше "
              "показывают сид {first}. Ниже рядом с интервалом сида {first} — среднее, стандартное отклонение и размах "
              "точности по сидам. Разброс по сидам и бутстреп-интервал отвечают на разные вопросы: первый — насколько "
              "результат зависит от случайности обучения, второй — насколько от выбора тестовых примеров.",
        "en": "Every model of this chapter was trained and tested once per seed ({seeds}): the seed sets the "
              "initialization and the order of the batches, and under the resample protocol the split as well. The "
              "figures and tables above show seed {first}. Below, beside seed {first}'s interval, are the mean, standard "
              "deviation and range of the accuracy over the seeds. The spread over seeds and the bootstrap interval "
              "answer different questions: the first how much a result depends on the randomness of training, the "
              "second how much on the choice of test cases.",
    },
    "seeds_bases": {
        "ru": "Таблица начинается с несжатых моделей из главы «Модели», которые эта глава сжимает: их разброс по "
              "сидам — мерка для разброса сжатых вариантов.",
        "en": "The table starts with the uncompressed models (from the models chapter) that this chapter compresses: "
              "their spread over seeds is the yardstick for the compressed variants' spread.",
    },
    "seeds_caption": {"ru": "{dataset}: каждая модель главы по сидам {seeds}.",
                      "en": "{dataset}: every model of the chapter over the seeds {seeds}."},
    "warn_title": {"ru": "Это не официальное разбиение", "en": "This is not the official split"},
    "warn_resample": {
        "ru": "Тестовая выборка — стратифицированная часть доступных размеченных примеров (протокол resample), а не "
              "официальный тест UEA из 205 примеров. Точности этой книги поэтому нельзя напрямую сравнивать с числами "
              "исследования: у нас другой и меньший тест, один пример = {pts} п.п. точности.",
        "en": "The test set is a stratified part of the labelled cases available (the resample protocol), not UEA's "
              "official 205-case test split. This book's accuracies are therefore not directly comparable with the "
              "study's: the test set is different and smaller, one case = {pts} accuracy points.",
    },
    "warn_tslib": {
        "ru": "Протокол tslib: валидация проводится на тестовой выборке, как в Time-Series-Library и в исследовании. "
              "Выбор эпохи по тесту делает точности оптимистичными; используйте его только для сравнения с исследованием.",
        "en": "The tslib protocol validates on the test split, as Time-Series-Library and the study did. Choosing the "
              "epoch on the test set makes the accuracies optimistic; use it only to compare with the study.",
    },
    "warn_cv": {
        "ru": "Протокол cv: одна из {k} стратифицированных частей; это не официальное разбиение.",
        "en": "The cv protocol: one of {k} stratified folds; this is not the official split.",
    },
}


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
        (_t("device", lang), f"{first.get('device')} ({env.get('cpu_count')} CPU, {env.get('torch_threads')} torch threads)"),
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
    return "\n".join(lines) + "\n"


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
