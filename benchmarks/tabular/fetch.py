"""`data fetch` / `data verify`: put a manifest data set (``data_manifest.py``) into a folder.

Fetching downloads each file that is not already there with the right sha256, builds the
``derived/`` conversions (``nb201_derived.py``) and checks they reproduce the manifest's sha256,
then prepares the table (``nb201_table.py``) inside the folder, where ``--data DIR`` finds it. A
file in the folder with the wrong bytes is moved to ``<name>.corrupt`` (kept, never overwritten)
and fetched again. Every file appears whole or not at all; a killed fetch resumes where it stopped.
One fetch per folder at a time (``.fetch.lock`` under ``flock``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from benchmarks.tabular.data_manifest import DataSet, dataset
from benchmarks.tabular.download import download, file_sha256
from benchmarks.tabular.nb201_derived import convert
from harness.atomic import atomic_path
from harness.errors import DataError

log = logging.getLogger(__name__)
LOCK = ".fetch.lock"
NOT_BUILT = "not built (prepared into the cache on first use)"


@dataclass(frozen=True)
class Check:
    """What ``verify`` found for one file: ``ok``, ``missing``, or what is wrong with it. A table that
    is not built is fine (``NOT_BUILT``): the loader prepares it into the cache on first use."""

    path: str
    status: str

    @property
    def ok(self) -> bool:
        return self.status in ("ok", NOT_BUILT)


@contextlib.contextmanager
def _folder_lock(dest: Path) -> Iterator[None]:
    dest.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise DataError(f"{dest} is being fetched by another process; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _state(path: Path, sha256: str, size: int) -> str:
    if not path.is_file():
        return "missing"
    if path.stat().st_size != size:
        return f"{path.stat().st_size} bytes, expected {size}"
    if file_sha256(path) != sha256:
        return "sha256 differs from the manifest"
    return "ok"


def _move_aside(path: Path, why: str) -> None:
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    log.warning("%s: %s; moved to %s and fetching it again", path, why, aside.name)


class _Bar:
    """Bytes progress on stderr: a tqdm bar on a terminal, one line per file otherwise."""

    def __init__(self, total: int, quiet: bool) -> None:
        self._tqdm = None
        self.quiet = quiet
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, unit="B", unit_scale=True, desc="fetch", file=sys.stderr)

    def file(self, i: int, n: int, path: str, size: int) -> None:
        if self._tqdm is None and not self.quiet:
            print(f"[{i}/{n}] downloading {path} ({size / 1e6:.1f} MB)", file=sys.stderr, flush=True)

    def update(self, n: int) -> None:
        if self._tqdm is not None:
            self._tqdm.update(n)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


def fetch(name: str, dest: Path, mirror: str | None = None, quiet: bool = False) -> Path:
    """Download, verify and convert data set ``name`` into ``dest``; returns the folder to pass as --data."""
    ds = dataset(name)
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise DataError(f"--dest {dest} is a file, not a folder")
    with _folder_lock(dest):
        todo = []
        for f in ds.files:
            state = _state(dest / f.path, f.sha256, f.size)
            if state == "ok":
                continue
            if state != "missing":
                _move_aside(dest / f.path, state)
            todo.append(f)
        bar = _Bar(sum(f.size for f in todo), quiet)
        try:
            for i, f in enumerate(todo, 1):
                bar.file(i, len(todo), f.path, f.size)
                download(f.url_from(mirror), dest / f.path, f.sha256, f.size, bar.update)
        finally:
            bar.close()
        rebuilt = _build_derived(ds, dest, quiet)
        if ds.table:
            _build_table(ds, dest, quiet, stale=bool(todo or rebuilt))
    return dest


def _build_derived(ds: DataSet, dest: Path, quiet: bool) -> int:
    """Convert what is missing or wrong; returns how many files were written."""
    written = 0
    for d in ds.derived:
        out = dest / d.path
        state = _state(out, d.sha256, d.size)
        if state == "ok":
            continue
        if state != "missing":
            _move_aside(out, state)
        if not quiet:
            print(f"converting {', '.join(d.sources[:2])}{' …' if len(d.sources) > 2 else ''} -> {d.path}",
                  file=sys.stderr, flush=True)
        data = convert(d.how, [dest / s for s in d.sources])
        if hashlib.sha256(data).hexdigest() != d.sha256:
            raise DataError(f"converting to {d.path} gave other bytes than the manifest's (sha256 differs); "
                            f"nothing was written to {out}")
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
        written += 1
    return written


def _build_table(ds: DataSet, dest: Path, quiet: bool, stale: bool) -> None:
    """Prepare the table unless one that verifies is there and no source changed in this fetch."""
    from benchmarks.tabular.nb201_table import open_table, prepare

    out = dest / ds.table
    if out.exists() and not stale:
        try:
            open_table(out)
            return
        except DataError as exc:
            _move_aside(out, str(exc))
    if not quiet:
        print(f"preparing the table {out}", file=sys.stderr, flush=True)
    prepare(dest, out)


def verify(name: str, dest: Path) -> list[Check]:
    """One ``Check`` per manifest file, derived file and the prepared table (read-only)."""
    ds = dataset(name)
    dest = Path(dest).expanduser()
    checks = [Check(f.path, _state(dest / f.path, f.sha256, f.size)) for f in ds.files]
    checks += [Check(d.path, _state(dest / d.path, d.sha256, d.size)) for d in ds.derived]
    if ds.table:
        from benchmarks.tabular.nb201_table import open_table

        table = dest / ds.table
        status = NOT_BUILT
        if table.exists():
            try:
                open_table(table)
                status = "ok"
            except DataError as exc:
                status = str(exc)
        checks.append(Check(ds.table, status))
    return checks
