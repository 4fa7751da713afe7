"""``ray``: each chunk a Ray task, on this machine or on a cluster (``--address auto`` joins one).

The work, tasks included, goes to the object store once; each chunk is a task asking for the
resources its benchmark declares (``ChunkWork.resources`` in harness/runner.py: one CPU for tables
and surrogates, a GPU as well for measured training). Results come back to the driver, the store's
one writer, so workers need neither shared disk nor the data. A worker that dies is retried by Ray
up to ``max_retries`` times (the chunk runs again: same seeds, same trajectories); past that the
study stops with one line, what finished is stored, and a rerun completes it. Ray is imported only
when this executor runs (the ``ray`` extra).
"""
from __future__ import annotations

import socket
from typing import Any, Iterator

from harness.errors import HarnessError
from harness.registry import EXECUTORS

Chunk = list[tuple[str, str, int]]
CONNECT_TIMEOUT_S = 5.0  # how long a named address may take to accept a connection before the study stops


def _check_answers(address: str, timeout_s: float) -> None:
    """Stop at once when nothing listens at a ``host:port`` address (``ray://host:port`` too):
    Ray itself would retry the connection for minutes before its error. ``auto`` and other forms
    are left to Ray, which fails fast when it finds no cluster."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or "/" in host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise HarnessError(f"could not join the Ray cluster at {address}: nothing answers there within "
                           f"{timeout_s:g} s ({type(exc).__name__}: {exc}); is `ray start --head` running "
                           "and the port reachable?") from None


def _run_chunk(work: Any, chunk: Chunk) -> Any:
    return work(chunk)


@EXECUTORS.register("ray")
class RayExecutor:
    """Each chunk a Ray task with its benchmark's resources; `--address auto` joins a cluster."""

    def __init__(self, workers: int, address: str | None = None, max_retries: int = 3,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.workers, self.address, self.max_retries = int(workers), address, int(max_retries)
        self.connect_timeout_s = float(connect_timeout_s)

    def map(self, work: Any, chunks: list[Chunk]) -> Iterator[Any]:
        try:
            import ray
        except ImportError:
            raise HarnessError("the ray executor needs Ray: pip install 'nas-harness[ray]'") from None
        started = not ray.is_initialized()
        if started:  # a cluster someone started (the tests', a user's) is used as it is and left running
            if self.address:
                _check_answers(self.address, self.connect_timeout_s)
            try:
                ray.init(address=self.address, num_cpus=None if self.address else self.workers,
                         include_dashboard=False, log_to_driver=False, configure_logging=False)
            except Exception as exc:  # Ray's own errors (no cluster at the address, ...), as one line
                where = f"join the Ray cluster at {self.address}" if self.address else "start a local Ray instance"
                raise HarnessError(f"could not {where} ({type(exc).__name__}: {exc})") from None
        pending: dict[Any, int] = {}
        try:
            need = work.resources() if hasattr(work, "resources") else {"num_cpus": 1.0}
            have = ray.cluster_resources()
            if need.get("num_gpus", 0) > have.get("GPU", 0):
                raise HarnessError(f"each chunk needs {need['num_gpus']:g} GPU(s) but the Ray cluster has "
                                   f"{have.get('GPU', 0):g}")
            shipped = ray.put(work.portable() if hasattr(work, "portable") else work)
            task = ray.remote(_run_chunk).options(max_retries=self.max_retries, **need)
            pending = {task.remote(shipped, c): i for i, c in enumerate(chunks)}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    i = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        raise HarnessError(f"chunk {i} failed on Ray ({type(exc).__name__}: {first}); "
                                           "finished runs are stored, rerun to complete") from None
                    yield result
        finally:
            for ref in pending:  # not force=True: a chunk still running is interrupted, its worker kept
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - an already finished or lost task; the study is stopping
                    pass
            if started:
                ray.shutdown()
