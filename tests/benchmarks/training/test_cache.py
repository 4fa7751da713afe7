"""TrainCache on SQLite: rows survive a new process, the first row of a key stays, an old HDF5 cache
is imported once, a foreign or damaged file is moved aside, a held lock ends in one line."""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmarks.training.cache import FIELDS, SCHEMA, TrainCache, cache_key
from harness.errors import DataError

ROW = {"val": 50.0, "test": 51.0, "cost_s": 1.5, "epochs": 2.0, "train_s": 1.25}


def test_rows_persist_and_the_first_row_of_a_key_stays(tmp_path: Path) -> None:
    cache = TrainCache(tmp_path / "t" / "c.sqlite")
    assert len(cache) == 0 and not cache.path.exists()  # reading creates nothing
    assert cache.put("a", ROW) == ROW
    other = {**ROW, "val": 10.0}
    assert TrainCache(cache.path).put("a", other) == ROW  # a second training of one cell: the first wins
    again = TrainCache(cache.path)
    assert len(again) == 1 and again.get("a") == ROW and again.get("b") is None
    # another process's row is found on a miss without a full reload
    TrainCache(cache.path).put("b", other)
    assert again.get("b") is None and again._lookup("b") == other
    assert sorted(p.name for p in cache.path.parent.iterdir()) == ["c.sqlite"]  # no -wal / -shm left


def test_row_or_train_trains_once(tmp_path: Path) -> None:
    calls = []
    cache = TrainCache(tmp_path / "c.sqlite")
    def train() -> dict[str, float]:
        calls.append(1)
        return dict(ROW)

    assert cache.row_or_train({"arch": "x"}, train) == ROW
    assert TrainCache(cache.path).row_or_train({"arch": "x"}, train) == ROW
    assert len(calls) == 1
    meta = sqlite3.connect(cache.path).execute("SELECT meta FROM rows WHERE key = ?",
                                               (cache_key({"arch": "x"}),)).fetchone()[0]
    assert meta == '{"arch": "x"}'


def _old_cache(path: Path, rows: dict[str, dict[str, float]], cut: bool = False) -> None:
    """The HDF5 layout earlier versions wrote: one resizable dataset per field, the key last."""
    kind = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = SCHEMA
        n = len(rows)
        for name, dtype in (("key", kind), ("meta", kind), *((k, np.float64) for k in FIELDS)):
            f.create_dataset(name, shape=(n,), maxshape=(None,), dtype=dtype)
        for i, (key, row) in enumerate(rows.items()):
            f["key"][i], f["meta"][i] = key, "{}"
            for k in FIELDS:
                f[k][i] = row[k]
        if cut:  # a kill after the values of a row, before its key
            for k in FIELDS:
                f[k].resize((n + 1,))


def test_an_old_hdf5_cache_is_imported_once(tmp_path: Path) -> None:
    old = tmp_path / "nb201-train.h5"
    _old_cache(old, {"a": ROW, "b": {**ROW, "val": 7.0}}, cut=True)
    cache = TrainCache(old)  # callers may still name the old file
    assert cache.path == tmp_path / "nb201-train.sqlite"
    assert len(cache) == 2 and cache.get("b")["val"] == 7.0
    _old_cache(old, {"c": ROW})  # rewritten after the import: not read again
    assert len(TrainCache(cache.path)) == 2


def test_a_foreign_or_damaged_file_is_moved_aside(tmp_path: Path, caplog) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"garbage, not a database" * 100)
    with caplog.at_level(logging.WARNING):
        cache = TrainCache(path)
        assert len(cache) == 0
        cache.put("a", ROW)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0] and "c.sqlite" in warnings[0]
    assert TrainCache(path).get("a") == ROW
    assert len(list(tmp_path.glob("c.sqlite.corrupt-*"))) == 1
    other = tmp_path / "o.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert len(TrainCache(other)) == 0 and len(list(tmp_path.glob("o.sqlite.corrupt-*"))) == 1


def test_a_held_lock_is_one_line_after_the_busy_timeout(tmp_path: Path) -> None:
    cache = TrainCache(tmp_path / "c.sqlite", busy_s=0.2)
    cache.put("a", ROW)
    holder = sqlite3.connect(cache.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DataError, match=r"stayed locked by another process for 0.2 s") as err:
            TrainCache(cache.path, busy_s=0.2).put("b", ROW)
        assert "\n" not in str(err.value)
        assert TrainCache(cache.path, busy_s=0.2).get("a") == ROW  # readers are not blocked (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
