"""Recording one run: rows in memory, and on disk by rule, never by the clock.

A run whose rows cost nothing real (simulated seconds of a table) stays in memory and is written
once, whole, when it finishes: into a pack (``harness.packs``) or a file of its own. A kill loses it
and the resume runs it again, to the same trajectory. A run that pays for rows (measured seconds:
real training, or a one-shot method's own training charged with ``KIND_CHARGE`` rows) is *durable*:
every row goes to its journal (``harness.journal``) before the method sees it, the resume replays
the journal, and the finished run becomes an immutable trajectory file.

Trajectory files (``schema = nas-harness-trajectory``) hold ``codes`` and one dataset per
``harness.trajectory.COLUMNS`` entry, with the run's attributes and an ``array_digest`` that readers
verify.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.atomic import array_digest, atomic_path
from harness.errors import DataError
from harness.identity import hdf5_attr
from harness.journal import JournalContents, JournalWriter
from harness.packs import is_pack, read_member
from harness.trajectory import COLUMNS, KIND_CHARGE, Trajectory

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
STATUS_RUNNING, STATUS_COMPLETE = "running", "complete"
JOURNAL_SUFFIX = ".journal"


class PackFileError(DataError):
    """A pack was given where one run's file was expected (its runs are read with ``read_pack``)."""


def journal_path(path: str | os.PathLike) -> Path:
    """Where the run that will end as ``path`` keeps its journal while it runs."""
    return Path(path).with_suffix(JOURNAL_SUFFIX)


