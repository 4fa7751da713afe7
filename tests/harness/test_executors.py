"""Every executor gives the local executor's trajectories bit for bit (the measured ``wall_s`` aside),
the driver alone writes the store, a killed worker loses nothing and a rerun completes, and resume
is the grid minus the stored runs whichever executor runs the rest. Each Ray case runs in a process
of its own with a local Ray instance (2 CPUs; tests/harness/ray_study.py); submitit runs in its local
mode; the ``gpus`` executor sees fake devices through ``CUDA_VISIBLE_DEVICES`` only."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import HarnessError
from harness.runner import CompareSpec, compare
from tests.harness.executor_study import METHODS, SEEDS, assert_same as _assert_same, rows as _rows
from tests.harness.executor_study import spec as _spec

REPO = Path(__file__).resolve().parents[2]


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


def _ray_log_errors(root: Path) -> str:
    """The error lines of a Ray instance's own logs (raylet, GCS, the driver's core worker)."""
    lines = []
    for log in sorted(root.glob("session_*/logs/*")):
        if log.is_file() and log.suffix in (".out", ".err", ".log"):
            text = log.read_text(errors="replace").splitlines()
            lines += [f"{log.name}: {t[:300]}" for t in text if " E " in t[:40] or " C " in t[:40]
                      or " F " in t[:40] or "Check failed" in t]
    return "\n".join(lines[-30:]) or "(no error lines in Ray's logs)"


def _ray_study(case: str, out: Path, nb201_data: Path, harness_cache: Path) -> dict:
    """Run one Ray case in its own process (tests/harness/ray_study.py) and return what it found.

    A Ray driver ends its process at once when its raylet dies, so pytest is never the driver. If
    the driver process dies without a result and without a traceback of its own (Ray's failure,
    not the case's: the executor calls only Ray's public API), the case runs once more in a fresh
    instance and the first death is reported as a warning with Ray's error lines; a second death
    skips the test with them, as Ray not working here. A case that runs and finds wrong rows, or
    a traceback from the case, fails."""
    pytest.importorskip("ray", reason="the ray executor's tests need Ray (pip install -e '.[dev]')")
    deaths = []
    for attempt in range(2):
        where = out.parent / f"{out.name}-try{attempt}"
        result = out.parent / f"{out.name}-try{attempt}.json"
        ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths are limited
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "RAY_TMPDIR": str(ray_tmp)}
        try:
            proc = subprocess.run([sys.executable, "-m", "tests.harness.ray_study", case, str(where),
                                   str(nb201_data), str(harness_cache), str(result)],
                                  cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
            if proc.returncode == 0 and result.is_file():
                if deaths:
                    warnings.warn(f"Ray case {case!r}: the first driver died; the rerun passed.\n{deaths[0]}")
                got = json.loads(result.read_text())
                got["out"] = where
                return got
            death = (f"driver exit {proc.returncode}\n{proc.stdout[-1500:]}{proc.stderr[-3000:]}\n"
                     f"{_ray_log_errors(ray_tmp)}")
            if "Traceback" in proc.stderr:
                pytest.fail(f"Ray case {case!r} failed: {death}", pytrace=False)
            deaths.append(death)
        finally:
            shutil.rmtree(ray_tmp, ignore_errors=True)
    pytest.skip("Ray itself failed here: the case's driver died twice without a traceback:\n"
                + "\n---\n".join(deaths))


def test_ray_runs_the_study_bit_identical_to_local(reference, nb201_data, harness_cache, tmp_path):
    got = _ray_study("same", tmp_path / "runs", nb201_data, harness_cache)
    assert got["records"] == 40 and got["skipped"] == 0
    _assert_same(_rows(got["out"]), reference)
    assert not list(got["out"].rglob("*.journal"))


def test_a_killed_ray_worker_loses_nothing_and_the_rerun_completes(reference, nb201_data, harness_cache, tmp_path):
    got = _ray_study("kill", tmp_path / "runs", nb201_data, harness_cache)
    assert got["kill_error"] is None and got["killed"]
    assert "failed on Ray" in got.get("error", ""), got
    assert not got["kill_slot_kept"]
    kept = {(m, s) for m, s in got["kept"]}
    assert got["rerun_skipped"] == len(kept)  # what came back before the kill was stored, whole
    _assert_same(_rows(got["out"]), reference)  # and the rerun completed the rest, as the local runs


def test_ray_retries_a_killed_worker_and_the_study_completes(reference, nb201_data, harness_cache, tmp_path):
    got = _ray_study("retry", tmp_path / "runs", nb201_data, harness_cache)
    assert got["kill_error"] is None and got["killed"] and "error" not in got, got
    assert got["records"] == 40
    _assert_same(_rows(got["out"]), reference)


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


def test_a_failed_task_of_a_multi_task_element_stops_its_peers_at_once(tmp_path, monkeypatch):
    """tasks_per_run=2 in submitit's local mode, where no srun kills a job's other tasks: rank 0 fails
    right after the ranks join; the study stops with one line naming the task, well before rank 1's
    wait would end, and rank 1 is gone."""
    pytest.importorskip("submitit", reason="the slurm executor's tests need submitit (pip install -e '.[dev]')")
    from types import SimpleNamespace

    from harness.executors.slurm import SlurmExecutor
    from tests.harness.executor_study import RankZeroFails

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    flags = tmp_path / "flags"
    flags.mkdir()
    work = RankZeroFails(SimpleNamespace(benchmark="nb201-train", out=tmp_path / "runs"), flags)
    t0 = time.monotonic()
    with pytest.raises(HarnessError, match=r"slurm job \S+ task 0 failed \(RuntimeError: rank 0 fails on purpose\); "
                                           "its other tasks were stopped"):
        list(SlurmExecutor(1, cluster="local", poll_s=0.2, tasks_per_run=2).map(work, [[("digits", "m", 0)]]))
    assert time.monotonic() - t0 < 120  # rank 1 alone would wait 600 s
    pid = int((flags / "rank1.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"rank 1 (pid {pid}) was left running")
