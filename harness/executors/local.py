"""``local``: worker processes on this machine (the default executor).

The pool forks, and each child receives the work function when it starts (nothing is pickled but
the chunks and their summaries), so the tasks' tables are shared with the parent rather than copied
per chunk. One worker, or a single chunk, runs in this process.
"""
from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterator

from harness.registry import EXECUTORS

Chunk = list[tuple[str, str, int]]
Work = Callable[[Chunk], list[dict[str, Any]]]

_ADOPTED: list[Work] = []  # in a forked child: the work its parent handed over at start


def _adopt(work: Work) -> None:
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
        with ctx.Pool(min(self.workers, len(chunks)), initializer=_adopt, initargs=(work,)) as pool:
            yield from pool.imap_unordered(_run_adopted, chunks)
