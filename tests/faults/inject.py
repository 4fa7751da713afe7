"""Kill injection for fault tests: run a function in a forked child that SIGKILLs itself at the n-th
durable write (``os.write``, ``os.fsync``, ``os.replace``); a cut ``os.write`` first writes half of
its buffer, as a kill in the middle of an append would."""
from __future__ import annotations

import multiprocessing
import os
import signal
from typing import Callable

WRITES = ("write", "fsync", "replace")


def _child(n: int, fn: Callable[[], object]) -> None:
    count = {"n": 0}
    real = {name: getattr(os, name) for name in WRITES}

    def due() -> bool:
        count["n"] += 1
        return count["n"] == n

    def write(fd, data):
        if due():
            real["write"](fd, bytes(data)[: max(1, len(data) // 2)])
            os.kill(os.getpid(), signal.SIGKILL)
        return real["write"](fd, data)

    def fsync(fd):
        if due():
            os.kill(os.getpid(), signal.SIGKILL)
        return real["fsync"](fd)

    def replace(src, dst, **kw):
        if due():
            os.kill(os.getpid(), signal.SIGKILL)
        return real["replace"](src, dst, **kw)

    os.write, os.fsync, os.replace = write, fsync, replace
    fn()
    os._exit(0)


def killed_at(n: int, fn: Callable[[], object]) -> bool:
    """Run ``fn`` in a child killed at its n-th durable write; True if the kill happened, False if
    ``fn`` finished first (there were fewer writes)."""
    p = multiprocessing.get_context("fork").Process(target=_child, args=(n, fn))
    p.start()
    p.join()
    if p.exitcode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"the child failed (exit code {p.exitcode})")
    return p.exitcode == -signal.SIGKILL
