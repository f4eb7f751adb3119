"""Loading a dataset: find (or download) its files, read them, split them by a protocol, standardize."""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .containers import Dataset, Split
from .download import DOWNLOAD_TIMEOUT, MANIFEST_NAME, _download, _read_manifest
from .locate import (_archive_url, _base_url, _check_name, _checksum_ok, _file_digests, _find_in, _locations,
                     _unknown_name_error, cache_dir, known_dataset_names)
from .splits import _check_args, _check_int, _missing_class_notes, _protocol_indices, _rng, _stratified_pick
from .tsfile import _Raw, _read_ts

STD_FLOOR = 1e-8


# ------------------------------------------------------------------------------------------------ loading
@dataclass
class _Located:
    source: str
    train: Path
    test: Path | None
    manifest: dict[str, Any] | None
    parsed: tuple[_Raw, _Raw | None] | None = None


def _parse_pair(train: Path, test: Path | None, hint: str) -> tuple[_Raw, _Raw | None]:
    train_raw = _read_ts(train, hint)
    test_raw = _read_ts(test, hint) if test is not None else None
    if test_raw is not None and test_raw.n_channels != train_raw.n_channels:
        raise DataError(f"{train.name} has {train_raw.n_channels} channels but {test.name} has "
                        f"{test_raw.n_channels}: the files do not belong together; {hint}")
    return train_raw, test_raw


def _locate(name: str, data_dir: str | os.PathLike[str] | None, download: bool, base_url: str | None,
            notes: list[str]) -> _Located:
    """Find the files in search order, or download (and parse, before caching) them."""
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise DataError(f"data_dir must be a path, got {data_dir!r}")
        if not Path(data_dir).expanduser().is_dir():
            raise DataError(f"data_dir {data_dir} is not a folder")
    env = os.environ.get("TSCOMPRESS_DATA_DIR")
    if env and not Path(env).expanduser().is_dir():
        raise DataError(f"TSCOMPRESS_DATA_DIR={env} is not a folder; fix or unset it")
    searched: list[Path] = []
    for source, directory in _locations(data_dir):
        searched.append(directory)
        train, test = _find_in(directory, name)
        if train is not None:
            return _Located(source, train, test, _read_manifest(train.parent))
    if name not in known_dataset_names():
        raise _unknown_name_error(name, searched)
    root = cache_dir()
    url = _archive_url(name, base_url)
    if not download:
        raise DataError(f"dataset {name} not found locally (looked in {', '.join(map(str, searched))}); put "
                        f"{name}_TRAIN.ts and {name}_TEST.ts into {root / name} or pass data_dir, "
                        f"or allow download from {url}")
    folder, manifest, (train_raw, test_raw) = _download(name, url, root, DOWNLOAD_TIMEOUT, _parse_pair)
    notes.append(f"Downloaded {url} (zip sha256 {manifest['zip_sha256']}) into {folder}.")
    train, test = _find_in(root, name)
    if train is None:  # pragma: no cover - _download guarantees TRAIN
        raise DataError(f"download of {url} produced no {name}_TRAIN.ts in {folder}")
    train_raw.path = train
    if test_raw is not None and test is not None:
        test_raw.path = test
    return _Located("download", train, test, _read_manifest(train.parent) or manifest, (train_raw, test_raw))


def _file_record(path: Path, manifest: dict[str, Any] | None, notes: list[str]) -> dict[str, Any]:
    digests = _file_digests(path)
    if manifest is not None:
        recorded = (manifest.get("files") or {}).get(path.name)
        if isinstance(recorded, dict) and recorded.get("sha256") not in (None, digests["sha256"]):
            raise DataError(f"cached file {path} changed since it was downloaded (sha256 differs from "
                            f"{path.parent / MANIFEST_NAME}); delete the folder {path.parent} to download it again")
    official = _checksum_ok(path.name, digests)
    if official is False:
        notes.append(f"{path.name} at {path.parent} is not byte-identical to the official file (checksum differs); "
                     "it was supplied locally and is used as is.")
    return {"path": str(path), "sha256": digests["sha256"], "bytes": digests["bytes"], "official": official}


def _resolve_protocol(protocol: str, name: str, has_test: bool, train_path: Path, notes: list[str]) -> str:
    if protocol == "auto":
        if has_test:
            notes.append(f"Protocol auto -> official: {name}_TEST.ts was found, so the official TEST split is "
                         "the test set.")
            return "official"
        notes.append(f"Protocol auto -> resample: no {name}_TEST.ts next to {train_path}, so the labelled TRAIN "
                     "cases are re-split (stratified, seeded).")
        return "resample"
    if protocol in ("official", "tslib") and not has_test:
        raise DataError(f"protocol {protocol!r} needs {name}_TEST.ts, which is not next to {train_path}; add the "
                        "TEST file there or use protocol='resample' (stratified re-split of TRAIN)")
    return protocol



