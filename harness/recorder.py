"""Append-only HDF5 trajectory files: one per run that flushes while running (resumable by
replay); runs finished before their first flush go to packs (``harness.packs``)."""
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
from harness.packs import is_pack, read_member, read_pack
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
    """Read a trajectory file, or one run of a pack (``<pack.h5>/seed-<s>``); a truncated or
    foreign file raises DataError naming it."""
    p = Path(path)
    if not p.exists() and p.parent.is_file():
        return read_member(p.parent, p.name)
    try:
        with h5py.File(path, "r") as f:
            if is_pack(f):
                raise DataError(f"{path}: a pack of several runs; name one as {path}/seed-<s>")
            if f.attrs.get("schema") != "nas-harness-trajectory":
                raise DataError(f"{path}: not a nas-harness trajectory file")
            attrs = {k: _py(v) for k, v in f.attrs.items()}
            codes = f["codes"][()]
            cols = {k: f[k][()] for k in COLUMNS}
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: unreadable trajectory ({exc.__class__.__name__}: {exc})") from None
    n = min(len(codes), *(len(v) for v in cols.values()))  # a kill between column writes
    return Trajectory(codes[:n], {k: v[:n] for k, v in cols.items()}, attrs)


def read_run(folder: str | os.PathLike, seed: int) -> Trajectory:
    """One seed's run in a (benchmark, dataset, method) folder, wherever it was written: its own
    ``seed-<s>.h5`` (a run that flushed while running) first, else the pack that holds it."""
    folder = Path(folder)
    own = folder / f"seed-{int(seed)}.h5"
    if own.exists():
        return read_trajectory(own)
    for pack in sorted(folder.glob("pack-*.h5")):
        for loc, traj in read_pack(pack):
            if int(traj.attrs["seed"]) == int(seed):
                return traj
    raise DataError(f"{folder}: no run of seed {seed} (neither seed-{seed}.h5 nor a pack holding it)")


