"""The prepared NB201 table: one HDF5 file of dense arrays, opened in milliseconds.

Layout: ``metrics`` float64 [arch, dataset, metric, hp] (axes in attrs, NaN where no source has a
value), ``params_m`` [arch], ``flops_m`` [arch], ``latency_ms`` [arch, device], ``arch_str`` [arch];
attrs hold the schema version, the sources' sha256 and where each slot's numbers come from.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from benchmarks.tabular.nb201_axes import DATASETS, HPS, METRICS, SCHEMA, SCHEMA_VERSION, slot
from benchmarks.tabular.nb201_sources import Filled, read_exports, read_official
from benchmarks.spaces.nb201 import N_ARCHS, NB201Space
from harness.errors import DataError


def prepare(source: Path, out: Path) -> Path:
    """Convert a data folder of public exports, or an official ``.pth``, into a table file."""
    source = Path(source)
    space = NB201Space()
    if not source.exists():
        raise DataError(f"NB201 source {source} does not exist")
    if source.is_dir():
        filled = read_exports(source, space)
    elif source.suffix in (".pth", ".pt"):
        filled = read_official(source, space)
    else:
        raise DataError(f"NB201 source {source}: expected a folder of exports or an official .pth file")
    write_table(filled, space, Path(out))
    return Path(out)


def write_table(filled: Filled, space: NB201Space, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("metrics", data=filled.metrics)
        f.create_dataset("params_m", data=filled.params_m)
        f.create_dataset("flops_m", data=filled.flops_m)
        f.create_dataset("latency_ms", data=filled.latency_ms)
        f.create_dataset("arch_str", data=np.array(space.format(space.all_codes()), dtype="S"))
        f.attrs.update({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
            "axes": json.dumps({"metrics": ["arch", "dataset", "metric", "hp"]}),
            "datasets": json.dumps(DATASETS), "metric_names": json.dumps(METRICS), "hps": json.dumps(HPS),
            "latency_devices": json.dumps(filled.latency_devices),
            "provenance": json.dumps(filled.provenance, sort_keys=True),
            "sources_sha256": json.dumps(filled.sources, sort_keys=True),
            "data_sha256": hashlib.sha256(json.dumps(filled.sources, sort_keys=True).encode()).hexdigest(),
        })
    os.replace(tmp, out)


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
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != SCHEMA:
                raise DataError(f"{path} is not a prepared NB201 table")
            if int(f.attrs["schema_version"]) != SCHEMA_VERSION:
                raise DataError(f"{path} has table schema {f.attrs['schema_version']}, expected "
                                f"{SCHEMA_VERSION}; run `python -m harness prepare nb201` again")
            metrics = f["metrics"][()]
            if metrics.shape != (N_ARCHS, len(DATASETS), len(METRICS), len(HPS)):
                raise DataError(f"{path}: metrics array has shape {metrics.shape}")
            return NB201Table(metrics, f["params_m"][()], f["flops_m"][()], f["latency_ms"][()],
                              tuple(json.loads(f.attrs["latency_devices"])),
                              json.loads(f.attrs["provenance"]), str(f.attrs["data_sha256"]), path)
    except (OSError, KeyError) as exc:
        raise DataError(f"{path} is not a readable NB201 table ({exc.__class__.__name__}: {exc})") from None


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
    """A prepared table for this source: the file itself, a cached one, or one prepared now."""
    source = Path(source)
    if source.suffix in (".h5", ".hdf5"):
        return source
    if source.is_dir() and (source / "nb201.h5").exists():
        return source / "nb201.h5"
    target = Path(cache) / f"nb201-{_fingerprint(source)}.h5"
    if not target.exists():
        prepare(source, target)
    return target