def _standardize(cases: np.ndarray | list[np.ndarray], train_ids: np.ndarray,
                 notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel train-only standardization, NaN -> 0, right zero-padding; returns (X [n, L, C], mean, std)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(cases, np.ndarray):
            flat = np.swapaxes(cases[train_ids], 0, 1).reshape(cases.shape[1], -1)
        else:
            flat = np.concatenate([cases[i] for i in train_ids], axis=1)
        flat = np.where(np.isfinite(flat), flat, np.nan)
        mean = np.nanmean(flat, axis=1)
        std = np.nanstd(flat, axis=1)
    empty = np.isnan(mean)
    if empty.any():
        notes.append(f"Channel(s) {np.flatnonzero(empty).tolist()} have no finite value in the train part; "
                     "they are set to 0.")
    mean = np.where(empty, 0.0, mean)
    std = np.maximum(np.where(np.isnan(std), 1.0, std), STD_FLOOR)
    n_channels = len(mean)
    if isinstance(cases, np.ndarray):
        z = (cases - mean[None, :, None]) / std[None, :, None]
        X = np.ascontiguousarray(np.swapaxes(z, 1, 2), dtype=np.float32)
        total_inf = int(np.isinf(cases).sum())
    else:
        lengths = [x.shape[1] for x in cases]
        longest = max(lengths)
        X = np.zeros((len(cases), longest, n_channels), dtype=np.float32)
        total_inf = 0
        for i, x in enumerate(cases):
            total_inf += int(np.isinf(x).sum())
            X[i, :x.shape[1]] = ((x - mean[:, None]) / std[:, None]).T
        if min(lengths) != longest:
            notes.append(f"Unequal lengths ({min(lengths)}..{longest} time steps): each series was standardized "
                         f"and then right-padded with zeros to the longest length, {longest}.")
    if total_inf:
        notes.append(f"{total_inf} infinite value(s) were treated as missing.")
    bad = ~np.isfinite(X)
    n_bad = int(bad.sum())
    if n_bad:
        X[bad] = 0.0
        notes.append(f"{n_bad} missing value(s) (NaN) were set to 0 after standardization (the train mean).")
    return X, mean, std


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    protocol: str = "auto",
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.3,
    fold: int = 0,
    n_folds: int = 5,
    download: bool = True,
    base_url: str | None = None,
) -> Dataset:
    """Load a UEA/UCR classification dataset, split it by ``protocol`` and standardize it.

    Args:
        name: dataset name as in the UEA/UCR archive (case-sensitive), e.g. ``"Heartbeat"``.
        data_dir: a folder searched first for ``NAME/NAME_TRAIN.ts`` or ``NAME_TRAIN.ts``; then
            ``$TSCOMPRESS_DATA_DIR``, the cache (:func:`cache_dir`), and the datasets bundled with aeon.
        protocol: ``auto`` | ``official`` | ``resample`` | ``tslib`` | ``cv`` (see the module docstring).
        seed: seeds every split (deterministic).
        val_fraction: share of the train pool used for validation.
        test_fraction: share of all cases used for testing under ``resample``.
        fold, n_folds: test fold and number of folds under ``cv``.
        download: download ``NAME.zip`` into the cache if no local files are found.
        base_url: where ``NAME.zip`` lives; default ``$TSCOMPRESS_UEA_URL`` or :data:`DEFAULT_BASE_URL`.

    Raises:
        DataError: unknown dataset, files missing offline, download/checksum failure, corrupt ``.ts``
            file, or invalid arguments.
    """
    name = _check_name(name)
    protocol_arg = protocol
    protocol, seed, val_fraction, test_fraction, fold, n_folds = _check_args(
        protocol, seed, val_fraction, test_fraction, fold, n_folds, download)
    if base_url is not None:
        _base_url(base_url)
    notes: list[str] = []
    found = _locate(name, data_dir, download, base_url, notes)
    source, train_path, test_path, manifest = found.source, found.train, found.test, found.manifest
    protocol = _resolve_protocol(protocol, name, test_path is not None, train_path, notes)
    if found.parsed is not None:
        train_raw, test_raw = found.parsed
    else:
        hint = (f"delete {train_path.parent} to download it again" if manifest is not None
                else f"get an intact copy from {_archive_url(name, base_url)}")
        train_raw, test_raw = _parse_pair(train_path, test_path, hint)
    notes.extend(train_raw.notes + (test_raw.notes if test_raw else []))

    files: dict[str, Any] = {"source": source, "dir": str(train_path.parent),
                             "train": _file_record(train_path, manifest, notes),
                             "test": _file_record(test_path, manifest, notes) if test_path else None}
    if manifest is not None:
        files.update(manifest=str(train_path.parent / MANIFEST_NAME), zip_sha256=manifest.get("zip_sha256"),
                     url=manifest.get("url"))

    # pool TRAIN then TEST; class ids by sorted class names
    parts = [train_raw] + ([test_raw] if test_raw is not None else [])
    labels = np.concatenate([p.labels for p in parts])
    if all(isinstance(p.cases, np.ndarray) for p in parts) and len({p.cases.shape[2] for p in parts}) == 1:
        cases: np.ndarray | list[np.ndarray] = np.concatenate([p.cases for p in parts])
    else:
        cases = [x for p in parts for x in p.cases]
    classes = sorted(set(labels.tolist()))
    y = np.searchsorted(np.array(classes), labels).astype(np.int64)
    if len(classes) < 2:
        raise DataError(f"{name} has a single class ({classes[0]!r}); classification needs at least two")

    train_ids, val_ids, test_ids = _protocol_indices(protocol, y, train_raw.n, seed, val_fraction, test_fraction,
                                                     fold, n_folds, notes)
    pool_parts = {"train": train_ids, "val": val_ids, "test": test_ids}
    _missing_class_notes(y, classes, pool_parts if protocol != "tslib" else {"train": train_ids, "test": test_ids},
                         notes)

    X, mean, std = _standardize(cases, train_ids, notes)
    X_t = torch.from_numpy(X)
    y_t = torch.from_numpy(y)

    def make(ids: np.ndarray) -> Split:
        ids = np.asarray(ids, dtype=np.int64)
        return Split(X=X_t[ids], y=y_t[ids], index=ids, classes=list(classes))

    params = {"requested_protocol": protocol_arg, "seed": seed, "val_fraction": val_fraction,
              "test_fraction": test_fraction, "fold": fold, "n_folds": n_folds,
              "n_train_file": train_raw.n, "n_test_file": test_raw.n if test_raw else 0}
    return Dataset(name=name, protocol=protocol, train=make(train_ids), val=make(val_ids), test=make(test_ids),
                   classes=list(classes), mean=mean, std=std, official_test=protocol in ("official", "tslib"),
                   notes=notes, files=files, params=params)


