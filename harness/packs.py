"""Packs: many finished runs of one (benchmark, dataset, method) in one immutable HDF5 file.

Creating an HDF5 file costs milliseconds, more than a whole tabular run, so a study writes the
runs that finish before their first flush into packs instead of one file each. A pack is written
once (tmp file, then rename) and never modified, so a kill cannot damage what is on disk; runs
that were still buffered are simply run again on resume (same seed, same trajectory). A run that
flushes while running (real training, ``flush_s=0``) keeps its own ``seed-<s>.h5`` file and
resumes by replay, as before.

Layout (``schema = "nas-harness-pack"``): ``offsets`` (R+1,) row offsets of each run; ``attrs``
(R,) JSON of each run's attributes (status included); ``codes`` (N, n_dims) and one dataset per
``harness.trajectory.COLUMNS`` entry, the runs' rows concatenated. A member is addressed as
``<pack file>/seed-<s>``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.errors import DataError
from harness.trajectory import COLUMNS, Trajectory

PACK_SCHEMA = "nas-harness-pack"
PACK_VERSION = 2


def _plain(value: Any) -> Any:
    """Attribute values as a one-file-per-run trajectory stores them (dicts as JSON text)."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return "null"
    if isinstance(value, np.generic):
        return value.item()
    return value


def member_name(attrs: dict[str, Any]) -> str:
    return f"seed-{int(attrs['seed'])}"


def write_pack(path: Path, runs: list[Trajectory]) -> None:
    """Write ``runs`` to a new pack at ``path`` atomically (tmp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    lengths = [len(t) for t in runs]
    n_dims = runs[0].codes.shape[1]
    with h5py.File(tmp, "w") as f:
        f.attrs["schema"] = PACK_SCHEMA
        f.attrs["schema_version"] = PACK_VERSION
        f.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        f.create_dataset("attrs", data=[json.dumps({k: _plain(v) for k, v in t.attrs.items()}) for t in runs],
                         dtype=h5py.string_dtype())
        f.create_dataset("codes", data=np.concatenate([t.codes for t in runs]).astype(np.int16).reshape(-1, n_dims))
        for name, dtype in COLUMNS.items():
            f.create_dataset(name, data=np.concatenate([t[name] for t in runs]).astype(dtype))
    os.replace(tmp, path)


def is_pack(f: h5py.File) -> bool:
    return f.attrs.get("schema") == PACK_SCHEMA


def read_pack(path: str | os.PathLike) -> list[tuple[str, Trajectory]]:
    """Every member as (locator, trajectory); an unreadable or malformed pack raises DataError."""
    try:
        with h5py.File(path, "r") as f:
            if not is_pack(f):
                raise DataError(f"{path}: not a nas-harness pack file")
            offsets = f["offsets"][()]
            attrs = [json.loads(a) for a in f["attrs"].asstr()[()]]
            codes = f["codes"][()]
            cols = {k: f[k][()] for k in COLUMNS}
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: unreadable pack ({exc.__class__.__name__}: {exc})") from None
    n = len(codes)
    if len(offsets) != len(attrs) + 1 or offsets[-1] != n or any(len(c) != n for c in cols.values()):
        raise DataError(f"{path}: malformed pack ({len(attrs)} runs, offsets end {offsets[-1]}, {n} rows)")
    out = []
    for i, a in enumerate(attrs):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        traj = Trajectory(codes[lo:hi], {k: v[lo:hi] for k, v in cols.items()}, a)
        out.append((f"{path}/{member_name(a)}", traj))
    return out


def read_member(pack: Path, name: str) -> Trajectory:
    """One member of a pack by its name (``seed-<s>``)."""
    for loc, traj in read_pack(pack):
        if loc.rsplit("/", 1)[1] == name:
            return traj
    raise DataError(f"{pack}: pack holds no run {name!r}")


class PackWriter:
    """Collects finished runs per directory and writes them as packs at most every ``flush_s``
    seconds (and at ``close``). One writer per process: packs are never shared between writers."""

    def __init__(self, flush_s: float = 1.0) -> None:
        self.flush_s = flush_s
        self._runs: dict[Path, list[Trajectory]] = {}
        self._names: dict[Path, Path] = {}
        self._last = time.perf_counter()

    def add(self, directory: Path, traj: Trajectory) -> str:
        """Buffer one finished run; returns the locator it will have once written."""
        directory = Path(directory)
        if directory not in self._names:
            token = os.urandom(4).hex()
            self._names[directory] = directory / f"pack-s{int(traj.attrs['seed'])}-{token}.h5"
        self._runs.setdefault(directory, []).append(traj)
        loc = f"{self._names[directory]}/{member_name(traj.attrs)}"
        if time.perf_counter() - self._last >= self.flush_s:
            self.flush()
        return loc

    def flush(self) -> None:
        for directory, runs in self._runs.items():
            if runs:
                write_pack(self._names[directory], runs)
        self._runs.clear()
        self._names.clear()
        self._last = time.perf_counter()

    def close(self) -> None:
        self.flush()
