"""Packs: many finished runs of one (benchmark, dataset, method) in one immutable HDF5 file.

Creating an HDF5 file costs milliseconds, more than a whole tabular run, so a study writes its
finished in-memory runs (``harness.recorder``) into packs instead of one file each. A pack is
written once (unique tmp, fsync, rename) and never modified, so a kill cannot damage what is on
disk; runs that were still buffered are run again on resume (same seed, same trajectory). Which
runs share a pack follows from the chunks and ``PackWriter.max_runs``, never from the clock.

Layout (``schema = "nas-harness-pack"``): ``offsets`` (R+1,) row offsets of each run; ``attrs``
(R,) JSON of each run's attributes (status included); ``codes`` (N, n_dims) and one dataset per
``harness.trajectory.COLUMNS`` entry, the runs' rows concatenated; attribute ``digest``, the
``array_digest`` of all of them, verified on read. A member is addressed as ``<pack file>/seed-<s>``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.atomic import array_digest, atomic_path
from harness.errors import DataError
from harness.identity import canonical, hdf5_attr
from harness.trajectory import COLUMNS, Trajectory

PACK_SCHEMA = "nas-harness-pack"
PACK_VERSION = 3


def member_name(attrs: dict[str, Any]) -> str:
    return f"seed-{int(attrs['seed'])}"


def _attr_text(attrs: dict[str, Any]) -> str:
    """A member's attributes as JSON, each value as a run file stores it (containers as JSON text)."""
    return canonical({k: hdf5_attr(v) for k, v in attrs.items()})


def write_pack(path: Path, runs: list[Trajectory]) -> None:
    """Write ``runs`` to a new pack at ``path`` atomically."""
    lengths = [len(t) for t in runs]
    n_dims = runs[0].codes.shape[1]
    arrays = {
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "attrs": np.array([_attr_text(t.attrs) for t in runs], dtype=object),
        "codes": np.concatenate([t.codes for t in runs]).astype(np.int16).reshape(-1, n_dims),
        **{name: np.concatenate([t[name] for t in runs]).astype(dtype) for name, dtype in COLUMNS.items()},
    }
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = PACK_SCHEMA
            f.attrs["schema_version"] = PACK_VERSION
            f.attrs["digest"] = array_digest(arrays)
            for name, a in arrays.items():
                f.create_dataset(name, data=a, dtype=h5py.string_dtype() if name == "attrs" else None)


def is_pack(f: h5py.File) -> bool:
    return f.attrs.get("schema") == PACK_SCHEMA


def read_pack(path: str | os.PathLike) -> list[tuple[str, Trajectory]]:
    """Every member as (locator, trajectory); an unreadable or malformed pack raises DataError."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            if not is_pack(f):
                raise DataError(f"{path}: not a nas-harness pack file")
            digest = f.attrs.get("digest")
            offsets = f["offsets"][()]
            texts = f["attrs"].asstr()[()]
            codes = f["codes"][()]
            cols = {k: f[k][()] for k in COLUMNS}
        if digest is not None and array_digest({"offsets": offsets, "attrs": texts, "codes": codes, **cols}) != digest:
            raise DataError(f"{path}: damaged pack (its arrays do not match their checksum)")
        attrs = [json.loads(a) for a in texts]
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
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
    """Collects finished runs per directory and writes them as a pack every ``max_runs`` runs and at
    ``close``. One writer per process: packs are never shared between writers."""

    def __init__(self, max_runs: int = 500) -> None:
        self.max_runs = max_runs
        self._runs: dict[Path, list[Trajectory]] = {}
        self._names: dict[Path, Path] = {}

    def add(self, directory: Path, traj: Trajectory) -> str:
        """Buffer one finished run; returns the locator it will have once written."""
        directory = Path(directory)
        if directory not in self._names:
            token = os.urandom(4).hex()
            self._names[directory] = directory / f"pack-s{int(traj.attrs['seed'])}-{token}.h5"
        runs = self._runs.setdefault(directory, [])
        runs.append(traj)
        loc = f"{self._names[directory]}/{member_name(traj.attrs)}"
        if len(runs) >= self.max_runs:
            write_pack(self._names.pop(directory), self._runs.pop(directory))
        return loc

    def flush(self) -> None:
        for directory, runs in self._runs.items():
            if runs:
                write_pack(self._names[directory], runs)
        self._runs.clear()
        self._names.clear()

    def close(self) -> None:
        self.flush()