# ---------------------------------------------------------------------------------------------- subsample
def subsample(dataset: Dataset, max_train: int | None = None, max_eval: int | None = None,
              seed: int = 0) -> Dataset:
    """A smaller copy for quick runs: at most ``max_train`` train cases and ``max_eval`` val and test cases,
    each chosen stratified (seeded). Standardization statistics stay those of the full train part."""
    for value, what in ((max_train, "max_train"), (max_eval, "max_eval")):
        if value is not None and _check_int(value, what) < 1:
            raise DataError(f"{what} must be >= 1 or None, got {value}")
    seed = _check_int(seed, "seed")
    if seed < 0:
        raise DataError(f"seed must be >= 0, got {seed}")

    def shrink(split: Split, limit: int | None, stage: int) -> Split:
        if limit is None or len(split) <= limit:
            return split
        mask = _stratified_pick(split.y.numpy(), int(limit), _rng(seed, 10, stage))
        keep = np.flatnonzero(mask)
        return Split(X=split.X[keep], y=split.y[keep], index=split.index[keep], classes=list(split.classes))

    train = shrink(dataset.train, max_train, 0)
    val = shrink(dataset.val, max_eval, 1)
    same = np.array_equal(dataset.val.index, dataset.test.index)
    test = val if same else shrink(dataset.test, max_eval, 2)
    changed = [f"{part} {len(old)} -> {len(new)}" for part, old, new in
               (("train", dataset.train, train), ("val", dataset.val, val), ("test", dataset.test, test))
               if len(old) != len(new)]
    if not changed:
        return dataset
    notes = list(dataset.notes) + [
        f"Subsampled for a quick run (stratified, seed {seed}): {', '.join(changed)} cases; standardization "
        "statistics are those of the full train part."]
    params = dict(dataset.params, max_train=max_train, max_eval=max_eval, subsample_seed=seed)
    return dataclasses.replace(dataset, train=train, val=val, test=test, notes=notes, params=params,
                               files=dict(dataset.files))

