"""``local``: worker processes on this machine (the default executor).

The pool forks, and each child receives the work function when it starts (nothing is pickled but
the chunks and their summaries), so the tasks' tables are shared with the parent rather than copied
per chunk. One worker, or a single chunk, runs in this process. A child dies with its parent (the
kernel's parent-death signal, and a watch on the parent's pid where that signal is missing), so a
killed study leaves no worker writing behind it.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterator

from harness.registry import EXECUTORS

Chunk = list[tuple[str, str, int]]
Work = Callable[[Chunk], list[dict[str, Any]]]

_ADOPTED: list[Work] = []  # in a forked child: the work its parent handed over at start


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In a worker: be killed when ``parent`` goes (Linux prctl), else exit once it is gone."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _adopt(work: Work, parent: int) -> None:
    die_with_parent(parent)
    _ADOPTED[:] = [work]


def _run_adopted(chunk: Chunk) -> list[dict[str, Any]]:
    return _ADOPTED[0](chunk)


@EXECUTORS.register("local")
class LocalExecutor:
    """Processes on this machine (fork); results come back as each chunk finishes."""

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)

    def map(self, work: Work, chunks: list[Chunk]) -> Iterator[list[dict[str, Any]]]:
        if self.workers <= 1 or len(chunks) < 2:
            yield from map(work, chunks)
            return
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(self.workers, len(chunks)), initializer=_adopt,
                      initargs=(work, os.getpid())) as pool:
            yield from pool.imap_unordered(_run_adopted, chunks)
