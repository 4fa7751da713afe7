"""Files written whole: a unique temporary name, fsync, rename, and a checksum of the arrays inside.

Two processes writing the same target never share a temporary (the name carries pid and a random
token), so the loser cannot truncate the winner's file; a kill leaves at most a ``*.part`` file,
which ``remove_parts`` clears once its writer is gone. Readers compare ``array_digest`` of what they
read with the digest stored beside it, so a damaged file is detected, not believed.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

PART = ".part"


def array_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and bytes, in name order (stable across machines)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        if a.dtype.kind == "O":
            for item in a.reshape(-1):
                h.update(item if isinstance(item, bytes) else str(item).encode())
                h.update(b"\0")
        else:
            h.update(a.tobytes())
    return h.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def part_name(target: Path) -> Path:
    """A temporary beside ``target`` that no other writer uses."""
    return target.with_name(f"{target.name}.{os.getpid()}-{os.urandom(4).hex()}{PART}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, sync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsynced and renamed onto ``target``, on any
    error it is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_name(target)
    try:
        yield tmp
        if sync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if sync:
        fsync_dir(target.parent)


def _writer_alive(part: Path) -> bool:
    """Whether the process named in a ``name.<pid>-<token>.part`` file still runs (same host)."""
    stem = part.name[: -len(PART)]
    pid_token = stem.rsplit(".", 1)[-1]
    pid = pid_token.split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_parts(folder: str | os.PathLike, recursive: bool = True) -> int:
    """Delete the temporaries left by writers that are gone; returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = folder.rglob(f"*{PART}") if recursive else folder.glob(f"*{PART}")
    n = 0
    for part in found:
        if part.is_file() and not _writer_alive(part):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
                n += 1
    return n
