"""Kills at every durable write of a study, damaged store files, concurrent writers and orphaned
workers: every resumed study equals the clean one value by value, and nothing is blocked or lost
beyond the row being written."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.runner import CompareSpec, compare
from harness.store import scan
from tests.faults.inject import killed_at

REPO = Path(__file__).resolve().parents[2]


def _spec(out, data, cache, methods=("random_search", "regularized_evolution"), seeds=(0, 1, 2), evals=None):
    return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=methods, seeds=seeds,
                       budget=Budget(max_evals=evals) if evals else Budget(max_cost_s=12000), out=out, data=str(data),
                       cache=str(cache), workers=1,
                       method_configs={"regularized_evolution": {"population": 3, "sample_size": 2}})


def _runs(out: Path, measured_columns: tuple[str, ...] = ("wall_s",)) -> dict:
    """slot -> the run's rows (all columns but the measured ones); fails on duplicates or leftovers."""
    found: dict = {}
    for path, runs, error in scan(out):
        assert error is None, error
        for r in runs:
            assert r.status == "complete", r.location
            assert r.slot not in found, f"{r.slot} stored twice"
            t = r.trajectory
            found[r.slot] = (t.codes.tobytes(), *(t[k].tobytes() for k in t.columns if k not in measured_columns))
    assert not [p for p in out.rglob("*") if p.name.endswith(".part") or p.suffix == ".journal"]
    return found


def _every_kill(make_spec, ref: dict, limit: int = 200) -> int:
    """Kill a study at its 1st, 2nd, ... durable write until it finishes unkilled; after each kill the
    resumed study must equal ``ref``. Returns how many kill points there were."""
    for n in range(1, limit):
        spec = make_spec(n)
        if not killed_at(n, lambda spec=spec: compare(spec)):
            assert _runs(spec.out) == ref
            return n - 1
        compare(spec)  # resume
        assert _runs(spec.out) == ref, f"kill at write {n}"
    raise AssertionError("the study never finished")


def test_a_tabular_study_killed_at_every_write_resumes_identical(nb201_data, harness_cache, tmp_path):
    compare(_spec(tmp_path / "ref", nb201_data, harness_cache))
    ref = _runs(tmp_path / "ref")
    points = _every_kill(lambda n: _spec(tmp_path / f"k{n}", nb201_data, harness_cache), ref)
    assert points >= 6 * 2  # one pack per chunk here: its fsync and rename, at least


@pytest.fixture
def measured_nb201(monkeypatch):
    """NB201 with its costs declared measured, so its runs are durable (journaled row by row) while
    staying deterministic: the real-training path of the store at table speed."""
    from benchmarks.nb201 import NB201Task

    attrs = NB201Task.attrs
    monkeypatch.setattr(NB201Task, "attrs", lambda self: {**attrs(self), "cost_unit": "measured_s"})


def test_a_durable_study_killed_at_every_write_resumes_identical(nb201_data, harness_cache, tmp_path, measured_nb201):
    def spec(out):
        return _spec(out, nb201_data, harness_cache, methods=("regularized_evolution",), seeds=(0, 1), evals=6)

    compare(spec(tmp_path / "ref"))
    ref = _runs(tmp_path / "ref")
    assert len(ref) == 2 and all(p.name.startswith("seed-") for p in (tmp_path / "ref").rglob("*.h5"))
    points = _every_kill(lambda n: spec(tmp_path / f"k{n}"), ref)
    assert points >= 2 * 6 * 2  # every row's write and fsync, at least


