"""The run store: where a study's runs live, how they are found, read, and protected.

Layout under ``--out``: ``<benchmark>/<dataset>/<method>/`` holds that slot's packs, finished run
files (``seed-<s>.h5``) and journals of runs in progress (``seed-<s>.journal``), as the recorder's
rule puts them (``harness.recorder``). File names are for people: runs are found by reading what
the files hold (their attributes), never by parsing names. One writer per store: ``compare`` holds
``StudyLock`` on the folder; readers take no lock (finished files are immutable, journals are read
as plain bytes) and never disturb the writer.

Damaged or foreign files are moved aside to ``<name>.corrupt`` with one warning naming them, and
their runs run again; leftover temporaries of dead writers are removed.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.atomic import remove_parts
from harness.errors import DataError, HarnessError
from harness.journal import JournalContents, read_journal
from harness.packs import read_pack
from harness.recorder import JOURNAL_SUFFIX, STATUS_COMPLETE, STATUS_RUNNING, PackFileError, read_trajectory
from harness.trajectory import Trajectory

log = logging.getLogger(__name__)

LOCK_NAME = ".compare.lock"


class StoreLockedError(HarnessError):
    """Another live process is writing to this store."""


@dataclass
class StoredRun:
    """One run found in a store: where it is, its status, and its rows (a journal's intact rows for a
    run in progress)."""

    location: str
    status: str
    trajectory: Trajectory
    journal: JournalContents | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        return self.trajectory.attrs

    @property
    def slot(self) -> tuple[str, str, str, int]:
        a = self.attrs
        return (str(a.get("benchmark")), str(a.get("dataset")), str(a.get("method")), int(a.get("seed", -1)))


def slot_folder(root: str | os.PathLike, benchmark: str, dataset: str, method: str) -> Path:
    return Path(root) / benchmark / dataset / method


def run_file(root: str | os.PathLike, benchmark: str, dataset: str, method: str, seed: int) -> Path:
    """Where a run of this slot is written when it gets a file of its own."""
    return slot_folder(root, benchmark, dataset, method) / f"seed-{int(seed)}.h5"


def move_aside(path: Path, why: str) -> None:
    """Keep the evidence and get it out of the way: ``<path>.corrupt`` (numbered if taken)."""
    aside = path.with_name(path.name + ".corrupt")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt{n}")
        n += 1
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, aside)
        log.warning("%s; moved to %s and its run(s) will run again", why, aside.name)


def _artifacts(folder: Path, recursive: bool) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    pattern = folder.rglob if recursive else folder.glob
    return sorted(p for suffix in ("*.h5", f"*{JOURNAL_SUFFIX}") for p in pattern(suffix) if p.is_file())


def read_artifact(path: Path) -> list[StoredRun]:
    """Every run a file holds (a pack many, a run file or journal one); DataError when unreadable."""
    if path.suffix == JOURNAL_SUFFIX:
        contents = read_journal(path)
        traj = contents.trajectory
        traj.attrs["status"] = STATUS_RUNNING  # whatever its header says: a journal is a run in progress
        return [StoredRun(str(path), STATUS_RUNNING, traj, contents)]
    try:  # one open for a run file (most files of a training study); a pack is opened again as such
        traj = read_trajectory(path)
    except PackFileError:
        return [StoredRun(loc, str(t.attrs.get("status", STATUS_COMPLETE)), t) for loc, t in read_pack(path)]
    return [StoredRun(str(path), str(traj.attrs.get("status", STATUS_RUNNING)), traj)]


def scan(root: str | os.PathLike, recursive: bool = True,
         on_error: str = "skip") -> Iterator[tuple[Path, list[StoredRun] | None, DataError | None]]:
    """(file, runs, error) for every store file under ``root``. ``on_error="aside"`` (the writer)
    moves an unreadable file aside; ``"skip"`` (readers) leaves it and reports the error."""
    for path in _artifacts(Path(root), recursive):
        try:
            yield path, read_artifact(path), None
        except DataError as exc:
            if on_error == "aside":
                move_aside(path, str(exc))
            yield path, None, exc


def slot_runs(root: str | os.PathLike, benchmark: str, dataset: str, method: str) -> list[StoredRun]:
    """Every readable run stored for one (benchmark, dataset, method); unreadable files go aside."""
    folder = slot_folder(root, benchmark, dataset, method)
    found: list[StoredRun] = []
    for _, runs, _ in scan(folder, recursive=False, on_error="aside"):
        found.extend(runs or ())
    return found


def read_run(folder: str | os.PathLike, seed: int) -> Trajectory:
    """One seed's finished run in a slot folder, found by what the files hold (pack member or file)."""
    for _, runs, _ in scan(folder, recursive=False):
        for run in runs or ():
            if run.slot[3] == int(seed) and run.status == STATUS_COMPLETE:
                return run.trajectory
    raise DataError(f"{folder}: no finished run of seed {seed}")


def best_of(runs: list[StoredRun]) -> StoredRun:
    """Of several copies of one run (a kill between writing a finished file and removing its
    journal), the finished one."""
    return max(runs, key=lambda r: r.status == STATUS_COMPLETE)


class StudyLock:
    """Exclusive hold of a store by one ``compare``: a lock file with the holder's pid and host under
    ``flock`` (released by the kernel when the holder dies, so a stale file is taken over)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd = -1

    def acquire(self) -> "StudyLock":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise HarnessError(f"--out {self.root} is a file, not a folder") from None
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise StoreLockedError(f"{self.root} is being written by another compare ({self._holder()}); "
                                       "wait for it or choose another --out") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder removed the file as we opened it: take the new one
                os.close(fd)
                continue
            self._note_stale(fd)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
            self._fd = fd
            removed = remove_parts(self.root)
            if removed:
                log.info("removed %d leftover temporary file(s) under %s", removed, self.root)
            return self
        raise StoreLockedError(f"could not take the lock {self.path}")

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return "holder unknown"
        return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"

    def _note_stale(self, fd: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            text = os.pread(fd, 4096, 0).decode()
            if text:
                info = json.loads(text)
                if info.get("pid") != os.getpid():  # flock is ours, so its writer is gone
                    log.warning("taking over the lock of %s, left by pid %s on %s (no longer running)",
                                self.root, info.get("pid"), info.get("host"))

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "StudyLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
