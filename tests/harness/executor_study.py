"""The study every executor test runs (2 methods x 20 seeds on NB201 cifar10-valid), how its stored
rows are read and compared, a wrapper that stalls one chunk in its worker until a thread kills
that worker by its pid, and work for a multi-task slurm element whose rank 0 fails. Shared by
tests/harness/test_executors.py and the Ray study it runs in a process of its own
(tests/harness/ray_study.py)."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from harness.budget import Budget
from harness.runner import CompareSpec
from harness.store import scan
from harness.trajectory import COLUMNS

METHODS = ("random_search", "regularized_evolution")
SEEDS = tuple(range(20))
KILL_SEED = 7


def spec(out: Path, data: Path, cache: Path, executor: str = "local", workers: int = 2, **options) -> CompareSpec:
    return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=METHODS, seeds=SEEDS,
                       budget=Budget(max_cost_s=12000), out=Path(out), data=str(data), cache=str(cache),
                       workers=workers, executor=executor, executor_options=options)


def rows(out: Path) -> dict:
    found = {}
    for _, runs, err in scan(out):
        assert err is None, err
        for r in runs:
            assert r.status == "complete" and r.slot not in found
            found[r.slot] = r.trajectory
    return found


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key].codes, b[key].codes), key
        for col in COLUMNS:
            if col != "wall_s":  # measured wall-clock: the one column a machine's speed changes
                assert np.array_equal(a[key][col], b[key][col]), (key, col)
        assert a[key].attrs["run_id"] == b[key].attrs["run_id"]


class Stall:
    """The study's work, but the chunk holding ``KILL_SEED`` of REA writes its worker's pid (whole, by
    a rename) and waits to be killed (once: after the kill it runs as usual)."""

    def __init__(self, work, flags: Path) -> None:
        self.work, self.flags = work, flags

    def portable(self, tasks: bool = True) -> "Stall":
        return Stall(self.work.portable(tasks), self.flags)

    def resources(self) -> dict:
        return self.work.resources()

    def __call__(self, chunk):
        if (METHODS[1], KILL_SEED) in [(m, s) for _, m, s in chunk] and not (self.flags / "killed").exists():
            part = self.flags / f"pid.{os.getpid()}"
            part.write_text(str(os.getpid()))
            os.replace(part, self.flags / "pid")
            time.sleep(120)
        return self.work(chunk)


def killing(executor, flags: Path):
    """``executor`` whose work stalls in one chunk, and a thread that SIGKILLs that worker by its pid
    (never this process: a pid that is ours is an error, reported in ``flags / "error"``)."""

    def kill() -> None:
        deadline = time.time() + 60
        while not (flags / "pid").exists() and time.time() < deadline:
            time.sleep(0.05)
        pid = int((flags / "pid").read_text())
        if pid == os.getpid():
            (flags / "error").write_text(f"the stalled chunk ran in the driver (pid {pid})")
            return
        (flags / "killed").write_text("")
        os.kill(pid, signal.SIGKILL)

    class Killing(type(executor)):
        def map(self, work, chunks):
            yield from super().map(Stall(work, flags), chunks)

    killed = Killing.__new__(Killing)
    killed.__dict__.update(executor.__dict__)
    return killed, threading.Thread(target=kill, daemon=True)


class RankZeroFails:
    """Work for a multi-task slurm element (``tasks_per_run``): once the ranks have joined, rank 0
    fails at once and every other rank writes its pid and waits, as a peer blocked in a collective
    would (harness/executors/slurm.py must stop it, not wait for the process group's timeout)."""

    def __init__(self, spec, flags: Path) -> None:
        self.spec, self.flags = spec, flags

    def in_lockstep(self, lock) -> "RankZeroFails":
        self.rank = lock.dist.rank
        return self

    def __call__(self, chunk):
        if self.rank == 0:
            raise RuntimeError("rank 0 fails on purpose")
        (self.flags / f"rank{self.rank}.pid").write_text(str(os.getpid()))
        time.sleep(600)
        return chunk