def py(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def arrays_of(traj: Trajectory) -> dict[str, np.ndarray]:
    """The arrays a trajectory's digest covers."""
    return {"codes": np.asarray(traj.codes, dtype=np.int16),
            **{k: np.asarray(traj[k], dtype=t) for k, t in COLUMNS.items()}}


def write_trajectory(path: str | os.PathLike, traj: Trajectory) -> None:
    """Write a finished run as its own immutable file (unique tmp, fsync, rename)."""
    arrays = arrays_of(traj)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = "nas-harness-trajectory"
            f.attrs["schema_version"] = SCHEMA_VERSION
            for k, v in traj.attrs.items():
                if k not in ("schema", "schema_version"):
                    f.attrs[k] = hdf5_attr(v)
            f.attrs["digest"] = array_digest(arrays)
            for name, a in arrays.items():
                f.create_dataset(name, data=a)


def read_trajectory(path: str | os.PathLike) -> Trajectory:
    """Read a trajectory file, or one run of a pack (``<pack.h5>/seed-<s>``); a truncated, damaged or
    foreign file raises DataError naming it. Opened without HDF5 locks: files are never modified."""
    p = Path(path)
    if not p.exists() and p.parent.is_file():
        return read_member(p.parent, p.name)
    try:
        with h5py.File(path, "r", locking=False) as f:
            if is_pack(f):
                raise PackFileError(f"{path}: a pack of several runs; name one as {path}/seed-<s>")
            if f.attrs.get("schema") != "nas-harness-trajectory":
                raise DataError(f"{path}: not a nas-harness trajectory file")
            attrs = {k: py(v) for k, v in f.attrs.items()}
            codes = f["codes"][()]
            cols = {k: f[k][()] for k in COLUMNS}
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise DataError(f"{path}: unreadable trajectory ({exc.__class__.__name__}: {exc})") from None
    digest = attrs.get("digest")
    if digest is not None:
        if array_digest({"codes": codes, **cols}) != digest:
            raise DataError(f"{path}: damaged trajectory (its arrays do not match their checksum)")
        return Trajectory(codes, cols, attrs)
    n = min(len(codes), *(len(v) for v in cols.values()))  # schema 1: a kill between column writes
    return Trajectory(codes[:n], {k: v[:n] for k, v in cols.items()}, attrs)


class Recorder:
    """Buffers a run's rows in preallocated columns; writes them by the rule in the module docstring.

    ``durable`` (a measured-cost task) journals from the first row; a run becomes durable anyway at
    its first ``KIND_CHARGE`` row. ``resumed`` continues a journal whose rows were replayed. With a
    ``sink`` (a ``harness.packs.PackWriter``) a finished in-memory run becomes a pack member.
    """

    def __init__(self, path: Path, n_dims: int, attrs: dict[str, Any], existing: Trajectory | None = None,
                 sink: Any = None, durable: bool = False, resumed: JournalContents | None = None) -> None:
        self.path = Path(path)
        self.n_dims = n_dims
        self.attrs = dict(attrs)
        self.sink = sink
        self.location = str(self.path)  # where the run ends up (a pack member when sunk)
        self._existing = existing
        self._n = 0  # rows of this session
        self._codes = np.zeros((64, n_dims), dtype=np.int16)
        self._cols = [np.zeros(64, dtype=t) for t in COLUMNS.values()]
        self._journal: JournalWriter | None = None
        self._final: Trajectory | None = None
        if resumed is not None:
            self._journal = JournalWriter.reopen(journal_path(self.path), resumed)
        elif durable:
            self._start_journal()

    @property
    def durable(self) -> bool:
        return self._journal is not None

    def _start_journal(self) -> None:
        self._journal = JournalWriter.create(journal_path(self.path), self.n_dims, self.attrs)
        codes, cols = self._session()
        self._journal.append_many(codes, cols)

    def _session(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = self._n
        return self._codes[:n], {k: c[:n] for k, c in zip(COLUMNS, self._cols)}

    def _grow(self, need: int = 0) -> None:
        cap = max(2 * len(self._codes), need)
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
        if self._journal is not None:
            self._journal.append(self._codes[n], tuple(col[n] for col in c))
        elif kind == KIND_CHARGE:  # the method pays for its own training: from now on every row is kept
            self._start_journal()

    def append_rows(self, rows: list[tuple], kind: int) -> None:
        """Rows of one ``kind``, each ``(codes, *COLUMNS up to wall_s)``, as ``append_row`` would
        add them one by one; in bulk where nothing is journaled (a run of simulated seconds)."""
        if self._journal is not None or kind == KIND_CHARGE:
            for row in rows:
                self.append_row(*row, kind)
            return
        if not rows:
            return
        n, k = self._n, len(rows)
        if len(self._codes) < n + k:
            self._grow(n + k)
        values = list(zip(*rows))
        self._codes[n:n + k] = values[0]
        for col, v in zip(self._cols, values[1:]):
            col[n:n + k] = v
        self._cols[-1][n:n + k] = kind
        self._n = n + k

    def append(self, codes: np.ndarray, row: dict[str, Any]) -> None:
        """One row given as a dict of ``COLUMNS``."""
        self.append_row(codes, *(row[k] for k in COLUMNS))

    def trajectory(self) -> Trajectory:
        """Everything recorded (replayed rows included), without reading the disk."""
        if self._final is not None:
            return self._final
        codes, cols = self._session()
        base = self._existing
        if base is None or len(base) == 0:
            return Trajectory(codes.copy(), {k: v.copy() for k, v in cols.items()}, dict(self.attrs))
        return Trajectory(np.concatenate([base.codes.astype(np.int16), codes]),
                          {k: np.concatenate([base.columns[k], cols[k]]) for k in COLUMNS}, dict(self.attrs))

    def close(self, complete: bool, extra_attrs: dict[str, Any] | None = None) -> None:
        """A finished run is written whole (pack member or own file, then its journal goes); an
        unfinished one keeps its journal when durable and is dropped otherwise (run again)."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()
        if not complete:
            return
        traj = self.trajectory()
        traj.attrs.update({**(extra_attrs or {}), "status": STATUS_COMPLETE})
        self._final = traj
        if journal is None and self.sink is not None:
            self.location = self.sink.add(self.path.parent, traj)
            return
        write_trajectory(self.path, traj)
        if journal is not None:
            with contextlib.suppress(FileNotFoundError):
                journal_path(self.path).unlink()


class ShadowRecorder(Recorder):
    """Keeps a run's rows in memory and writes nothing: under torchrun the ranks other than 0 follow
    the same run (same replay, same charges) while rank 0 alone owns the files."""

    def __init__(self, path: Path, n_dims: int, attrs: dict[str, Any], existing: Trajectory | None = None) -> None:
        super().__init__(path, n_dims, attrs, existing=existing)

    def _start_journal(self) -> None:
        pass

    def close(self, complete: bool, extra_attrs: dict[str, Any] | None = None) -> None:
        pass
