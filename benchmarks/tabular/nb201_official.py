"""Readers for the official benchmark files, through the official packages.

* NAS-Bench-201 ``.pth`` (v1_0, v1_1) through ``nas_201_api.NASBench201API``;
* NATS-Bench tss through ``nats_bench.create(..., 'tss')``: the fast-mode folder of per-arch pickles
  (``NATS-tss-v1_0-3ffb9-simple/``, or a folder holding it) and the single ``.pickle.pbz2`` archive.

Each fills the seed means (``get_more_info(is_random=False)``, what the exports hold) and, per
training seed, the same metrics (``is_random=<seed>``) with that seed's own times, so a task can
offer the paper's protocol of one random seed per query (``benchmarks/nb201.py``,
``query_seed=random``). A file holding only some architectures fills only those rows.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.nb201 import N_ARCHS, NB201Space
from benchmarks.tabular.nb201_axes import DATASETS, HPS, METRICS, slot
from benchmarks.tabular.nb201_sources import Filled, sha256
from harness.errors import DataError

log = logging.getLogger(__name__)
NATS_TSS = "NATS-tss-v1_0-3ffb9-simple"
_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")
# get_more_info keys of each table metric
KEYS = {"valid_acc": "valid-accuracy", "test_acc": "test-accuracy", "valid_loss": "valid-loss",
        "test_loss": "test-loss", "train_time_epoch": "train-per-time", "valid_time_epoch": "valid-per-time"}


def nats_folder(path: Path) -> Path | None:
    """The fast-mode folder at or inside ``path`` (a TORCH_HOME-like folder holding it), else None."""
    for p in (path, path / NATS_TSS):
        if p.is_dir() and (p / "meta.pickle.pbz2").is_file():
            return p
    return None


def is_official(path: Path) -> bool:
    """Whether ``path`` is a file or folder these readers take (and not a folder of exports)."""
    return (path.is_file() and (path.suffix in (".pth", ".pt") or path.name.endswith(".pickle.pbz2"))) or \
        (path.is_dir() and nats_folder(path) is not None)


def read_official(path: Path, space: NB201Space) -> Filled:
    """Any official file or folder: the format is told by its name and layout."""
    path = Path(path)
    folder = nats_folder(path) if path.is_dir() else None
    if folder is not None:
        return _read_nats(folder, space, fast=True)
    if path.name.endswith(".pickle.pbz2"):
        return _read_nats(path, space, fast=False)
    return _read_pth(path, space)


def _read_pth(path: Path, space: NB201Space) -> Filled:
    try:
        import torch
        from nas_201_api import NASBench201API
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise DataError(f"reading {path} needs torch and nas-bench-201: {exc}") from None
    try:
        raw = torch.load(path, map_location="cpu", weights_only=False)
        api = NASBench201API(raw, verbose=False)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways, all meaning "not that file"
        raise DataError(f"{path} is not a readable NAS-Bench-201 file ({exc.__class__.__name__}: {exc})") from None
    indices = sorted(int(i) for i in api.evaluated_indexes)
    return _read_api(api, indices, space, path, {path.name: sha256(path)},
                     f"official {path.name} via nas_201_api")


def _nats_api(path: Path, fast: bool) -> Any:
    try:
        import nats_bench
    except ImportError:
        raise DataError(f"reading {path} needs nats_bench: pip install 'nas-harness[official]'") from None
    try:
        return nats_bench.create(str(path), "tss", fast_mode=fast, verbose=False)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways, all meaning "not that file"
        raise DataError(f"{path} is not a readable NATS-Bench tss {'folder' if fast else 'archive'} "
                        f"({exc.__class__.__name__}: {exc})") from None


def _read_nats(path: Path, space: NB201Space, fast: bool) -> Filled:
    api = _nats_api(path, fast)
    if fast:
        files = {int(m.group(1)): p for p in path.iterdir() if (m := _ARCH_FILE.match(p.name))}
        indices = sorted(files)
        sources = {f"{path.name}/{p.name}": sha256(p) for p in [path / "meta.pickle.pbz2", *files.values()]}
    else:
        indices = sorted(int(i) for i in api.evaluated_indexes)
        sources = {path.name: sha256(path)}
    return _read_api(api, indices, space, path, sources,
                     f"official {path.name} via nats_bench ({'fast mode' if fast else 'archive'})", drop=fast)


def _read_api(api: Any, indices: list[int], space: NB201Space, path: Path, sources: dict[str, str],
              note: str, drop: bool = False) -> Filled:
    """Seed means and per-seed values of ``indices`` from an API object of either package; with
    ``drop`` each architecture is released once read (fast mode loads them one by one)."""
    if len(api.meta_archs) != N_ARCHS:
        raise DataError(f"{path}: {len(api.meta_archs)} architectures, expected {N_ARCHS} "
                        "(NATS-Bench sss is a different space; only tss is NAS-Bench-201)")
    if not indices:
        raise DataError(f"{path} holds no evaluated architectures")
    try:
        codes = space.parse([api.meta_archs[i] for i in range(N_ARCHS)])
    except Exception as exc:  # noqa: BLE001 - ArchError or a non-string entry
        raise DataError(f"{path}: meta_archs are not NB201 cells ({exc})") from None
    if not np.array_equal(space.index(codes), np.arange(N_ARCHS)):
        raise DataError(f"{path}: meta_archs do not follow the official index order")
    per_arch = {}
    start = time.perf_counter()
    for n, i in enumerate(indices, 1):
        per_arch[i] = _arch(api, i, path)
        if drop:
            api.arch2infos_dict.pop(i, None)  # fast mode caches each loaded arch; keep memory flat
        if n % 250 == 0 or (n == len(indices) and n >= 250):  # a full file takes minutes: say how far
            spent = time.perf_counter() - start
            log.info("read %d of %d architectures from %s (%.0f s, about %.0f s left)", n, len(indices),
                     path.name, spent, spent / n * (len(indices) - n))
    k = max((len(s) for a in per_arch.values() for s, _ in a["seeds"].values()), default=0)
    f = Filled()
    f.seed_metrics = np.full((N_ARCHS, len(DATASETS), len(METRICS), len(HPS), k), np.nan)
    f.seed_ids = np.full((N_ARCHS, len(DATASETS), len(HPS), k), -1, dtype=np.int64)
    f.sources = dict(sources)
    for i, a in per_arch.items():
        for (d, h), values in a["mean"].items():
            f.metrics[i, d, :, h] = values
        for (d, h), (seeds, values) in a["seeds"].items():
            f.seed_ids[i, d, h, :len(seeds)] = seeds
            f.seed_metrics[i, d, :, h, :len(seeds)] = np.asarray(values).T
        f.params_m[i], f.flops_m[i] = a["params"], a["flops"]
    for ds in DATASETS:
        for hp in HPS:
            d, _, h = slot(ds, METRICS[0], hp)
            for m, metric in enumerate(METRICS):
                if not np.isnan(f.metrics[:, d, m, h]).all():
                    f.provenance[f"{ds}/{metric}/hp{hp}"] = f"{note} get_more_info(is_random=False)"
    f.provenance["per_seed"] = f"{note} get_more_info(is_random=<seed>), each seed's own values and times"
    f.provenance["params_m"] = f"{note} get_cost_info"
    return f


def _arch(api: Any, i: int, path: Path) -> dict:
    """One architecture's mean and per-seed metric rows, params and FLOPs."""
    out: dict[str, Any] = {"mean": {}, "seeds": {}, "params": np.nan, "flops": np.nan}
    for hp in HPS:
        try:
            results = api.query_meta_info_by_index(i, str(hp))
        except Exception:  # noqa: BLE001, S112 - this schedule is not in the file
            continue
        for ds in DATASETS:
            if ds not in results.get_dataset_names():
                continue
            d, _, h = slot(ds, METRICS[0], hp)
            out["mean"][(d, h)] = _row(api.get_more_info(i, ds, hp=str(hp), is_random=False))
            seeds = sorted(int(s) for s in results.get_dataset_seeds(ds))
            out["seeds"][(d, h)] = (seeds, [_row(api.get_more_info(i, ds, hp=str(hp), is_random=s)) for s in seeds])
    try:
        costs = api.get_cost_info(i, "cifar10-valid", hp="200")
        out["params"], out["flops"] = float(costs["params"]), float(costs["flops"])
    except Exception:  # noqa: BLE001, S110 - no cost info for this cell: params stay NaN
        pass
    if not out["mean"]:
        raise DataError(f"{path}: architecture {i} has no results for hp 12 or 200")
    return out


def _row(info: dict) -> list[float]:
    return [np.nan if info.get(KEYS[m]) is None else float(info[KEYS[m]]) for m in METRICS]
