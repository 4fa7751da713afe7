"""``local``: worker processes on this machine (the default executor).

Workers are forked and receive the work function as they start (nothing is pickled but the chunks
and their results), so the tasks' tables are shared with the parent rather than copied per chunk.
Each worker takes the next chunk from a queue and sends its result back; the driver writes it
(harness/runner.py). One worker, or a single chunk, runs in this process. A worker dies with its
parent (the kernel's parent-death signal, and a watch on the parent's pid where that signal is
missing), so a killed study leaves no worker writing behind it; a worker that dies stops the study
with one line naming it, and what finished before is already stored.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait
from typing import Any, Callable, Iterator

from harness.errors import HarnessError
from harness.registry import EXECUTORS

Chunk = list[tuple[str, str, int]]
Work = Callable[[Chunk], Any]

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


def _serve(work: Work, todo: Any, done: Any, parent: int, env: dict[str, str]) -> None:
    """A worker's loop: run chunks (index, chunk) until told to stop (None)."""
    die_with_parent(parent)
    os.environ.update(env)
    while True:
        item = todo.get()
        if item is None:
            return
        i, chunk = item
        try:
            done.put((i, work(chunk), None))
        except BaseException as exc:  # noqa: BLE001 - sent to the driver, which raises it
            done.put((i, None, exc))


def forked_map(work: Work, chunks: list[Chunk], envs: list[dict[str, str]]) -> Iterator[Any]:
    """Each chunk's result as it finishes, from one forked worker per entry of ``envs`` (that
    worker's extra environment); a worker that dies raises HarnessError naming it."""
    ctx = multiprocessing.get_context("fork")
    todo, done = ctx.SimpleQueue(), ctx.SimpleQueue()
    procs = [ctx.Process(target=_serve, args=(work, todo, done, os.getpid(), env), daemon=True) for env in envs]
    for p in procs:
        p.start()

    def feed() -> None:  # a thread: results may fill their pipe while chunks are still being handed out
        for item in enumerate(chunks):
            todo.put(item)
        for _ in procs:
            todo.put(None)

    threading.Thread(target=feed, daemon=True, name="chunk-feed").start()
    try:
        left, live = len(chunks), list(procs)
        while left:
            ready = wait([done._reader, *(p.sentinel for p in live)])
            if done._reader not in ready:
                gone = [p for p in live if p.sentinel in ready]
                for p in gone:
                    p.join()
                    if p.exitcode != 0:
                        raise HarnessError(f"worker pid {p.pid} died (exit code {p.exitcode}) with {left} "
                                           "chunk(s) unfinished; finished runs are stored, rerun to complete")
                live = [p for p in live if p not in gone]
                if not live:
                    raise HarnessError(f"every worker ended with {left} chunk(s) unfinished")
                continue
            _, result, exc = done.get()
            left -= 1
            if exc is not None:
                raise exc
            yield result
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join()


@EXECUTORS.register("local")
class LocalExecutor:
    """Processes on this machine (fork); results come back as each chunk finishes."""

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)

    def map(self, work: Work, chunks: list[Chunk]) -> Iterator[Any]:
        if self.workers <= 1 or len(chunks) < 2:
            yield from map(work, chunks)
            return
        yield from forked_map(work, chunks, [{}] * min(self.workers, len(chunks)))
