"""Append-only HDF5 trajectory files: one file per (method, seed, task), resumable."""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.errors import DataError, ResumeError
from harness.trajectory import COLUMNS, Trajectory

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATUS_RUNNING, STATUS_COMPLETE = "running", "complete"
# attributes that must match for a file to be resumed by the same run
IDENTITY_ATTRS = ("method", "config", "seed", "benchmark", "dataset", "budget_max_evals",
                  "budget_max_cost_s", "budget_max_epochs", "data_sha256", "constraint")


def _attr(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return "null"
    return value


def _py(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_trajectory(path: str | os.PathLike) -> Trajectory:
    """Read a trajectory file; a truncated or foreign file raises DataError naming it."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != "nas-harness-trajectory":
                raise DataError(f"{path}: not a nas-harness trajectory file")
            attrs = {k: _py(v) for k, v in f.attrs.items()}
            codes = f["codes"][()]
            cols = {k: f[k][()] for k in COLUMNS}
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: unreadable trajectory ({exc.__class__.__name__}: {exc})") from None
    n = min(len(codes), *(len(v) for v in cols.values()))  # a kill between column writes
    return Trajectory(codes[:n], {k: v[:n] for k, v in cols.items()}, attrs)


def run_status(path: Path, identity: dict[str, Any]) -> str | None:
    """'complete', 'running' (resumable), or None (absent); a mismatching file is an error."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _py(v) for k, v in f.attrs.items()}
    except OSError:
        return "corrupt"
    for key in IDENTITY_ATTRS:
        if key in identity and str(attrs.get(key)) != str(_attr(identity[key])):
            raise ResumeError(
                f"{path} holds a different run ({key}={attrs.get(key)!r}, this run has "
                f"{_attr(identity[key])!r}); choose another --out or delete the file")
    return str(attrs.get("status", STATUS_RUNNING))


class Recorder:
    """Buffers rows and flushes them to HDF5 at most every ``flush_s`` seconds (0: every row).

    Tabular runs take milliseconds and replay deterministically, so they flush at the end; real
    training sets ``flush_s=0`` so a kill loses no paid-for evaluation.
    """

    def __init__(self, path: Path, n_dims: int, attrs: dict[str, Any], flush_s: float = 0.0,
                 existing: Trajectory | None = None) -> None:
        self.path = Path(path)
        self.n_dims = n_dims
        self.attrs = dict(attrs)
        self.flush_s = flush_s
        self._existing = existing
        self._rows: list[tuple[np.ndarray, dict[str, Any]]] = []  # rows of this session, kept for trajectory()
        self._flushed = 0  # how many of self._rows are on disk
        self._written = 0 if existing is None else len(existing)
        self._last_flush = time.perf_counter()
        self._file: h5py.File | None = None
        # a new file is written at the first flush (tabular runs: once, at close); flush_s=0 writes it now
        self._pending = existing is None
        if existing is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if flush_s <= 0:
                self._write_new(STATUS_RUNNING, {})
        else:
            self._file = h5py.File(self.path, "a")

    def _write_new(self, status: str, extra_attrs: dict[str, Any]) -> None:
        """Create the file holding every buffered row in one write (tmp file, then rename)."""
        tmp = self.path.with_suffix(".h5.part")
        buf = self._rows
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = "nas-harness-trajectory"
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["status"] = status
            for k, v in {**self.attrs, **extra_attrs}.items():
                f.attrs[k] = _attr(v)
            codes = (np.stack([c for c, _ in buf]).astype(np.int16) if buf
                     else np.zeros((0, self.n_dims), dtype=np.int16))
            f.create_dataset("codes", data=codes, maxshape=(None, self.n_dims), chunks=(256, self.n_dims))
            for name, dtype in COLUMNS.items():
                col = np.fromiter((r[name] for _, r in buf), dtype=dtype, count=len(buf))
                f.create_dataset(name, data=col, maxshape=(None,), chunks=(256,))
        os.replace(tmp, self.path)
        self._pending = False
        self._written = self._flushed = len(buf)
        self._last_flush = time.perf_counter()

    def _open(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "a")
        return self._file

    def append(self, codes: np.ndarray, row: dict[str, Any]) -> None:
        self._rows.append((codes, row))
        if self.flush_s <= 0 or time.perf_counter() - self._last_flush >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._write_new(STATUS_RUNNING, {})
            return
        buf = self._rows[self._flushed:]
        if not buf:
            return
        f = self._open()
        n_new = len(buf)
        start, stop = self._written, self._written + n_new
        codes = np.stack([c for c, _ in buf]).astype(np.int16)
        f["codes"].resize((stop, self.n_dims))
        f["codes"][start:stop] = codes
        for name, dtype in COLUMNS.items():
            ds = f[name]
            ds.resize((stop,))
            ds[start:stop] = np.fromiter((r[name] for _, r in buf), dtype=dtype, count=n_new)
        f.flush()
        self._written = stop
        self._flushed = len(self._rows)
        self._last_flush = time.perf_counter()

    def trajectory(self) -> Trajectory:
        """Everything recorded (resumed rows included), without reading the file back."""
        base = self._existing if self._existing is not None else Trajectory.empty(self.n_dims)
        if not self._rows:
            return Trajectory(base.codes, base.columns, dict(self.attrs))
        codes = np.concatenate([base.codes, np.stack([c for c, _ in self._rows]).astype(np.int16)])
        cols = {k: np.concatenate([base.columns[k], np.fromiter((r[k] for _, r in self._rows), dtype=t,
                                                                count=len(self._rows))])
                for k, t in COLUMNS.items()}
        return Trajectory(codes, cols, dict(self.attrs))

    def close(self, complete: bool, extra_attrs: dict[str, Any] | None = None) -> None:
        if self._pending:  # one write for a run that never flushed
            self._write_new(STATUS_COMPLETE if complete else STATUS_RUNNING, extra_attrs or {})
            return
        self.flush()
        f = self._open()
        for k, v in (extra_attrs or {}).items():
            f.attrs[k] = _attr(v)
        f.attrs["status"] = STATUS_COMPLETE if complete else STATUS_RUNNING
        f.close()
        self._file = None