def _patch(path: Path, offset: int | None = None, size: int = 4096) -> None:
    """``size`` random bytes over the middle of a file (or at ``offset``)."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at:at + size] = np.random.default_rng(0).bytes(min(size, len(data) - at))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["patch", "truncate", "zero"])
def test_damaged_packs_are_detected_moved_aside_and_run_again(nb201_data, harness_cache, tmp_path, damage, caplog):
    out = tmp_path / "s"
    compare(_spec(out, nb201_data, harness_cache))
    ref = _runs(out)
    pack = sorted(out.rglob("pack-*.h5"))[0]
    if damage == "patch":
        _patch(pack)
    elif damage == "truncate":
        pack.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    else:
        pack.write_bytes(bytes(pack.stat().st_size))
    redo = compare(_spec(out, nb201_data, harness_cache))
    assert sum(not r["skipped"] for r in redo) >= 1
    assert (pack.parent / (pack.name + ".corrupt")).exists() and pack.name in caplog.text
    (pack.parent / (pack.name + ".corrupt")).unlink()
    assert _runs(out) == ref


def test_a_damaged_run_file_and_a_damaged_journal_are_handled(nb201_data, harness_cache, tmp_path, measured_nb201):
    from harness.journal import read_journal

    def spec(out):
        return _spec(out, nb201_data, harness_cache, methods=("regularized_evolution",), seeds=(0, 1), evals=30)

    compare(spec(tmp_path / "ref"))
    ref = _runs(tmp_path / "ref")
    out = tmp_path / "s"
    compare(spec(out))
    own = sorted(out.rglob("seed-0.h5"))[0]
    _patch(own)
    # seed 1 was killed mid-run, and its journal then damaged in the middle
    (out / "nb201" / "cifar10-valid" / "regularized_evolution" / "seed-1.h5").unlink()
    assert killed_at(40, lambda: compare(_spec(out, nb201_data, harness_cache, methods=("regularized_evolution",),
                                                seeds=(1,), evals=30)))
    journal = sorted(out.rglob("seed-1.journal"))[0]
    full = len(read_journal(journal).trajectory)
    _patch(journal, offset=journal.stat().st_size * 4 // 5, size=64)
    kept = read_journal(journal)
    assert kept.damaged and 0 < len(kept.trajectory) < full  # the rows before the damage are kept
    compare(spec(out))
    for p in out.rglob("*.corrupt"):
        p.unlink()
    assert _runs(out) == ref


CLI = [sys.executable, "-m", "harness", "compare", "--benchmark", "nb201", "--dataset", "cifar10-valid",
       "--methods", "random_search,regularized_evolution", "--budget-seconds", "12000"]


def _env(nb201_data, harness_cache):
    return {**os.environ, "PYTHONPATH": str(REPO), "NAS_HARNESS_DATA": str(nb201_data),
            "NAS_HARNESS_CACHE": str(harness_cache)}


def test_two_compares_on_one_out_one_runs_the_other_stops(nb201_data, harness_cache, tmp_path):
    cmd = [*CLI, "--seeds", "0:300", "--out", str(tmp_path / "runs"), "--workers", "1"]
    procs = [subprocess.Popen(cmd, env=_env(nb201_data, harness_cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    err = next(e for (o, e), p in zip(outs, procs) if p.returncode == 2).strip().splitlines()
    assert len(err) == 1 and "being written by another compare" in err[0], err
    assert len(_runs(tmp_path / "runs")) == 600  # every run once


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_killing_the_study_kills_its_workers(nb201_data, harness_cache, tmp_path):
    cmd = [*CLI, "--seeds", "0:4000", "--out", str(tmp_path / "runs"), "--workers", "2"]
    proc = subprocess.Popen(cmd, env=_env(nb201_data, harness_cache), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert len(workers) == 2, "the pool never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    for _ in range(50):
        alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in (Path(f"/proc/{w}/stat").read_text()
                                                                                       .rsplit(")", 1)[1].split()[0])]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their study"
    assert b"Traceback" not in proc.stderr.read()


def _training_spec(out: Path, cache: Path) -> CompareSpec:
    return CompareSpec(benchmark="nb201-train", datasets=("digits",), methods=("random_search",), seeds=(0,),
                       budget=Budget(max_evals=3), out=out, cache=str(cache), workers=1,
                       benchmark_options={"C": 4, "N": 1, "train_images": 64, "threads": 1,
                                          "recipe_changes": {"epochs": 1, "batch_size": 32}})


MEASURED = ("cost_s", "cum_cost_s", "wall_s")


@pytest.mark.parametrize("points", [pytest.param((2, 5, 8), id="three-kills"),
                                    pytest.param(None, id="every-write", marks=pytest.mark.skipif(
                                        not os.environ.get("NAS_HARNESS_LONG_FAULTS"),
                                        reason="the long sweep: set NAS_HARNESS_LONG_FAULTS=1"))])
def test_a_real_training_study_killed_mid_run_resumes_identical(tmp_path, points):
    """Real training on digits, killed at chosen durable writes (or at every one): the resumed runs
    hold the same architectures and values; measured seconds are replayed, not re-measured."""
    pytest.importorskip("torch")
    compare(_training_spec(tmp_path / "ref", tmp_path / "ref-cache"))
    ref = _runs(tmp_path / "ref", MEASURED)
    n = 0
    for n in points or range(1, 200):
        spec = _training_spec(tmp_path / f"k{n}", tmp_path / "cache")
        if not killed_at(n, lambda spec=spec: compare(spec)):
            assert points is None, f"the study finished before write {n}"
            break
        compare(spec)
        assert _runs(spec.out, MEASURED) == ref, f"kill at write {n}"
    assert n > 2
