"""Data loading: protocols, train-only standardization, lookup, download cache, and clean errors.

Everything runs offline on the small UEA datasets bundled with aeon (BasicMotions, JapaneseVowels) and on
files the tests write; the download path is exercised against a local ``http.server``.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import threading
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from tscompress import data
from tscompress.data import Dataset, available, git_blob_sha1, load_dataset, subsample
from tscompress.data.locate import _aeon_data_dir
from tscompress.errors import DataError

AEON_DATA = Path(_aeon_data_dir() or "")
BM_TRAIN = AEON_DATA / "BasicMotions" / "BasicMotions_TRAIN.ts"
BM_TEST = AEON_DATA / "BasicMotions" / "BasicMotions_TEST.ts"
# a real UEA name that is not bundled with aeon, so a load of it must come from data_dir, cache or download
REMOTE = "RacketSports"
# read before the autouse fixture clears it: the optional check on the real (offline) Heartbeat copy
REAL_DATA_DIR = os.environ.get("TSCOMPRESS_DATA_DIR") or ""


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No user data folder, an empty private cache, and no network unless a test serves it locally."""
    monkeypatch.delenv("TSCOMPRESS_DATA_DIR", raising=False)
    monkeypatch.delenv("TSCOMPRESS_UEA_URL", raising=False)
    monkeypatch.setenv("TSCOMPRESS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def ids(ds: Dataset) -> tuple[set[int], set[int], set[int]]:
    return set(ds.train.index.tolist()), set(ds.val.index.tolist()), set(ds.test.index.tolist())


def counts(ds: Dataset, index: np.ndarray) -> np.ndarray:
    """Class counts of pooled case ids, recovered from the returned splits."""
    y_of = {}
    for split in (ds.train, ds.val, ds.test):
        y_of.update(zip(split.index.tolist(), split.y.tolist()))
    return np.bincount([y_of[i] for i in index.tolist()], minlength=ds.n_classes)


def pooled_counts(ds: Dataset) -> np.ndarray:
    everything = np.array(sorted(set().union(*ids(ds))))
    return counts(ds, everything)


def assert_stratified(part: np.ndarray, pool: np.ndarray, fraction: float) -> None:
    assert np.all(np.abs(part - fraction * pool) <= 1 + 1e-9), (part, pool, fraction)


# ----------------------------------------------------------------------------------------------- protocols
@pytest.mark.parametrize("name", ["BasicMotions", "JapaneseVowels"])
def test_official(name):
    ds = load_dataset(name, protocol="official", seed=0)
    tr, va, te = ids(ds)
    n_train, n_test = ds.params["n_train_file"], ds.params["n_test_file"]
    assert not (tr & va or tr & te or va & te)
    assert tr | va == set(range(n_train)) and te == set(range(n_train, n_train + n_test))
    assert ds.official_test and ds.protocol == "official"
    assert_stratified(counts(ds, ds.val.index), counts(ds, np.arange(n_train)), 0.2)
    for split in (ds.train, ds.val, ds.test):
        assert split.X.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.X.shape == (len(split), ds.seq_len, ds.n_channels) and len(split.index) == len(split)
        assert set(split.y.tolist()) == set(range(ds.n_classes))  # every class in every split


def test_classes_sorted_and_shapes():
    ds = load_dataset("BasicMotions")
    assert ds.classes == sorted(ds.classes) and ds.n_classes == 4
    assert (ds.n_channels, ds.seq_len) == (6, 100)
    assert ds.train.class_counts() == {c: 8 for c in ds.classes}
    assert ds.train.majority_rate() == pytest.approx(0.25)
    summary = ds.describe()
    json.dumps(summary)  # serialisable
    assert summary["sizes"] == {"train": 32, "val": 8, "test": 40}
    assert summary["files"]["train"]["sha256"] == hashlib.sha256(BM_TRAIN.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["BasicMotions", "JapaneseVowels"])
def test_resample(name):
    ds = load_dataset(name, protocol="resample", seed=3, val_fraction=0.25, test_fraction=0.3)
    tr, va, te = ids(ds)
    n = ds.params["n_train_file"] + ds.params["n_test_file"]
    assert not (tr & va or tr & te or va & te) and tr | va | te == set(range(n))
    assert len(te) == round(0.3 * n)
    pool = pooled_counts(ds)
    test_c = counts(ds, ds.test.index)
    assert_stratified(test_c, pool, 0.3)
    assert_stratified(counts(ds, ds.val.index), pool - test_c, 0.25)
    assert not ds.official_test
    assert any("NOT the official" in note and f"{100 / len(te):.2f}" in note for note in ds.notes)


def test_tslib():
    ds = load_dataset("BasicMotions", protocol="tslib")
    tr, va, te = ids(ds)
    assert va == te == set(range(40, 80)) and tr == set(range(40))  # val == test by design
    assert torch.equal(ds.val.X, ds.test.X)
    assert any("optimistic" in note for note in ds.notes)


@pytest.mark.parametrize("name", ["BasicMotions", "JapaneseVowels"])
def test_cv_tests_every_case_once(name):
    n_folds = 4
    tested: list[int] = []
    first = None
    for fold in range(n_folds):
        ds = load_dataset(name, protocol="cv", fold=fold, n_folds=n_folds, seed=1)
        tr, va, te = ids(ds)
        n = ds.params["n_train_file"] + ds.params["n_test_file"]
        assert not (tr & va or tr & te or va & te) and tr | va | te == set(range(n))
        pool = pooled_counts(ds)
        test_c = counts(ds, ds.test.index)
        assert_stratified(test_c, pool, 1 / n_folds)
        assert_stratified(counts(ds, ds.val.index), pool - test_c, 0.2)
        tested += sorted(te)
        first = first or ds
    assert sorted(tested) == list(range(n)) and len(tested) == len(set(tested))
    assert first.describe()["n_folds"] == n_folds


@pytest.mark.parametrize("protocol", ["official", "resample", "cv"])
def test_seeded_and_deterministic(protocol):
    a = load_dataset("BasicMotions", protocol=protocol, seed=0)
    b = load_dataset("BasicMotions", protocol=protocol, seed=0)
    c = load_dataset("BasicMotions", protocol=protocol, seed=1)
    for x, y in ((a.train, b.train), (a.val, b.val), (a.test, b.test)):
        assert np.array_equal(x.index, y.index) and torch.equal(x.X, y.X) and torch.equal(x.y, y.y)
    assert not np.array_equal(a.val.index, c.val.index)
    if protocol != "official":
        assert not np.array_equal(a.test.index, c.test.index)


def test_auto_is_official_when_test_exists():
    ds = load_dataset("BasicMotions")
    assert ds.protocol == "official" and any("auto -> official" in note for note in ds.notes)


# ------------------------------------------------------------------------------------ standardization
def _raw(path: Path) -> np.ndarray:
    from aeon.datasets import load_from_ts_file

    X, _ = load_from_ts_file(str(path))
    return np.asarray(X, dtype=np.float64)  # [n, C, L]


@pytest.mark.parametrize("protocol", ["official", "resample", "cv"])
def test_train_only_statistics(protocol):
    ds = load_dataset("BasicMotions", protocol=protocol, seed=2)
    raw = np.concatenate([_raw(BM_TRAIN), _raw(BM_TEST)])  # pooled ids: TRAIN then TEST
    train_raw = raw[ds.train.index]
    assert np.allclose(ds.mean, train_raw.mean(axis=(0, 2)))
    assert np.allclose(ds.std, train_raw.std(axis=(0, 2)))
    X = ds.train.X.double()
    assert torch.allclose(X.mean(dim=(0, 1)), torch.zeros(6, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(X.std(dim=(0, 1), unbiased=False), torch.ones(6, dtype=torch.float64), atol=1e-4)
    # val/test use the same (train) statistics
    expected = (raw[ds.test.index] - ds.mean[None, :, None]) / ds.std[None, :, None]
    assert np.allclose(ds.test.X.numpy(), expected.transpose(0, 2, 1), atol=1e-5)


def test_unequal_length_is_padded_after_standardization():
    ds = load_dataset("JapaneseVowels", protocol="official")
    assert (ds.n_channels, ds.seq_len, ds.n_classes) == (12, 29, 9)
    assert any("padded" in note for note in ds.notes)
    from aeon.datasets import load_from_ts_file

    series, _ = load_from_ts_file(str(AEON_DATA / "JapaneseVowels" / "JapaneseVowels_TRAIN.ts"))
    flat = np.concatenate([series[i] for i in ds.train.index], axis=1)
    assert np.allclose(ds.mean, flat.mean(axis=1)) and np.allclose(ds.std, flat.std(axis=1))
    row = {i: k for k, i in enumerate(ds.train.index.tolist())}
    i = int(ds.train.index[0])
    length = series[i].shape[1]
    x = ds.train.X[row[i]].numpy()
    assert np.allclose(x[:length], ((series[i] - ds.mean[:, None]) / ds.std[:, None]).T, atol=1e-5)
    assert np.all(x[length:] == 0)


def test_missing_values_become_zero(tmp_path):
    folder = tmp_path / "d" / "Gappy"
    folder.mkdir(parents=True)
    lines = ["@problemName Gappy", "@timeStamps false", "@missing true", "@univariate true", "@equalLength true",
             "@classLabel true a b", "@data"]
    rng = np.random.default_rng(0)
    for k in range(12):
        values = [f"{v:.4f}" for v in rng.normal(size=8)]
        if k == 0:
            values[3] = "?"
        lines.append(",".join(values) + (":a" if k % 2 else ":b"))
    (folder / "Gappy_TRAIN.ts").write_text("\n".join(lines) + "\n")
    ds = load_dataset("Gappy", data_dir=tmp_path / "d", protocol="resample", test_fraction=0.25)
    assert all(torch.isfinite(s.X).all() for s in (ds.train, ds.val, ds.test))
    assert any("NaN" in note for note in ds.notes)


# ----------------------------------------------------------------------------------------- TRAIN only
def test_train_only_folder(tmp_path):
    (tmp_path / "d" / "BasicMotions").mkdir(parents=True)
    shutil.copy(BM_TRAIN, tmp_path / "d" / "BasicMotions" / "BasicMotions_TRAIN.ts")
    ds = load_dataset("BasicMotions", data_dir=tmp_path / "d")
    assert ds.protocol == "resample" and not ds.official_test
    assert any("auto -> resample" in note for note in ds.notes)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 40 and len(ds.test) == 12
    assert ds.files["source"] == "data_dir" and ds.files["test"] is None
    for protocol in ("official", "tslib"):
        with pytest.raises(DataError, match="resample"):
            load_dataset("BasicMotions", data_dir=tmp_path / "d", protocol=protocol)
    info = available("BasicMotions", data_dir=tmp_path / "d")
    assert info["source"] == "data_dir" and info["test"] is None
    assert any(loc["source"] == "aeon" and loc["test"] for loc in info["locations"])


def test_flat_folder_layout(tmp_path):
    shutil.copy(BM_TRAIN, tmp_path / "BasicMotions_TRAIN.ts")
    shutil.copy(BM_TEST, tmp_path / "BasicMotions_TEST.ts")
    ds = load_dataset("BasicMotions", data_dir=tmp_path)
    assert ds.protocol == "official" and ds.files["dir"] == str(tmp_path)


def test_env_data_dir_before_cache(tmp_path, monkeypatch):
    (tmp_path / "env" / REMOTE).mkdir(parents=True)
    shutil.copy(BM_TRAIN, tmp_path / "env" / REMOTE / f"{REMOTE}_TRAIN.ts")
    monkeypatch.setenv("TSCOMPRESS_DATA_DIR", str(tmp_path / "env"))
    ds = load_dataset(REMOTE, download=False)
    assert ds.files["source"] == "TSCOMPRESS_DATA_DIR" and ds.protocol == "resample"


def test_few_cases_per_class_fall_back_with_a_note(tmp_path):
    lines = ["@problemName Tiny", "@univariate true", "@equalLength true", "@classLabel true a b c", "@data"]
    labels = ["a"] * 6 + ["b"] * 5 + ["c"]  # class c has a single case
    lines += [f"{k},{k + 1},{k % 3}:{lab}" for k, lab in enumerate(labels)]
    (tmp_path / "Tiny_TRAIN.ts").write_text("\n".join(lines) + "\n")
    ds = load_dataset("Tiny", data_dir=tmp_path, protocol="resample")
    assert len(ds.train) + len(ds.val) + len(ds.test) == 12
    assert 2 in ds.train.y.tolist()  # the singleton stays in train
    assert any("too few cases" in note for note in ds.notes)
    cv = load_dataset("Tiny", data_dir=tmp_path, protocol="cv", n_folds=3)
    assert len(cv.test) == 4


def test_splits_without_room_to_stratify_still_have_their_sizes(tmp_path):
    """Fewer picks than classes, or every class smaller than the folds: scikit-learn cannot stratify, the size wins."""
    lines = ["@problemName Pairs", "@univariate true", "@equalLength true", "@classLabel true a b c d", "@data"]
    lines += [f"{k},{k + 1},{k % 3}:{'abcd'[k % 4]}" for k in range(8)]  # two cases per class
    (tmp_path / "Pairs_TRAIN.ts").write_text("\n".join(lines) + "\n")
    cv = [load_dataset("Pairs", data_dir=tmp_path, protocol="cv", n_folds=4, fold=f, val_fraction=0.3)
          for f in range(4)]
    assert sorted(i for ds in cv for i in ds.test.index.tolist()) == list(range(8))
    ds = load_dataset("BasicMotions", protocol="official")
    small = subsample(ds, max_train=2, max_eval=3, seed=1)
    assert (len(small.train), len(small.val), len(small.test)) == (2, 3, 3)
    assert subsample(ds, max_train=2, max_eval=3, seed=1).train.index.tolist() == small.train.index.tolist()


def test_blank_lines_and_nan_labels(tmp_path):
    """aeon rejects blank lines after @data and rewrites 'nan' inside labels; both are handled."""
    lines = ["@problemName Fruit", "@univariate true", "@equalLength true", "@classLabel true banana apple", "@data"]
    lines += [f"{k},{k * 2},{k % 4}:{'banana' if k % 2 else 'apple'}" for k in range(10)]
    (tmp_path / "Fruit_TRAIN.ts").write_text("\n".join(lines) + "\n\n\n")
    ds = load_dataset("Fruit", data_dir=tmp_path, protocol="resample")
    assert ds.classes == ["apple", "banana"]
    assert any("blank line" in note for note in ds.notes)


def test_subsample_is_stratified_and_keeps_statistics():
    ds = load_dataset("BasicMotions", protocol="official")
    small = subsample(ds, max_train=12, max_eval=8, seed=0)
    assert (len(small.train), len(small.val), len(small.test)) == (12, 8, 8)
    assert set(small.train.index) <= set(ds.train.index) and set(small.test.index) <= set(ds.test.index)
    assert list(small.train.class_counts().values()) == [3, 3, 3, 3]
    assert np.array_equal(small.mean, ds.mean) and any("Subsampled" in note for note in small.notes)
    tslib = subsample(load_dataset("BasicMotions", protocol="tslib"), max_eval=10)
    assert np.array_equal(tslib.val.index, tslib.test.index)
    assert subsample(ds) is ds
    with pytest.raises(DataError):
        subsample(ds, max_train=0)


# ------------------------------------------------------------------------------------------------- errors
@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_unknown_dataset_without_network(no_network):
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("NoSuchDatasetAnywhere")
    with pytest.raises(DataError, match="did you mean 'Heartbeat'"):
        load_dataset("heartbeat")
    assert available("NoSuchDatasetAnywhere")["found"] is False


def test_known_dataset_offline_without_download(no_network, tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "cache" / REMOTE)):
        load_dataset(REMOTE, download=False)


@pytest.mark.parametrize("content", [
    os.urandom(3000),                                                    # garbage bytes
    BM_TRAIN.read_bytes()[: len(BM_TRAIN.read_bytes()) // 2],            # truncated mid-file
    BM_TRAIN.read_bytes()[:-5],                                          # truncated inside the last label
    BM_TRAIN.read_bytes()[:400],                                         # truncated before @data
    b"",                                                                 # empty
    b"@problemName x\n@classLabel true a b\n@data\n1,2,oops:::\n",        # nonsense data
], ids=["garbage", "half", "label", "header", "empty", "nonsense"])
def test_corrupt_ts_file(tmp_path, content):
    (tmp_path / "BasicMotions").mkdir()
    (tmp_path / "BasicMotions" / "BasicMotions_TRAIN.ts").write_bytes(content)
    with pytest.raises(DataError) as err:
        load_dataset("BasicMotions", data_dir=tmp_path, protocol="resample")
    assert "\n" not in str(err.value) and "BasicMotions_TRAIN.ts" in str(err.value)
    # one readable line: never kilobytes of the file quoted back (< 300 characters with a 50-character file path)
    assert len(str(err.value)) - len(str(tmp_path / "BasicMotions" / "BasicMotions_TRAIN.ts")) < 250, str(err.value)


def test_a_bad_label_is_quoted_short_and_located(tmp_path):
    """A "label" of kilobytes (numbers where the class should be): the error says which case and line, quotes a few
    characters of it and its length."""
    lines = BM_TRAIN.read_text().splitlines(keepends=True)
    body, _, label = lines[-1].rstrip("\n").rpartition(":")
    junk = ",".join(f"{0.001 * i:.6f}" for i in range(300))
    path = tmp_path / "BasicMotions" / "BasicMotions_TRAIN.ts"
    path.parent.mkdir()
    path.write_text("".join(lines[:-1]) + f"{body}:{junk}\n")
    with pytest.raises(DataError) as err:
        load_dataset("BasicMotions", data_dir=tmp_path, protocol="resample")
    text = str(err.value)
    assert f"(line {len(lines)})" in text and f"({len(junk)} characters)" in text, text
    assert len(text) - len(str(path)) < 250, text


@pytest.mark.parametrize("kwargs", [
    {"protocol": "holdout"}, {"protocol": None}, {"val_fraction": 0}, {"val_fraction": 1.2},
    {"test_fraction": "0.3"}, {"val_fraction": 0.6, "test_fraction": 0.5}, {"fold": 5}, {"fold": -1},
    {"n_folds": 1}, {"fold": 1.0}, {"seed": -1}, {"seed": True}, {"download": "yes"}, {"data_dir": "/no/such/dir"},
    {"base_url": "ftp://example.org/"},
])
def test_bad_arguments(kwargs, no_network):
    with pytest.raises(DataError) as err:
        load_dataset("BasicMotions", **kwargs)
    assert "\n" not in str(err.value)


def test_bad_protocol_lists_valid_ones():
    with pytest.raises(DataError, match="official, resample, tslib, cv"):
        load_dataset("BasicMotions", protocol="holdout")


@pytest.mark.parametrize("name", ["", "../etc", "a/b", 3])
def test_bad_names(name):
    with pytest.raises(DataError):
        load_dataset(name)


def test_git_blob_sha1():
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`
    assert data.KNOWN_CHECKSUMS["Heartbeat_TRAIN.ts"] == ("git-sha1:f2dcd7f2c5bc9e3c751cf483d19e94f3031dfffa",)


# ----------------------------------------------------------------------------------------------- download
def _zip(name: str, with_test: bool = True, train: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}/{name}_TRAIN.ts", BM_TRAIN.read_bytes() if train is None else train)
        if with_test:
            zf.write(BM_TEST, f"{name}/{name}_TEST.ts")
        zf.writestr(f"{name}/{name}_TRAIN.arff", "not needed")
    return buf.getvalue()


class _Server:
    def __init__(self, routes: dict[str, bytes]):
        self.routes = routes
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                server.hits[self.path] += 1
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/uea/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = _Server({f"/uea/{REMOTE}.zip": _zip(REMOTE), "/uea/NATOPS.zip": b"<html>not a zip</html>",
                   "/uea/Epilepsy.zip": _zip("SomethingElse"),
                   "/uea/ERing.zip": _zip("ERing", train=b"@problemName ERing\n@data\n1,2:::oops\n"),
                   "/uea/Libras.zip": _zip(REMOTE)[:200]})
    yield srv
    srv.close()


def cache_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())


def test_download_once_then_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("TSCOMPRESS_UEA_URL", server.url)
    ds = load_dataset(REMOTE, protocol="official")
    assert server.hits[f"/uea/{REMOTE}.zip"] == 1
    assert ds.files["source"] == "download" and ds.protocol == "official" and len(ds.test) == 40
    folder = tmp_path / "cache" / REMOTE
    assert [p.name for p in cache_files(tmp_path)] == [f"{REMOTE}_TEST.ts", f"{REMOTE}_TRAIN.ts", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    zip_sha = hashlib.sha256(server.routes[f"/uea/{REMOTE}.zip"]).hexdigest()
    assert manifest["zip_sha256"] == zip_sha == ds.files["zip_sha256"]
    assert manifest["files"][f"{REMOTE}_TRAIN.ts"]["sha256"] == hashlib.sha256(BM_TRAIN.read_bytes()).hexdigest()
    assert any(zip_sha in note for note in ds.notes)

    again = load_dataset(REMOTE, protocol="official")
    assert server.hits[f"/uea/{REMOTE}.zip"] == 1  # served from the cache
    assert again.files["source"] == "cache" and again.files["zip_sha256"] == zip_sha
    assert torch.equal(again.test.X, ds.test.X)

    # a cached file that changed after download is refused (trust on first use)
    with open(folder / f"{REMOTE}_TEST.ts", "a") as fh:
        fh.write("\n")
    with pytest.raises(DataError, match="changed since it was downloaded"):
        load_dataset(REMOTE)


def test_download_base_url_argument_and_sha256_registry(server, tmp_path, monkeypatch):
    sha = hashlib.sha256(BM_TRAIN.read_bytes()).hexdigest()
    monkeypatch.setitem(data.KNOWN_CHECKSUMS, f"{REMOTE}_TRAIN.ts", (f"sha256:{sha}",))
    ds = load_dataset(REMOTE, base_url=server.url)
    assert ds.files["source"] == "download" and server.hits[f"/uea/{REMOTE}.zip"] == 1


def test_checksum_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    monkeypatch.setitem(data.KNOWN_CHECKSUMS, f"{REMOTE}_TRAIN.ts", ("git-sha1:" + "0" * 40,))
    with pytest.raises(DataError, match="checksum mismatch") as err:
        load_dataset(REMOTE, base_url=server.url)
    assert "\n" not in str(err.value)
    assert cache_files(tmp_path) == [] and not (tmp_path / "cache" / REMOTE).exists()


@pytest.mark.parametrize("name, message", [
    ("Cricket", "HTTP 404"),                 # not on the server
    ("NATOPS", "not a valid zip"),           # a body that is not a zip
    ("Epilepsy", "no Epilepsy_TRAIN.ts"),    # a zip without the expected file
    ("ERing", "cannot parse"),               # a zip whose .ts cannot be read: not cached
    ("Libras", "not a valid zip"),           # a truncated zip
])
def test_bad_download_leaves_nothing(server, tmp_path, name, message):
    with pytest.raises(DataError, match=message) as err:
        load_dataset(name, base_url=server.url)
    assert str(tmp_path / "cache" / name) in str(err.value)
    assert cache_files(tmp_path) == [] and list((tmp_path / "cache").iterdir()) == []


def test_interrupted_download_leaves_nothing(server, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(data.download, "_extract", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(REMOTE, base_url=server.url)
    assert cache_files(tmp_path) == []


def test_download_into_existing_cache_folder(server, tmp_path):
    folder = tmp_path / "cache" / REMOTE
    folder.mkdir(parents=True)
    (folder / "README.txt").write_text("mine")
    ds = load_dataset(REMOTE, base_url=server.url)
    assert ds.protocol == "official" and (folder / f"{REMOTE}_TRAIN.ts").is_file()
    assert (folder / "README.txt").read_text() == "mine"


def test_unreachable_server_names_the_folder(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError) as err:
        load_dataset(REMOTE, base_url=url)
    message = str(err.value)
    assert str(tmp_path / "cache" / REMOTE) in message and f"{url}{REMOTE}.zip" in message
    assert f"{REMOTE}_TRAIN.ts" in message and cache_files(tmp_path) == []


# ------------------------------------------------------------------------------------ real offline data
def test_heartbeat_offline_copy():
    root = REAL_DATA_DIR
    if not (Path(root) / "Heartbeat" / "Heartbeat_TRAIN.ts").is_file():
        pytest.skip("set TSCOMPRESS_DATA_DIR to a folder with Heartbeat/Heartbeat_TRAIN.ts to run this check")
    ds = load_dataset("Heartbeat", data_dir=root, protocol="auto", download=False)
    assert ds.protocol == "resample" and any("auto -> resample" in note for note in ds.notes)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 204
    assert (ds.n_channels, ds.seq_len, ds.n_classes) == (61, 405, 2)
    assert ds.classes == ["abnormal", "normal"]
    assert sorted(pooled_counts(ds).tolist()) == [57, 147]
