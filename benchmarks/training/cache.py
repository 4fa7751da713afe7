"""Append-only HDF5 cache of trained results keyed by (arch, dataset, recipe, net, seed, epochs), so a
repeated query is answered without training and the answers survive a crash (flushed per row)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

from harness.errors import DataError
from harness.lockstep import Lockstep

log = logging.getLogger(__name__)

FIELDS = ("val", "test", "cost_s", "epochs", "train_s")
_KEY = h5py.string_dtype()


def cache_key(identity: dict[str, Any]) -> str:
    """Stable hex key of a JSON-able identity."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:40]


class TrainCache:
    """Results by key; the file is opened only to read or append, so runs may share it in turn.

    The file is read on first use, not when the cache is made: under torchrun only rank 0 uses it,
    and the other ranks must not touch it (not even to move an unreadable file aside)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._rows: dict[str, dict[str, float]] = {}
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self.reload()

    def reload(self) -> None:
        """Read every row written so far (by this or an earlier process)."""
        self._loaded = True
        if not self.path.exists():
            return
        try:
            with self._open("r") as f:
                keys = f["key"].asstr()[()]
                cols = {k: f[k][()] for k in FIELDS}
        except (OSError, KeyError) as exc:  # a kill while the file was being created
            bad = self.path.with_name(self.path.name + f".corrupt-{int(time.time())}")
            log.warning("training cache %s unreadable (%s); moved to %s", self.path, exc, bad)
            os.replace(self.path, bad)
            return
        n = min(len(keys), *(len(v) for v in cols.values()))
        for i in range(n):
            self._rows[str(keys[i])] = {k: float(cols[k][i]) for k in FIELDS}

    def get(self, key: str) -> dict[str, float] | None:
        self._load()
        return self._rows.get(key)

    def put(self, key: str, row: dict[str, float], meta: str = "") -> None:
        """Append one result and flush it to disk."""
        self._load()
        self._rows[key] = dict(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            part = self.path.with_name(self.path.name + ".part")
            with h5py.File(part, "w") as f:
                f.attrs["schema"] = "nas-harness-train-cache"
                for name, dtype in (("key", _KEY), ("meta", _KEY), *((k, np.float64) for k in FIELDS)):
                    f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(64,))
            os.replace(part, self.path)
        with self._open("a") as f:
            n = f["key"].shape[0]
            # the key is written last: a kill mid-append leaves a row without a key, ignored on reload
            for name, value in (*((k, row[k]) for k in FIELDS), ("meta", meta), ("key", key)):
                f[name].resize((n + 1,))
                f[name][n] = value
            f.flush()

    def row_or_train(self, ident: dict[str, Any], train: Callable[[], dict[str, float]]) -> dict[str, float]:
        """The cached row of ``ident``, else ``train()``'s, stored. Under torchrun rank 0 alone reads and
        writes the cache and every rank takes its answer: a hit on one rank and a miss on another would
        leave the miss waiting in a collective forever, and the measured seconds differ per rank (rank
        0's are charged). On a miss every rank trains (collectively)."""
        key = cache_key(ident)
        lock = Lockstep.join()
        hit = lock.share(lambda: self._lookup(key))
        if hit is not None:
            return hit
        row = train()
        return lock.share(lambda: self._store(key, row, ident))

    def _lookup(self, key: str) -> dict[str, float] | None:
        hit = self.get(key)
        if hit is None:
            self.reload()  # another process may have trained it meanwhile
            hit = self.get(key)
        return hit

    def _store(self, key: str, row: dict[str, float], ident: dict[str, Any]) -> dict[str, float]:
        self.put(key, row, meta=json.dumps(ident, sort_keys=True))
        return row

    def __len__(self) -> int:
        self._load()
        return len(self._rows)

    def _open(self, mode: str, tries: int = 50) -> h5py.File:
        """Open, waiting while another process holds the file lock."""
        for i in range(tries):
            try:
                return h5py.File(self.path, mode)
            except OSError as exc:  # h5py reports a held lock as errno 11 (EAGAIN)
                if getattr(exc, "errno", None) != 11 and "lock" not in str(exc):
                    raise
                time.sleep(0.05 * (i + 1))
        raise DataError(f"training cache {self.path} stayed locked by another process for a minute")
