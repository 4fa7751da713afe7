"""The training cache: trained results keyed by (arch, dataset, recipe, net, seed, epochs) in an SQLite
database (WAL mode), so a repeated query is answered without training and every answer paid for
survives a kill.

Why SQLite: one committed transaction per row is atomic and durable, so a kill at any write loses at
most the row being written and the file always opens; many processes (parallel ``compare`` workers,
several studies on one cache) read and append at once, waiting on SQLite's busy timeout rather than
guessing at locks from error strings. A file that is not such a database (damaged, foreign) is moved
aside with one warning and a fresh one is started. Rows of the HDF5 cache that earlier versions kept
at ``<name>.h5`` are imported once, so trainings already paid for are kept.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness.atomic import remove_parts
from harness.errors import DataError
from harness.lockstep import Lockstep

log = logging.getLogger(__name__)

FIELDS = ("val", "test", "cost_s", "epochs", "train_s")
SCHEMA = "nas-harness-train-cache"  # also the schema attribute of the old HDF5 cache
VERSION = "2"  # 1 was the HDF5 file
BUSY_S = 60.0  # how long a writer waits for another process's transaction before giving up
SUFFIX = ".sqlite"
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} if hasattr(sqlite3, "SQLITE_BUSY") else {5, 6}
_COLUMNS = ", ".join(FIELDS)
_CREATE = (
    (f"CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, {', '.join(f + ' REAL NOT NULL' for f in FIELDS)}, "
     "meta TEXT NOT NULL DEFAULT '')"),
    "CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def cache_key(identity: dict[str, Any]) -> str:
    """Stable hex key of a JSON-able identity."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:40]


class _Unusable(Exception):
    """The file is not a training cache of this schema (foreign, damaged or of another version)."""


