"""What a surrogate can be fitted on: the NB201 table, the real-training cache (``darts-train``,
``nb201-train``; benchmarks/training/cache.py) or the trajectories under a ``compare --out`` folder.
Each becomes ``TrainingData``: codes and measured targets at one fidelity, repeated architectures
averaged."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from benchmarks.surrogates.features import SPACES, space_of
from benchmarks.surrogates.fit import TrainingData
from harness.errors import DataError, HarnessError

KINDS = ("auto", "table", "cache", "runs")


def _averaged(space: str, codes: list[np.ndarray], rows: list[dict[str, float]], fidelity: float,
              source: str, protocol: str, dataset: str) -> TrainingData:
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i, c in enumerate(codes):
        groups[np.asarray(c, np.int16).tobytes()].append(i)
    keys = list(groups)
    out_codes = np.stack([np.frombuffer(k, np.int16) for k in keys]) if keys else np.zeros((0, 1), np.int16)
    names = sorted({k for r in rows for k in r})
    targets = {n: np.array([np.nanmean([rows[i].get(n, np.nan) for i in groups[k]]) if any(
        np.isfinite(rows[i].get(n, np.nan)) for i in groups[k]) else np.nan for k in keys]) for n in names}
    return TrainingData(space, out_codes, targets, fidelity, source, protocol, dataset)


def from_table(path: Path, dataset: str, cache: Path | None) -> TrainingData:
    """Every NB201 cell of ``dataset`` under the NB201 paper's protocol (benchmarks/nb201.py)."""
    from benchmarks.nb201 import make

    task = make(dataset, data=path, cache=cache)
    codes = task.space.all_codes()
    out = task.evaluate(codes, task.default_fidelity)
    attrs = task.attrs()
    return TrainingData("nb201", codes, {"val": out.val, "cost_s": out.cost_s, "report_valid": out.report_valid,
                                         "report_test": out.report_test}, task.default_fidelity,
                        f"nb201 table {dataset} (data {attrs['data_sha256'][:12]})",
                        f"{attrs['protocol']}; report keys {attrs['report_valid_key']}, {attrs['report_test_key']}",
                        dataset)


def from_cache(path: Path, space: str, dataset: str | None) -> TrainingData:
    """Rows of a training cache (SQLite) of ``space`` (and ``dataset``), at its most common epochs."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT val, test, cost_s, epochs, meta FROM rows").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path} is not a readable training cache ({exc})") from None
    sp = space_of(space)
    picked = []
    for val, test, cost, epochs, meta in rows:
        try:
            m = json.loads(meta) if meta else {}
        except json.JSONDecodeError:
            continue
        if m.get("space") == space and (dataset is None or m.get("dataset") == dataset) and "arch" in m:
            picked.append((m, val, test, cost, epochs))
    if not picked:
        raise DataError(f"{path}: no cached trainings of space {space}" + (f" on {dataset}" if dataset else ""))
    epochs = Counter(p[4] for p in picked).most_common(1)[0][0]
    sel = [p for p in picked if p[4] == epochs]
    codes = [sp.parse(p[0]["arch"]) for p in sel]
    data = [{"val": p[1], "cost_s": p[2], "report_valid": p[1], "report_test": p[3]} for p in sel]
    ds = sel[0][0].get("dataset", "?")
    return _averaged(space, codes, data, float(epochs), f"training cache {path.name} ({ds}, {epochs:g} epochs)",
                     "query = measured validation accuracy; cost = measured training seconds; "
                     "report = the same training's validation and test accuracy", str(ds))


def from_runs(path: Path, space: str, dataset: str | None) -> TrainingData:
    """Query rows of the finished runs under ``path`` of ``space``, at their most common fidelity."""
    from harness.store import scan
    from harness.trajectory import KIND_QUERY

    sp = space_of(space)
    rows = []
    names: set[str] = set()
    for _, runs, error in scan(path):
        for r in runs or ():
            t = r.trajectory
            if t.codes.shape[1] != sp.n_dims or (dataset is not None and t.attrs.get("dataset") != dataset):
                continue
            q = np.flatnonzero(t["kind"] == KIND_QUERY)
            names.add(str(t.attrs.get("dataset", "")))
            for i in q:
                rows.append((t.codes[i], float(t["fidelity"][i]), float(t["val"][i]), float(t["cost_s"][i]),
                             float(t["report_valid"][i]), float(t["report_test"][i])))
    if not rows:
        raise DataError(f"{path}: no query rows of space {space}" + (f" on {dataset}" if dataset else ""))
    fid = Counter(r[1] for r in rows).most_common(1)[0][0]
    sel = [r for r in rows if r[1] == fid]
    return _averaged(space, [r[0] for r in sel],
                     [{"val": r[2], "cost_s": r[3], "report_valid": r[4], "report_test": r[5]} for r in sel],
                     fid, f"trajectories under {path} ({len(sel)} queries at fidelity {fid:g})",
                     "query = the recorded validation value; cost = the recorded charge; report = the recorded report",
                     names.pop() if len(names) == 1 else "")


def training_data(source: str | Path, space: str, kind: str = "auto", dataset: str | None = None,
                  cache: Path | None = None) -> TrainingData:
    """``source`` read as ``kind`` (auto: a .sqlite file is a training cache, a folder holding runs is
    trajectories, anything else of the nb201 space is the NB201 table)."""
    if space not in SPACES:
        raise HarnessError(f"unknown surrogate space {space!r}; known: {', '.join(SPACES)}")
    if kind not in KINDS:
        raise HarnessError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"--from {path} does not exist")
    if kind == "auto":
        if path.is_file() and path.suffix == ".sqlite":
            kind = "cache"
        elif path.is_dir() and any(runs for _, runs, _ in _scan_some(path)):
            kind = "runs"
        elif space == "nb201":
            kind = "table"
        else:
            raise DataError(f"--from {path}: neither a training cache (.sqlite) nor a folder of runs")
    if kind == "table":
        if space != "nb201":
            raise HarnessError("--kind table reads the NB201 table: use --space nb201")
        return from_table(path, dataset or "cifar10-valid", cache)
    if kind == "cache":
        return from_cache(path, space, dataset)
    return from_runs(path, space, dataset)


def _scan_some(path: Path):
    from harness.store import scan

    return scan(path)
