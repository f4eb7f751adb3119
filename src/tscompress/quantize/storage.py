"""Saving a quantized model to one compact file, with the indices bit-packed.

Layout (little-endian): the magic ``b"TSCQ"``, a format byte, a ``uint32`` header length, a JSON
header (the architecture's ``hparams``, the method, and for every tensor its shape, dtype and the
offset/length of its bytes; zlib-compressed), then the raw bytes:

* each quantized parameter's ``codes`` packed at ``bits`` bits per weight (two 4-bit indices per
  byte, eight 1-bit ones, 3-bit indices across byte boundaries; padded to a whole byte per
  tensor), followed by its side tables in their own dtype (float32 codebooks or scales, int8
  double-quantized block constants);
* parameters left unquantized and persistent buffers as raw float32.

:func:`load_quantized` rebuilds the architecture with :func:`tscompress.models.build_model` and
returns a :class:`~tscompress.quantize.core.QuantizedModel` whose forward gives the same logits.
:func:`file_breakdown` splits a file's size into header, packed indices, side tables and float
parts, to set beside the method's accounting.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .core import QuantizedModel, QuantizedTensor

__all__ = ["pack_bits", "unpack_bits", "save_quantized", "load_quantized", "file_breakdown", "MAGIC"]

MAGIC = b"TSCQ"
VERSION = 1
_DTYPES = {"float32": torch.float32, "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16,
           "float16": torch.float16, "int32": torch.int32, "int64": torch.int64}


def pack_bits(codes: torch.Tensor | np.ndarray, bits: int) -> bytes:
    """Pack unsigned integers below ``2**bits`` into ``ceil(n * bits / 8)`` bytes (MSB first)."""
    a = np.asarray(codes.cpu() if isinstance(codes, torch.Tensor) else codes).astype(np.uint8, copy=False).ravel()
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    if a.size and int(a.max()) >= 2**bits:
        raise ValueError(f"a code {int(a.max())} does not fit in {bits} bits")
    if bits == 8:
        return a.tobytes()
    bit_rows = np.unpackbits(a[:, None], axis=1)[:, 8 - bits:]
    return np.packbits(bit_rows.ravel()).tobytes()


def unpack_bits(buf: bytes, bits: int, count: int) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: ``count`` uint8 codes."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    if bits == 8:
        return torch.from_numpy(raw[:count].copy())
    b = np.unpackbits(raw)[: count * bits].reshape(count, bits)
    full = np.zeros((count, 8), dtype=np.uint8)
    full[:, 8 - bits:] = b
    return torch.from_numpy(np.packbits(full, axis=1).ravel())


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def save_quantized(qm: QuantizedModel, path: str | os.PathLike[str]) -> Path:
    """Write ``qm`` to ``path`` atomically; returns the path. Needs a model built by
    :func:`tscompress.models.build_model` (it has ``hparams``)."""
    hparams = qm.hparams
    if not isinstance(hparams, dict):
        raise TypeError("saving needs a model built by tscompress.models.build_model (no hparams dict)")
    blobs: list[bytes] = []
    offset = 0

    def add(data: bytes) -> dict:
        nonlocal offset
        entry = {"offset": offset, "length": len(data)}
        blobs.append(data)
        offset += len(data)
        return entry

    entries = []
    for name, qt in qm.qtensors.items():
        e = {"name": name, "method": qt.method, "bits": qt.bits, "shape": list(qt.shape),
             "codes_shape": list(qt.codes.shape), "accounted_bits": int(qt.accounted_bits),
             "meta": _jsonable(qt.meta), "codes": add(pack_bits(qt.codes, qt.bits)), "tables": {}}
        for tname, t in qt.tables.items():
            t = t.detach().cpu().contiguous()
            e["tables"][tname] = {"dtype": _dtype_name(t), "shape": list(t.shape), **add(t.numpy().tobytes())}
        entries.append(e)
    floats = []
    state = qm.model.state_dict()
    for name, t in state.items():
        if name in qm.qtensors:
            continue
        t = t.detach().cpu().contiguous()
        if t.is_floating_point():
            t = t.float()
        floats.append({"name": name, "dtype": _dtype_name(t), "shape": list(t.shape), **add(t.numpy().tobytes())})
    header = json.dumps({"hparams": _jsonable(hparams), "method": qm.method, "bits": qm.bits,
                         "quantized": entries, "float": floats}, separators=(",", ":")).encode()
    header = zlib.compress(header, 9)
    from ..results import atomic_open

    path = Path(path)
    with atomic_open(path) as fh:
        fh.write(MAGIC + bytes([VERSION]) + struct.pack("<I", len(header)) + header)
        for blob in blobs:
            fh.write(blob)
    return path


def _read(path: Path) -> tuple[dict, memoryview, int]:
    if not path.is_file():
        raise DataError(f"quantized model file not found: {path}")
    data = path.read_bytes()
    if data[:4] != MAGIC or len(data) < 9:
        raise DataError(f"not a tscompress quantized model file: {path}")
    if data[4] != VERSION:
        raise DataError(f"unsupported quantized file version {data[4]} in {path}")
    (hlen,) = struct.unpack("<I", data[5:9])
    header = json.loads(zlib.decompress(data[9 : 9 + hlen]).decode())
    return header, memoryview(data)[9 + hlen :], 9 + hlen


def _tensor(body: memoryview, e: dict) -> torch.Tensor:
    raw = bytes(body[e["offset"] : e["offset"] + e["length"]])
    dtype = _DTYPES[e["dtype"]]
    t = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    return t.reshape(e["shape"]).clone()


def load_quantized(path: str | os.PathLike[str], map_location: str = "cpu") -> QuantizedModel:
    """Read a file written by :func:`save_quantized`; the model is returned in eval mode."""
    from .. import models

    header, body, _ = _read(Path(path))
    model = models.build_model(**header["hparams"])
    qts = {}
    for e in header["quantized"]:
        count = int(np.prod(e["codes_shape"]))
        c = e["codes"]
        codes = unpack_bits(bytes(body[c["offset"] : c["offset"] + c["length"]]), e["bits"], count)
        qts[e["name"]] = QuantizedTensor(
            method=e["method"], bits=e["bits"], shape=tuple(e["shape"]), codes=codes.reshape(e["codes_shape"]),
            tables={k: _tensor(body, v) for k, v in e["tables"].items()}, accounted_bits=e["accounted_bits"],
            meta=e["meta"])
    floats = {e["name"]: _tensor(body, e) for e in header["float"]}
    missing, unexpected = model.load_state_dict(floats, strict=False)
    missing = [m for m in missing if m not in qts]
    if missing or unexpected:
        raise DataError(f"{path}: state does not fit the architecture (missing {missing}, unexpected {unexpected})")
    qm = QuantizedModel(model, qts, method=header["method"], bits=header["bits"])
    return qm.to(map_location).eval()


def file_breakdown(path: str | os.PathLike[str]) -> dict[str, int]:
    """Bytes of a saved file by part: ``header`` (magic, length and JSON), ``codes`` (packed
    indices), ``tables`` (codebooks / scales / block constants), ``float`` (unquantized tensors),
    and ``total`` (the file size)."""
    path = Path(path)
    header, _, body_start = _read(path)
    codes = sum(e["codes"]["length"] for e in header["quantized"])
    tables = sum(t["length"] for e in header["quantized"] for t in e["tables"].values())
    floats = sum(e["length"] for e in header["float"])
    return {"header": body_start, "codes": codes, "tables": tables, "float": floats, "total": path.stat().st_size}