class TrainCache:
    """Results by key. Each operation opens its own short connection, so processes (and forked
    workers) never share one, and the last one to close leaves no ``-wal`` / ``-shm`` files behind.

    The file is read on first use, not when the cache is made: under torchrun only rank 0 uses it,
    and the other ranks must not touch it (not even to move an unreadable file aside). ``path`` may
    name the old ``.h5`` file: the database then lives beside it as ``.sqlite``."""

    def __init__(self, path: Path, busy_s: float = BUSY_S) -> None:
        path = Path(path)
        self.path = path.with_suffix(SUFFIX) if path.suffix == ".h5" else path
        self.legacy = self.path.with_suffix(".h5")
        self._busy_s = float(busy_s)
        self._rows: dict[str, dict[str, float]] = {}
        self._loaded = False
        self._checked = False  # schema verified (and old rows imported) by this object
        self._inode: int | None = None  # the file this object last opened (moved aside only if still it)

    # ------------------------------------------------------------------ public API
    def reload(self) -> None:
        """Read every row written so far (by this or any other process)."""
        self._loaded = True
        if not self.path.exists() and not self.legacy.exists():
            return  # nothing to read: do not create a file just to look
        rows = self._run(lambda c: c.execute(f"SELECT key, {_COLUMNS} FROM rows").fetchall())
        self._rows.update({r[0]: dict(zip(FIELDS, r[1:])) for r in rows})

    def get(self, key: str) -> dict[str, float] | None:
        self._load()
        row = self._rows.get(key)
        return dict(row) if row is not None else None

    def put(self, key: str, row: dict[str, float], meta: str = "") -> dict[str, float]:
        """Store one result, committed (and synced) before this returns. The first row stored for a key
        stays: if two processes trained the same cell at once, both get the same, first, answer."""
        self._load()
        values = tuple(float(row[k]) for k in FIELDS)

        def insert(c: sqlite3.Connection) -> tuple | None:
            with _transaction(c):
                c.execute(f"INSERT OR IGNORE INTO rows (key, {_COLUMNS}, meta) VALUES (?{', ?' * len(FIELDS)}, ?)",
                          (key, *values, meta))
                return c.execute(f"SELECT {_COLUMNS} FROM rows WHERE key = ?", (key,)).fetchone()

        stored = self._run(insert)
        self._rows[key] = dict(zip(FIELDS, stored)) if stored else dict(zip(FIELDS, values))
        return dict(self._rows[key])

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

    def __len__(self) -> int:
        self._load()
        return len(self._rows)

    # ------------------------------------------------------------------ internals
    def _load(self) -> None:
        if not self._loaded:
            self.reload()

    def _lookup(self, key: str) -> dict[str, float] | None:
        hit = self.get(key)
        if hit is None and (self.path.exists() or self.legacy.exists()):
            # another process may have trained it meanwhile: ask the database for this one key
            found = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM rows WHERE key = ?", (key,)).fetchone())
            if found is not None:
                self._rows[key] = dict(zip(FIELDS, found))
                hit = dict(self._rows[key])
        return hit

    def _store(self, key: str, row: dict[str, float], ident: dict[str, Any]) -> dict[str, float]:
        """The trained row with the stored fields (the first process's, if another stored it first); the
        row's other figures (throughput, data wait, last train loss) go into its ``meta`` JSON."""
        figures = {k: float(v) for k, v in row.items() if k not in FIELDS}  # e.g. images/s, data wait
        meta = {**ident, "figures": figures} if figures else ident
        return {**row, **self.put(key, row, meta=json.dumps(meta, sort_keys=True))}

    def _run(self, op: Callable[[sqlite3.Connection], Any]) -> Any:
        """``op`` on a verified connection. A file that turns out not to be a usable cache is moved
        aside once and ``op`` runs on a fresh database; waiting too long for a lock is a DataError."""
        for attempt in range(2):
            try:
                with self._connect() as conn:
                    return op(conn)
            except (sqlite3.DatabaseError, _Unusable) as exc:
                if isinstance(exc, sqlite3.OperationalError) and _busy(exc):
                    raise DataError(f"training cache {self.path} stayed locked by another process for "
                                    f"{self._busy_s:g} s") from None
                if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
                    raise DataError(f"cannot open training cache {self.path}: {exc}") from None
                if attempt:
                    raise DataError(f"training cache {self.path} is unusable even after starting afresh "
                                    f"({exc})") from None
                self._move_aside(exc)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the training cache folder {self.path.parent}: "
                            f"{exc.strerror or exc}") from None
        conn = sqlite3.connect(self.path, timeout=self._busy_s, isolation_level=None)
        with contextlib.suppress(OSError):
            self._inode = os.stat(self.path).st_ino
        try:
            conn.execute("PRAGMA synchronous=FULL")  # each commit is on disk when put returns
            if not self._checked:
                self._check(conn)
                self._checked = True
            yield conn
        finally:
            conn.close()

    def _check(self, conn: sqlite3.Connection) -> None:
        """Create the tables in an empty file, refuse a foreign one, import the old HDF5 rows once."""
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # a filesystem without shared memory: the rollback journal is atomic too
            log.debug("training cache %s: journal mode %s (WAL unavailable)", self.path, mode)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with _transaction(conn):
                for sql in _CREATE:
                    conn.execute(sql)
                conn.execute("INSERT OR IGNORE INTO info VALUES ('schema', ?), ('version', ?)", (SCHEMA, VERSION))
        elif not {"rows", "info"} <= tables:
            raise _Unusable(f"a database with tables {sorted(tables)}, not a training cache")
        info = dict(conn.execute("SELECT name, value FROM info").fetchall())
        if info.get("schema") != SCHEMA or info.get("version") != VERSION:
            raise _Unusable(f"schema {info.get('schema')!r} version {info.get('version')!r}")
        if "legacy_import" not in info and self.legacy.exists():
            self._import_legacy(conn)
        remove_parts(self.path.parent, recursive=False)  # e.g. the old cache's, left by a killed creator

    def _import_legacy(self, conn: sqlite3.Connection) -> None:
        """Copy the rows of the old HDF5 cache in (one transaction, done once: a flag records it)."""
        rows, note = _read_legacy(self.legacy)
        with _transaction(conn):
            if conn.execute("SELECT 1 FROM info WHERE name = 'legacy_import'").fetchone():
                return  # another process imported them meanwhile
            conn.executemany(f"INSERT OR IGNORE INTO rows (key, {_COLUMNS}, meta) VALUES (?{', ?' * len(FIELDS)}, ?)",
                             rows)
            conn.execute("INSERT INTO info VALUES ('legacy_import', ?)", (f"{self.legacy.name}: {note}",))
        if rows:
            log.info("training cache: imported %d rows from %s into %s", len(rows), self.legacy, self.path.name)

    def _move_aside(self, exc: BaseException) -> None:
        """Keep the unusable file as evidence (with its WAL), so a fresh database takes its place."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.time_ns()}")
        self._checked = False
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino != self._inode:
                return  # another process already replaced it with a fresh database: use that one
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):  # gone, or not movable: the fresh start then says why
                os.replace(self.path.with_name(self.path.name + suffix), aside.with_name(aside.name + suffix))
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("training cache %s unreadable (%s); moved to %s and starting a fresh one",
                    self.path, why, aside.name)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front (waiting up to the busy timeout), so
    two writers never deadlock upgrading read locks."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in _BUSY if code is not None else "locked" in str(exc) or "busy" in str(exc)


def _read_legacy(path: Path) -> tuple[list[tuple], str]:
    """Rows of an old HDF5 cache as insert tuples, and a note; a row cut by a kill (no key) is left
    out, an unreadable file gives no rows and says why (it is left where it is)."""
    import h5py  # only for the one-time import of an old cache
    import numpy as np

    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != SCHEMA:
                return [], "not a training cache, nothing imported"
            keys = f["key"].asstr()[()]
            cols = {k: np.asarray(f[k][()], dtype=np.float64) for k in FIELDS}
            meta = f["meta"].asstr()[()] if "meta" in f else []
    except (OSError, KeyError, ValueError) as exc:
        log.warning("old training cache %s unreadable (%s); its rows are not imported", path,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return [], f"unreadable ({type(exc).__name__}), nothing imported"
    n = min(len(keys), *(len(v) for v in cols.values()))
    rows = [(str(keys[i]), *(float(cols[k][i]) for k in FIELDS), str(meta[i]) if i < len(meta) else "")
            for i in range(n) if str(keys[i])]
    return rows, f"{len(rows)} rows"
