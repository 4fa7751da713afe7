"""The journal of a run in progress: an append-only file of checksummed records, one per row.

A kill can cut only the record being written; reading stops at the first record that is short or
fails its CRC, and the writer truncates that tail before appending again. Each row is fsynced, so
a row the evaluator charged is on disk before the method sees its value (rows cost real training).
Layout: ``MAGIC``, then records ``[u32 length][u32 crc32][payload]``; the first payload is the JSON
header (``{"n_dims": int, "attrs": {...}}``), every other one a row of ``row_dtype(n_dims)``.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DataError
from harness.identity import plain
from harness.trajectory import COLUMNS, Trajectory

MAGIC = b"NASHJ1\n"
_HEAD = struct.Struct("<II")


def row_dtype(n_dims: int) -> np.dtype:
    return np.dtype([("codes", np.int16, (n_dims,)), *((k, np.dtype(t)) for k, t in COLUMNS.items())])


def _record(payload: bytes) -> bytes:
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass
class JournalContents:
    """What a journal holds: its header, its intact rows, and where the intact part ends."""

    n_dims: int
    attrs: dict[str, Any]
    trajectory: Trajectory
    valid_bytes: int
    damaged: bool  # a cut or corrupt tail was found (and is ignored)


def read_journal(path: str | os.PathLike) -> JournalContents:
    """The header and every intact row; DataError when even the header is unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: unreadable journal ({exc.__class__.__name__}: {exc})") from None
    if not data.startswith(MAGIC):
        raise DataError(f"{path}: not a nas-harness journal")
    pos, payloads = len(MAGIC), []
    damaged = False
    while pos < len(data):
        if pos + _HEAD.size > len(data):
            damaged = True
            break
        size, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size: pos + _HEAD.size + size]
        if len(body) < size or zlib.crc32(body) != crc:
            damaged = True
            break
        payloads.append(body)
        pos += _HEAD.size + size
    if not payloads:
        raise DataError(f"{path}: journal has no intact header")
    try:
        head = json.loads(payloads[0])
        n_dims, attrs = int(head["n_dims"]), dict(head["attrs"])
    except (ValueError, KeyError, TypeError):
        raise DataError(f"{path}: journal header is malformed") from None
    dt = row_dtype(n_dims)
    good = [p for p in payloads[1:] if len(p) == dt.itemsize]
    if len(good) != len(payloads) - 1:
        raise DataError(f"{path}: journal rows do not match its header ({n_dims} code entries)")
    rows = np.frombuffer(b"".join(good), dtype=dt)
    traj = Trajectory(rows["codes"].astype(np.int16).reshape(-1, n_dims),
                      {k: rows[k].copy() for k in COLUMNS}, attrs)
    return JournalContents(n_dims, attrs, traj, pos, damaged)


class JournalWriter:
    """Appends rows to a journal, fsyncing each; ``open`` continues an existing one after its last
    intact record."""

    def __init__(self, path: Path, fd: int, n_dims: int) -> None:
        self.path = path
        self._fd = fd
        self._dtype = row_dtype(n_dims)
        self._row = np.zeros(1, dtype=self._dtype)

    @classmethod
    def create(cls, path: Path, n_dims: int, attrs: dict[str, Any]) -> "JournalWriter":
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        header = json.dumps({"n_dims": n_dims, "attrs": plain(attrs)}, sort_keys=True).encode()
        os.write(fd, MAGIC + _record(header))
        os.fsync(fd)
        return cls(path, fd, n_dims)

    @classmethod
    def reopen(cls, path: Path, contents: JournalContents) -> "JournalWriter":
        fd = os.open(path, os.O_WRONLY)
        os.ftruncate(fd, contents.valid_bytes)  # drop a cut tail before appending after it
        os.lseek(fd, 0, os.SEEK_END)
        return cls(path, fd, contents.n_dims)

    def append(self, codes: np.ndarray, values: tuple[float, ...]) -> None:
        """One row (``values`` in ``COLUMNS`` order), durable when this returns."""
        row = self._row
        row["codes"][0] = codes
        for name, v in zip(COLUMNS, values):
            row[name][0] = v
        os.write(self._fd, _record(row.tobytes()))
        os.fsync(self._fd)

    def append_many(self, codes: np.ndarray, cols: dict[str, np.ndarray]) -> None:
        """Rows buffered before the run became durable, in one write."""
        if not len(codes):
            return
        rows = np.zeros(len(codes), dtype=self._dtype)
        rows["codes"] = codes
        for name in COLUMNS:
            rows[name] = cols[name]
        size = self._dtype.itemsize
        blob = rows.tobytes()
        os.write(self._fd, b"".join(_record(blob[i * size:(i + 1) * size]) for i in range(len(codes))))
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
