"""Simulated parallel workers (harness/simclock.py): one worker reproduces today's sequential rows bit
for bit (and the committed golden regrets); N workers keep N jobs running on a simulated clock whose
rows are ordered by finish time, stay within the wall-clock budget and do not depend on the machine;
sequential methods keep working; bad combinations fail with one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import HarnessError
from harness.run import run_one
from harness.runner import CompareSpec, compare
from harness.store import scan
from harness.trajectory import COLUMNS

REPO = Path(__file__).resolve().parents[2]
BUDGET = Budget(max_cost_s=12000)


def _rows(out: Path) -> dict:
    return {r.slot: r.trajectory for _, runs, _ in scan(out) for r in runs or ()}


def _spec(out, data, cache, methods, seeds, sim=None, budget=BUDGET):
    return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=tuple(methods), seeds=tuple(seeds),
                       budget=budget, out=out, data=str(data), cache=str(cache), workers=1, sim_workers=sim)


@pytest.mark.parametrize("methods", [("random_search", "regularized_evolution"), ("asha", "async_bohb")])
def test_one_simulated_worker_gives_the_sequential_rows(nb201_data, harness_cache, tmp_path, methods):
    compare(_spec(tmp_path / "seq", nb201_data, harness_cache, methods, range(10)))
    compare(_spec(tmp_path / "sim", nb201_data, harness_cache, methods, range(10), sim=1))
    seq, sim = _rows(tmp_path / "seq"), _rows(tmp_path / "sim")
    assert sorted(seq) == sorted(sim) and len(seq) == 20
    for key, a in seq.items():
        b = sim[key]
        assert np.array_equal(a.codes, b.codes), key
        for col in COLUMNS:
            if col != "wall_s":  # measured in the sequential run, simulated (= cum_cost_s) here
                assert np.array_equal(a[col], b[col]), (key, col)
        assert np.array_equal(b["wall_s"], b["cum_cost_s"])
        assert b.attrs["sim_workers"] == 1 and json.loads(b.attrs["sim_worker"]) == [0] * len(b)
        assert a.attrs["ended"] == b.attrs["ended"] == "budget"


def test_one_simulated_worker_reproduces_the_golden_regrets(nb201_task, tmp_path):
    golden = json.loads((REPO / "tests" / "quality" / "golden" / "random_search.json").read_text())
    task = nb201_task("cifar10-valid")
    budget = Budget(**golden["budget"])
    for seed, regret in list(zip(golden["seeds"], golden["regrets"]))[:20]:
        r = run_one("random_search", task, budget, seed, tmp_path / f"seed-{seed}.h5", sim_workers=1)
        assert round(golden["optimum"] - r["report_test"], 6) == regret


def test_four_workers_run_asynchronously_on_the_simulated_clock(nb201_data, harness_cache, tmp_path):
    methods = ("random_search", "regularized_evolution", "asha", "async_hyperband", "hyperband")
    compare(_spec(tmp_path / "a", nb201_data, harness_cache, methods, range(4), sim=4))
    compare(_spec(tmp_path / "b", nb201_data, harness_cache, methods, range(4), sim=4))
    a, b = _rows(tmp_path / "a"), _rows(tmp_path / "b")
    for key, t in a.items():
        other = b[key]  # the same seed, another process: the same rows, simulated times included
        assert np.array_equal(t.codes, other.codes) and all(np.array_equal(t[c], other[c]) for c in COLUMNS)
        if key[2] == "hyperband":  # a sequential method: one worker of the four, its clock the charged seconds
            assert t.attrs["sim_workers_used"] == 1 and np.array_equal(t["wall_s"], t["cum_cost_s"])
            continue
        worker = np.array(json.loads(t.attrs["sim_worker"]))
        submit = np.array(json.loads(t.attrs["sim_submit_s"]))
        finish = t["wall_s"]
        assert len(worker) == len(submit) == len(t) and set(worker) == {0, 1, 2, 3}
        assert np.all(np.diff(finish) >= 0) and finish[-1] <= 12000  # told in finish order, within the budget
        assert np.allclose(finish, submit + t["cost_s"], rtol=0, atol=1e-6)
        for w in range(4):  # a worker runs one job at a time
            mine = worker == w
            assert np.all(submit[mine][1:] >= finish[mine][:-1] - 1e-6)
        assert t["cum_cost_s"][-1] > 3 * 12000 * 0.9  # four workers busy: about 4x the compute of one
        assert t.attrs["ended"] == "budget" and t.attrs["spent_wall_s"] == finish[-1]
    rs = a[("nb201", "cifar10-valid", "random_search", 0)]
    assert len(rs) > 3.5 * 106  # one worker: ~106 evaluations in 12,000 s
    from reports.load import load_runs

    for run in load_runs(tmp_path / "a").runs:  # reports put these runs on the simulated wall-clock
        assert run.final_cost <= 12000
        assert np.array_equal(run.cum_cost, a[(run.benchmark, run.dataset, run.method, run.seed)]["wall_s"])


def test_sim_workers_refuse_measured_tasks_isolation_and_bad_counts(nb201_task, nb201_data, harness_cache, tmp_path,
                                                                    monkeypatch):
    task = nb201_task("cifar10-valid")
    with pytest.raises(HarnessError, match="--isolate"):
        run_one("random_search", task, BUDGET, 0, tmp_path / "a.h5", isolate=True, sim_workers=2)
    with pytest.raises(HarnessError, match="sim_workers must be"):
        _spec(tmp_path, nb201_data, harness_cache, ["random_search"], [0], sim=0)
    measured = {**task.attrs(), "cost_unit": "measured_s"}
    monkeypatch.setattr(type(task), "attrs", lambda self: measured)
    with pytest.raises(HarnessError, match="simulated cost"):
        run_one("random_search", task, BUDGET, 0, tmp_path / "b.h5", sim_workers=2)
