"""Every executor gives the local executor's trajectories bit for bit (the measured ``wall_s`` aside),
the driver alone writes the store, a killed worker loses nothing and a rerun completes, and resume
is the grid minus the stored runs whichever executor runs the rest. One local Ray instance (2 CPUs)
serves the whole module; submitit runs in its local mode; the ``gpus`` executor sees fake devices
through ``CUDA_VISIBLE_DEVICES`` only."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import HarnessError
from harness.runner import CompareSpec, compare
from harness.store import scan
from harness.trajectory import COLUMNS

METHODS = ("random_search", "regularized_evolution")
SEEDS = tuple(range(20))
KILL_SEED = 7


def _spec(out: Path, data: Path, cache: Path, executor: str = "local", workers: int = 2, **options) -> CompareSpec:
    return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=METHODS, seeds=SEEDS,
                       budget=Budget(max_cost_s=12000), out=out, data=str(data), cache=str(cache),
                       workers=workers, executor=executor, executor_options=options)


def _rows(out: Path) -> dict:
    found = {}
    for path, runs, err in scan(out):
        assert err is None, err
        for r in runs:
            assert r.status == "complete" and r.slot not in found
            found[r.slot] = r.trajectory
    return found


def _assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key].codes, b[key].codes), key
        for col in COLUMNS:
            if col != "wall_s":  # measured wall-clock: the one column a machine's speed changes
                assert np.array_equal(a[key][col], b[key][col]), (key, col)
        assert a[key].attrs["run_id"] == b[key].attrs["run_id"]


@pytest.fixture(scope="module")
def reference(nb201_data, harness_cache, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("local")
    compare(_spec(out, nb201_data, harness_cache))
    rows = _rows(out)
    assert len(rows) == len(METHODS) * len(SEEDS)
    return rows


def test_slurm_runs_the_study_as_a_job_array_in_submitits_local_mode(reference, nb201_data, harness_cache, tmp_path):
    pytest.importorskip("submitit", reason="the slurm executor's tests need submitit (pip install -e '.[dev]')")
    out = tmp_path / "runs"
    records = compare(_spec(out, nb201_data, harness_cache, "slurm", workers=1, cluster="local", poll_s=0.2))
    assert len(records) == 40
    _assert_same(_rows(out), reference)
    assert len(list((out / ".submitit").rglob("*_result.pkl"))) == 2  # one element per chunk: a method's 20 runs


def test_gpus_gives_each_worker_one_fake_device_and_the_local_trajectories(reference, nb201_data, harness_cache,
                                                                           tmp_path, monkeypatch):
    from harness.executors.gpus import GpuExecutor

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")

    def probe(chunk):
        t0 = time.monotonic()
        time.sleep(0.05)
        return os.environ["CUDA_VISIBLE_DEVICES"], os.getpid(), t0, time.monotonic()

    seen = list(GpuExecutor(8).map(probe, [[("d", "m", s)] for s in range(8)]))
    assert len(seen) == 8 and {d for d, *_ in seen} == {"3", "5"}
    for dev in ("3", "5"):
        spans = sorted((a, b) for d, _, a, b in seen if d == dev)
        assert all(b0 <= a1 for (_, b0), (a1, _) in zip(spans, spans[1:]))  # one run at a time per device
    assert len({p for _, p, *_ in seen}) == 2  # one worker per device, each sees only its own
    out = tmp_path / "runs"
    compare(_spec(out, nb201_data, harness_cache, "gpus"))
    _assert_same(_rows(out), reference)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(HarnessError, match="found no GPU"):
        list(GpuExecutor(1).map(probe, [[("d", "m", 0)]]))


def test_resume_is_the_grid_minus_the_stored_runs_on_any_executor(reference, nb201_data, harness_cache, tmp_path):
    out = tmp_path / "runs"
    first = _spec(out, nb201_data, harness_cache)
    compare(CompareSpec(**{**first.__dict__, "seeds": SEEDS[:8]}))
    records = compare(_spec(out, nb201_data, harness_cache, "gpus", devices="0"))
    assert sum(r["skipped"] for r in records) == 16
    _assert_same(_rows(out), reference)


def test_a_dead_local_worker_stops_the_study_with_one_line(tmp_path):
    from harness.executors.local import LocalExecutor

    def work(chunk):
        if chunk[0][2] == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return chunk

    got = []
    with pytest.raises(HarnessError, match=r"worker pid \d+ died"):
        for r in LocalExecutor(2).map(work, [[("d", "m", s)] for s in range(6)]):
            got.append(r)
    assert all(r[0][2] != 3 for r in got)


def test_executor_options_are_checked_before_any_work(nb201_data, harness_cache, tmp_path):
    with pytest.raises(HarnessError, match="max_retrys"):
        _spec(tmp_path, nb201_data, harness_cache, "ray", max_retrys=0)
    with pytest.raises(HarnessError, match="timeout_min"):
        _spec(tmp_path, nb201_data, harness_cache, "slurm", timeout_min=0)


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_address_where_nothing_answers_stops_at_once():
    """A wrong --address fails in seconds with one line, not after Ray's minutes of reconnecting."""
    import socket

    from harness.executors.ray import RayExecutor, _check_answers

    port = _closed_port()
    t0 = time.perf_counter()
    with pytest.raises(HarnessError, match=f"could not join the Ray cluster at 127.0.0.1:{port}: nothing answers"):
        _check_answers(f"127.0.0.1:{port}", 2.0)
    with pytest.raises(HarnessError, match="nothing answers"):
        _check_answers(f"ray://127.0.0.1:{port}", 2.0)
    assert time.perf_counter() - t0 < 3
    with socket.socket() as listening:  # an address that answers, and forms left to Ray, pass
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        _check_answers(f"127.0.0.1:{listening.getsockname()[1]}", 2.0)
    _check_answers("auto", 2.0)
    try:
        import ray
    except ImportError:
        return  # the executor's own check needs Ray to reach it
    with pytest.raises(HarnessError, match="nothing answers"):  # before any Ray instance starts
        next(RayExecutor(1, address=f"127.0.0.1:{port}", connect_timeout_s=1).map(lambda c: c, [[("d", "m", 0)]]))
    assert not ray.is_initialized()


