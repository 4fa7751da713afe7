"""The prepared NB201 table: one HDF5 file of dense arrays, opened in milliseconds.

Layout: ``metrics`` float64 [arch, dataset, metric, hp] (axes in attrs, NaN where no source has a
value), ``params_m`` [arch], ``flops_m`` [arch], ``latency_ms`` [arch, device], ``arch_str`` [arch],
``seed_metrics`` [arch, dataset, metric, hp, slot] and ``seed_ids`` [arch, dataset, hp, slot] (per
training seed, from official files; zero slots for the exports, which hold seed means only);
attrs hold the schema version, the sources' sha256, where each slot's numbers come from, and
``arrays_sha256``, a digest of the arrays that ``open_table`` checks: a table damaged on disk (or
cut by a kill, or zero-filled) is refused, never believed. Values are range-checked when written
and when read, so a bad table cannot give negative costs that keep a budget from running out.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from benchmarks.spaces.nb201 import N_ARCHS, NB201Space
from benchmarks.tabular.nb201_axes import (
    DATASETS,
    HPS,
    METRICS,
    SCHEMA,
    SCHEMA_VERSION,
    slot,
)
from benchmarks.tabular.nb201_official import is_official, read_official
from benchmarks.tabular.nb201_sources import (
    ACCURACY,
    NONNEGATIVE,
    Filled,
    check_column,
    read_exports,
)
from harness.atomic import array_digest, atomic_path, remove_parts
from harness.errors import DataError

log = logging.getLogger(__name__)
ARRAYS = ("metrics", "params_m", "flops_m", "latency_ms", "arch_str", "seed_metrics", "seed_ids")
# the columns a cell's cost is computed from (benchmarks/nb201.py): every cell with accuracies needs them
COST_COLUMNS = (("cifar10-valid", "train_time_epoch", 200), ("cifar10-valid", "valid_time_epoch", 200))


def prepare(source: Path, out: Path) -> Path:
    """Convert a data folder of public exports, an official NB201 ``.pth`` or a NATS-Bench tss folder
    or archive (``nb201_official.py``) into a table file."""
    source = Path(source)
    space = NB201Space()
    if not source.exists():
        raise DataError(f"NB201 source {source} does not exist "
                        f"(get the data with `python -m harness data fetch nb201 --dest {source}`)")
    if is_official(source):
        filled = read_official(source, space)
    elif source.is_dir():
        filled = read_exports(source, space)
    else:
        raise DataError(f"NB201 source {source}: expected a folder of exports, an official .pth, a NATS-Bench "
                        "tss folder (NATS-tss-v1_0-3ffb9-simple) or its .pickle.pbz2 archive")
    write_table(filled, space, Path(out))
    return Path(out)


def check_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Refuse a table whose values cannot be right: a row count other than one per cell, an accuracy
    outside [0, 100], a negative or infinite loss, time or size, or a cell with accuracies but no
    cost. The message is one line naming the file, the column and the row (= the cell's index)."""
    metrics = arrays["metrics"]
    if metrics.shape != (N_ARCHS, len(DATASETS), len(METRICS), len(HPS)):
        raise DataError(f"{path}: metrics array has shape {metrics.shape}, expected "
                        f"{(N_ARCHS, len(DATASETS), len(METRICS), len(HPS))}")
    seeds, ids = arrays["seed_metrics"], arrays["seed_ids"]
    if seeds.ndim != 5 or seeds.shape[:4] != metrics.shape or ids.shape != (*metrics.shape[:2], metrics.shape[3],
                                                                               seeds.shape[4]):
        raise DataError(f"{path}: per-seed arrays have shapes {seeds.shape} and {ids.shape}, which do not fit "
                        f"the metrics {metrics.shape}")
    for name in ("params_m", "flops_m", "latency_ms", "arch_str"):
        if arrays[name].ndim < 1 or arrays[name].shape[0] != N_ARCHS:
            raise DataError(f"{path}: {name} has {arrays[name].shape[0] if arrays[name].ndim else 0} rows, "
                            f"expected {N_ARCHS}")
    for d, ds in enumerate(DATASETS):
        for m, metric in enumerate(METRICS):
            kind = ACCURACY if metric.endswith("_acc") else NONNEGATIVE
            for h, hp in enumerate(HPS):
                check_column(metrics[:, d, m, h], f"{path}: column {ds}/{metric}/hp{hp}", kind,
                             missing_ok=True, base=0)
    for d, ds in enumerate(DATASETS):
        for m, metric in enumerate(METRICS):
            kind = ACCURACY if metric.endswith("_acc") else NONNEGATIVE
            for h, hp in enumerate(HPS):
                for k in range(seeds.shape[4]):
                    check_column(seeds[:, d, m, h, k], f"{path}: per-seed column {ds}/{metric}/hp{hp}[{k}]", kind,
                                 missing_ok=True, base=0)
    check_column(arrays["params_m"], f"{path}: column params_m", NONNEGATIVE, missing_ok=True, base=0)
    check_column(arrays["flops_m"], f"{path}: column flops_m", NONNEGATIVE, missing_ok=True, base=0)
    for j in range(arrays["latency_ms"].shape[1] if arrays["latency_ms"].ndim == 2 else 0):
        check_column(arrays["latency_ms"][:, j], f"{path}: column latency_ms[{j}]", NONNEGATIVE,
                     missing_ok=True, base=0)
    has_acc = ~np.isnan(metrics[:, :, [METRICS.index("valid_acc"), METRICS.index("test_acc")], :]).all(axis=(1, 2, 3))
    for col in COST_COLUMNS:
        d, m, h = slot(*col)
        lacking = has_acc & np.isnan(metrics[:, d, m, h])
        if lacking.any():
            raise DataError(f"{path}: column {col[0]}/{col[1]}/hp{col[2]} row {int(np.flatnonzero(lacking)[0])} "
                            "has no value, but the cell has accuracies (its cost is needed)")