def run_status(path: Path, identity: dict[str, Any]) -> str | None:
    """'complete', 'running' (resumable), or None (absent); a mismatching file is an error."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _py(v) for k, v in f.attrs.items()}
    except OSError:
        return "corrupt"
    check_identity(path, attrs, identity)
    return str(attrs.get("status", STATUS_RUNNING))


def check_identity(where: str | os.PathLike, attrs: dict[str, Any], identity: dict[str, Any]) -> None:
    """ResumeError unless the stored run's identity attributes match this run's."""
    for key in IDENTITY_ATTRS:
        if key in identity and str(attrs.get(key)) != str(_attr(identity[key])):
            raise ResumeError(
                f"{where} holds a different run ({key}={attrs.get(key)!r}, this run has "
                f"{_attr(identity[key])!r}); choose another --out or delete the file")


class Recorder:
    """Buffers rows in preallocated columns and flushes them to HDF5 at most every ``flush_s``
    seconds (0: every row).

    Tabular runs take milliseconds and replay deterministically, so they flush at the end; real
    training sets ``flush_s=0`` so a kill loses no paid-for evaluation. With a ``sink`` (a
    ``harness.packs.PackWriter``), a run that completes before its first flush is handed to the
    sink (many runs per file) instead of getting a file of its own.
    """

    def __init__(self, path: Path, n_dims: int, attrs: dict[str, Any], flush_s: float = 0.0,
                 existing: Trajectory | None = None, sink: Any = None) -> None:
        self.path = Path(path)
        self.n_dims = n_dims
        self.attrs = dict(attrs)
        self.flush_s = flush_s
        self.sink = sink
        self.location = str(self.path)  # where the run ends up (a pack member when sunk)
        self._existing = existing
        self._n = 0  # rows of this session (kept for trajectory())
        self._codes = np.zeros((64, n_dims), dtype=np.int16)
        self._cols = [np.zeros(64, dtype=t) for t in COLUMNS.values()]
        self._flushed = 0  # how many of this session's rows are on disk
        self._written = 0 if existing is None else len(existing)
        self._last_flush = time.perf_counter()
        self._file: h5py.File | None = None
        self._sunk: Trajectory | None = None  # the trajectory handed to the sink (the run is over)
        # a new file is written at the first flush (tabular runs: once, at close); flush_s=0 writes it now
        self._pending = existing is None
        if existing is None:
            if flush_s <= 0:
                self._write_new(STATUS_RUNNING, {})
        else:
            self._file = h5py.File(self.path, "a")

    def _session(self, start: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows ``start:`` of this session as (codes, columns) views."""
        n = self._n
        return self._codes[start:n], {k: c[start:n] for k, c in zip(COLUMNS, self._cols)}

    def _write_new(self, status: str, extra_attrs: dict[str, Any]) -> None:
        """Create the file holding every buffered row in one write (tmp file, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".h5.part")
        codes, cols = self._session()
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = "nas-harness-trajectory"
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["status"] = status
            for k, v in {**self.attrs, **extra_attrs}.items():
                f.attrs[k] = _attr(v)
            f.create_dataset("codes", data=codes, maxshape=(None, self.n_dims), chunks=(256, self.n_dims))
            for name, col in cols.items():
                f.create_dataset(name, data=col, maxshape=(None,), chunks=(256,))
        os.replace(tmp, self.path)
        self._pending = False
        self._written = self._flushed = self._n
        self._last_flush = time.perf_counter()

    def _open(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "a")
        return self._file

    def _grow(self) -> None:
        cap = 2 * len(self._codes)
        codes = np.zeros((cap, self.n_dims), dtype=np.int16)
        codes[:self._n] = self._codes[:self._n]
        self._codes = codes
        cols = []
        for c in self._cols:
            bigger = np.zeros(cap, dtype=c.dtype)
            bigger[:self._n] = c[:self._n]
            cols.append(bigger)
        self._cols = cols

    def append_row(self, codes: np.ndarray, arch_index: int, fidelity: float, cost_s: float,
                   cum_cost_s: float, epochs: float, val: float, report_valid: float,
                   report_test: float, wall_s: float, kind: int) -> None:
        """One row, in ``COLUMNS`` order (positional: this is the per-evaluation hot path)."""
        n = self._n
        if n == len(self._codes):
            self._grow()
        self._codes[n] = codes
        c = self._cols
        c[0][n], c[1][n], c[2][n], c[3][n], c[4][n] = arch_index, fidelity, cost_s, cum_cost_s, epochs
        c[5][n], c[6][n], c[7][n], c[8][n], c[9][n] = val, report_valid, report_test, wall_s, kind
        self._n = n + 1
        if self.flush_s <= 0 or time.perf_counter() - self._last_flush >= self.flush_s:
            self.flush()

    def append(self, codes: np.ndarray, row: dict[str, Any]) -> None:
        """One row given as a dict of ``COLUMNS``."""
        self.append_row(codes, *(row[k] for k in COLUMNS))

    def flush(self) -> None:
        if self._pending:
            self._write_new(STATUS_RUNNING, {})
            return
        if self._flushed == self._n:
            return
        f = self._open()
        codes, cols = self._session(self._flushed)
        start, stop = self._written, self._written + len(codes)
        f["codes"].resize((stop, self.n_dims))
        f["codes"][start:stop] = codes
        for name, col in cols.items():
            ds = f[name]
            ds.resize((stop,))
            ds[start:stop] = col
        f.flush()
        self._written = stop
        self._flushed = self._n
        self._last_flush = time.perf_counter()

    def trajectory(self) -> Trajectory:
        """Everything recorded (resumed rows included), without reading the file back."""
        if self._sunk is not None:
            return self._sunk
        codes, cols = self._session()
        base = self._existing
        if base is None or len(base) == 0:
            return Trajectory(codes.copy(), {k: v.copy() for k, v in cols.items()}, dict(self.attrs))
        return Trajectory(np.concatenate([base.codes.astype(np.int16), codes]),
                          {k: np.concatenate([base.columns[k], cols[k]]) for k in COLUMNS}, dict(self.attrs))

    def close(self, complete: bool, extra_attrs: dict[str, Any] | None = None) -> None:
        if self._pending and complete and self.sink is not None:  # never on disk: one pack member
            traj = self.trajectory()
            traj.attrs.update({**(extra_attrs or {}), "status": STATUS_COMPLETE})
            self.location = self.sink.add(self.path.parent, traj)
            self._sunk = traj
            return
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


class ShadowRecorder(Recorder):
    """Keeps a run's rows in memory and writes nothing: under torchrun the ranks other than 0 follow
    the same run (same replay, same charges) while rank 0 alone owns the files."""

    def __init__(self, path: Path, n_dims: int, attrs: dict[str, Any], existing: Trajectory | None = None) -> None:
        super().__init__(path, n_dims, attrs, flush_s=float("inf"))  # never due: nothing is created
        self._existing = existing

    def flush(self) -> None:
        pass

    def close(self, complete: bool, extra_attrs: dict[str, Any] | None = None) -> None:
        pass