# Ray last: forking workers (local, gpus) from a process that runs Ray's threads is avoided
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the ray executor's tests need Ray (pip install -e '.[dev]')")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's wrappers travel by value
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_runs_the_study_bit_identical_to_local(reference, ray_cluster, nb201_data, harness_cache, tmp_path):
    records = compare(_spec(tmp_path, nb201_data, harness_cache, "ray"))
    assert len(records) == 40 and not any(r["skipped"] for r in records)
    _assert_same(_rows(tmp_path), reference)
    assert not list(tmp_path.rglob("*.journal"))


class _Stall:
    """The study's work, but the chunk holding ``KILL_SEED`` of REA writes its worker's pid and waits
    to be killed (once: after the kill it runs as usual)."""

    def __init__(self, work, flags: Path) -> None:
        self.work, self.flags = work, flags

    def portable(self, tasks: bool = True) -> "_Stall":
        return _Stall(self.work.portable(tasks), self.flags)

    def resources(self) -> dict:
        return self.work.resources()

    def __call__(self, chunk):
        if (METHODS[1], KILL_SEED) in [(m, s) for _, m, s in chunk] and not (self.flags / "killed").exists():
            (self.flags / "pid").write_text(str(os.getpid()))
            time.sleep(120)
        return self.work(chunk)


def _killing(executor, flags: Path):
    """``executor`` whose work stalls in one chunk, and a thread that SIGKILLs that worker by its pid."""

    def kill() -> None:
        deadline = time.time() + 60
        while not (flags / "pid").exists() and time.time() < deadline:
            time.sleep(0.05)
        pid = int((flags / "pid").read_text())
        (flags / "killed").write_text("")
        os.kill(pid, signal.SIGKILL)

    class Killing(type(executor)):
        def map(self, work, chunks):
            yield from super().map(_Stall(work, flags), chunks)

    killing = Killing.__new__(Killing)
    killing.__dict__.update(executor.__dict__)
    return killing, threading.Thread(target=kill, daemon=True)


def test_a_killed_ray_worker_loses_nothing_and_the_rerun_completes(reference, ray_cluster, nb201_data,
                                                                    harness_cache, tmp_path):
    from harness.runner import make_executor

    flags = tmp_path / "flags"
    flags.mkdir()
    spec = _spec(tmp_path / "runs", nb201_data, harness_cache, "ray", max_retries=0)
    executor, killer = _killing(make_executor(spec), flags)
    killer.start()
    with pytest.raises(HarnessError, match="failed on Ray"):
        compare(spec, executor=executor)
    killer.join()
    kept = _rows(spec.out)  # what came back before the kill is stored, whole and as the local runs
    assert (METHODS[1], KILL_SEED) not in {(m, s) for _, _, m, s in kept}
    _assert_same(kept, {k: reference[k] for k in kept})
    rerun = compare(_spec(spec.out, nb201_data, harness_cache, "ray"))
    assert sum(r["skipped"] for r in rerun) == len(kept)
    _assert_same(_rows(spec.out), reference)


def test_ray_retries_a_killed_worker_and_the_study_completes(reference, ray_cluster, nb201_data,
                                                             harness_cache, tmp_path):
    from harness.runner import make_executor

    flags = tmp_path / "flags"
    flags.mkdir()
    spec = _spec(tmp_path / "runs", nb201_data, harness_cache, "ray", max_retries=1)
    executor, killer = _killing(make_executor(spec), flags)
    killer.start()
    records = compare(spec, executor=executor)
    killer.join()
    assert (flags / "killed").exists() and len(records) == 40
    _assert_same(_rows(spec.out), reference)


def test_the_driver_writes_a_worker_finished_run_file_its_disk_lacks(nb201_task, tmp_path):
    """A durable run finished on a worker without shared disk comes back with the chunk's result."""
    from harness.recorder import read_trajectory
    from harness.run import run_one
    from harness.runner import ChunkResult, store_chunk

    path = tmp_path / "seed-0.h5"
    summary = run_one("random_search", nb201_task("cifar10-valid"), Budget(max_evals=5), 0, path)
    traj = read_trajectory(path)
    path.unlink()  # the worker's disk, not the driver's
    assert store_chunk(ChunkResult([summary], [], files=[(str(path), traj)])) == [summary]
    again = read_trajectory(path)
    assert np.array_equal(again.codes, traj.codes) and again.attrs["run_id"] == traj.attrs["run_id"]