def write_table(filled: Filled, space: NB201Space, out: Path) -> None:
    """Check the values, then write under a unique temporary name, fsync and rename: concurrent
    prepares of one table each write their own file, and the last rename wins with a whole table."""
    arrays = {"metrics": filled.metrics, "params_m": filled.params_m, "flops_m": filled.flops_m,
              "latency_ms": filled.latency_ms,
              "arch_str": np.array(space.format(space.all_codes()), dtype="S"),
              "seed_metrics": filled.seed_metrics, "seed_ids": filled.seed_ids}
    check_arrays(arrays, out)
    try:
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
            for name in ARRAYS:
                f.create_dataset(name, data=arrays[name])
            f.attrs.update({
                "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                "axes": json.dumps({"metrics": ["arch", "dataset", "metric", "hp"]}),
                "datasets": json.dumps(DATASETS), "metric_names": json.dumps(METRICS), "hps": json.dumps(HPS),
                "latency_devices": json.dumps(filled.latency_devices),
                "provenance": json.dumps(filled.provenance, sort_keys=True),
                "sources_sha256": json.dumps(filled.sources, sort_keys=True),
                "data_sha256": hashlib.sha256(json.dumps(filled.sources, sort_keys=True).encode()).hexdigest(),
                "arrays_sha256": array_digest(arrays),
            })
    except OSError as exc:
        raise DataError(f"cannot write the NB201 table {out}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class NB201Table:
    """In-memory arrays of a prepared table; queries are pure indexing."""

    metrics: np.ndarray
    params_m: np.ndarray
    flops_m: np.ndarray
    latency_ms: np.ndarray
    latency_devices: tuple[str, ...]
    provenance: dict
    data_sha256: str
    path: Path
    seed_metrics: np.ndarray
    seed_ids: np.ndarray

    @property
    def has_seeds(self) -> bool:
        """Whether per-seed values exist (official files; the exports hold seed means only)."""
        return self.seed_metrics.shape[-1] > 0 and bool((self.seed_ids >= 0).any())

    def seed_column(self, dataset: str, metric: str, hp: int) -> np.ndarray:
        """(arch, slot) per-seed values, NaN where a slot has no seed."""
        d, m, h = slot(dataset, metric, hp)
        return self.seed_metrics[:, d, m, h, :]

    def seed_count(self, dataset: str, hp: int) -> np.ndarray:
        """(arch,) how many training seeds each cell has for this dataset and schedule."""
        d, _, h = slot(dataset, METRICS[0], hp)
        return (self.seed_ids[:, d, h, :] >= 0).sum(axis=1)

    def query(self, index: np.ndarray, dataset: str, metric: str, hp: int,
              allow_missing: bool = False) -> np.ndarray:
        """Values for architecture indices; a field the data lacks raises instead of giving NaN."""
        if dataset not in DATASETS:
            raise DataError(f"unknown NB201 dataset {dataset!r}; known: {', '.join(DATASETS)}")
        if metric not in METRICS or hp not in HPS:
            raise DataError(f"unknown NB201 field {metric!r} at hp={hp}; metrics: {', '.join(METRICS)}; hp: {HPS}")
        d, m, h = slot(dataset, metric, hp)
        values = self.metrics[np.asarray(index), d, m, h]
        if not allow_missing and np.isnan(values).any():
            have = "none" if np.isnan(self.metrics[:, d, m, h]).all() else "only some"
            raise DataError(f"the NB201 data has {have} {metric} for {dataset} at hp={hp} "
                            f"(see {self.path.name} provenance)")
        return values

    def column(self, dataset: str, metric: str, hp: int) -> np.ndarray:
        """The whole (arch,) column, NaN where missing."""
        d, m, h = slot(dataset, metric, hp)
        return self.metrics[:, d, m, h]

    def latency(self, device: str) -> np.ndarray:
        if device not in self.latency_devices:
            raise DataError(f"no latency for device {device!r}; devices: {', '.join(self.latency_devices)}")
        return self.latency_ms[:, self.latency_devices.index(device)]


def open_table(path: Path) -> NB201Table:
    """Read and verify a prepared table: its arrays must match the stored digest and pass the value
    checks; anything else is a one-line DataError naming the file."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != SCHEMA:
                raise DataError(f"{path} is not a prepared NB201 table")
            if int(f.attrs["schema_version"]) != SCHEMA_VERSION:
                raise DataError(f"{path} has table schema {f.attrs['schema_version']}, expected "
                                f"{SCHEMA_VERSION}; run `python -m harness prepare nb201` again")
            arrays = {name: f[name][()] for name in ARRAYS}
            stored = str(f.attrs["arrays_sha256"])
            devices = tuple(json.loads(f.attrs["latency_devices"]))
            provenance, data_sha = json.loads(f.attrs["provenance"]), str(f.attrs["data_sha256"])
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # h5py's ways of failing on bad bytes
        msg = str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(f"{path} is not a readable NB201 table ({exc.__class__.__name__}: {msg})") from None
    if array_digest(arrays) != stored:
        raise DataError(f"{path} is damaged: its arrays do not match the checksum stored with them")
    check_arrays(arrays, path)
    if arrays["latency_ms"].ndim != 2 or arrays["latency_ms"].shape[1] != len(devices):
        raise DataError(f"{path}: latency_ms has {arrays['latency_ms'].shape} columns for {len(devices)} devices")
    return NB201Table(arrays["metrics"], arrays["params_m"], arrays["flops_m"], arrays["latency_ms"],
                      devices, provenance, data_sha, path, arrays["seed_metrics"], arrays["seed_ids"])


def _fingerprint(source: Path) -> str:
    """Cheap identity of a source (paths, sizes, mtimes) naming its cached table."""
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    h = hashlib.sha256(str(source.resolve()).encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(source) if source.is_dir() else p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(f"schema{SCHEMA_VERSION}".encode())
    return h.hexdigest()[:16]


def ensure_table(source: Path, cache: Path) -> Path:
    """A prepared table for this source: the file itself (checked by ``open_table`` when read), a
    cached one that opens and verifies, or one prepared now. A cached table that does not verify is
    moved aside (``.corrupt``) with one warning and prepared again from the source; temporaries of
    prepares that were killed are removed."""
    source = Path(source)
    if source.suffix in (".h5", ".hdf5"):
        return source
    if source.is_dir() and (source / "nb201.h5").exists():
        return source / "nb201.h5"
    cache = Path(cache)
    remove_parts(cache, recursive=False)
    target = cache / f"nb201-{_fingerprint(source)}.h5"
    if target.exists():
        seen = None
        try:
            seen = target.stat()
            open_table(target)
            return target
        except (DataError, OSError) as exc:
            _move_aside(target, seen, exc)
    prepare(source, target)
    return target


def _move_aside(target: Path, seen: os.stat_result | None, exc: Exception) -> None:
    """Move a cached table that failed to verify to ``<name>.corrupt`` (kept as evidence), unless
    another process already replaced it with a fresh one since it was read."""
    aside = target.with_name(target.name + ".corrupt")
    with contextlib.suppress(OSError):  # gone already, or not ours to move: preparing says what is wrong
        now = target.stat()
        if seen is None or (now.st_ino, now.st_mtime_ns) == (seen.st_ino, seen.st_mtime_ns):
            os.replace(target, aside)
    why = str(exc).removeprefix(f"{target}: ").removeprefix(f"{target} ")
    log.warning("cached NB201 table %s unusable (%s); moved to %s and preparing it again from the source",
                target, why, aside.name)
