import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import BudgetError, ResumeError
from harness.recorder import read_trajectory
from harness.registry import METHODS
from harness.run import run_one
from harness.trajectory import final_incumbent

BUDGET = Budget(max_cost_s=12000)


@pytest.mark.parametrize("method", ["random_search", "regularized_evolution"])
def test_same_seed_same_trajectory(nb201_task, tmp_path, method):
    task = nb201_task("cifar10-valid")
    a = read_trajectory(Path(run_one(method, task, BUDGET, 3, tmp_path / "a.h5")["path"]))
    b = read_trajectory(Path(run_one(method, task, BUDGET, 3, tmp_path / "b.h5")["path"]))
    c = read_trajectory(Path(run_one(method, task, BUDGET, 4, tmp_path / "c.h5")["path"]))
    assert np.array_equal(a.codes, b.codes)
    for name in a.columns:
        if name != "wall_s":
            assert np.array_equal(a[name], b[name], equal_nan=True), name
    assert not np.array_equal(a["arch_index"][:20], c["arch_index"][:20])


def test_budget_is_metered_by_the_harness(nb201_task, tmp_path):
    task = nb201_task("cifar10-valid")
    t = read_trajectory(Path(run_one("random_search", task, BUDGET, 0, tmp_path / "r.h5")["path"]))
    assert t["cum_cost_s"][-1] <= 12000
    assert np.allclose(np.cumsum(t["cost_s"]), t["cum_cost_s"])
    # the cost of each row is the hp=12 cost of its cell: 12 x train + 1 x valid per-epoch time
    tab = task.table
    idx = t["arch_index"]
    expect = 12 * tab.column("cifar10-valid", "train_time_epoch", 200)[idx] + \
        tab.column("cifar10-valid", "valid_time_epoch", 200)[idx]
    assert np.allclose(t["cost_s"], expect)
    # the query that would have overflowed was neither charged nor recorded: the next cell in the
    # same random stream costs more than what was left
    assert t.attrs["status"] == "complete"
    evals = Budget(max_evals=7)
    t2 = read_trajectory(Path(run_one("random_search", task, evals, 0, tmp_path / "e.h5")["path"]))
    assert len(t2) == 7 and np.array_equal(t2.codes, t.codes[:7])


def test_zero_budget_refused():
    for kwargs in ({"max_cost_s": 0}, {"max_evals": -1}, {}):
        with pytest.raises(BudgetError):
            Budget(**kwargs)


def test_reported_values_follow_the_paper_protocol(nb201_task, tmp_path):
    task = nb201_task("cifar10-valid")
    t = read_trajectory(Path(run_one("regularized_evolution", task, BUDGET, 1, tmp_path / "x.h5")["path"]))
    tab = task.table
    assert np.allclose(t["val"], tab.column("cifar10-valid", "valid_acc", 12)[t["arch_index"]])
    assert np.allclose(t["report_valid"], tab.column("cifar10-valid", "valid_acc", 200)[t["arch_index"]])
    assert np.allclose(t["report_test"], tab.column("cifar10", "test_acc", 200)[t["arch_index"]])
    best = final_incumbent(t)
    assert best["val"] == t["val"].max()
    assert t.attrs["report_test_key"] == "cifar10/test_acc/hp200"
    assert t.attrs["method"] == "regularized_evolution" and t.attrs["seed"] == 1


class _Interrupt(Exception):
    pass


def _die_after(monkeypatch, task_cls, n: int) -> None:
    """The task's queries (both the batch ``evaluate`` and the per-row ``evaluate_one``) raise
    _Interrupt after n answers: a kill in the middle of a run."""
    calls = {"n": 0}
    for name in ("evaluate", "evaluate_one"):
        real = getattr(task_cls, name)

        def dying(self, codes, fidelity, real=real):
            calls["n"] += 1
            if calls["n"] > n:
                raise _Interrupt
            return real(self, codes, fidelity)

        monkeypatch.setattr(task_cls, name, dying)


def _measured(task, monkeypatch):
    """The task, its costs declared measured: its runs are durable (journaled row by row).
    Patched on the class: undoing an instance patch would leave the session's shared task an
    instance ``attrs`` that hides later class patches (tests/harness/test_simclock.py)."""
    cls = type(task)
    attrs = cls.attrs
    monkeypatch.setattr(cls, "attrs", lambda self: {**attrs(self), "cost_unit": "measured_s"})
    return task


def test_killed_tabular_run_leaves_nothing_and_runs_again(nb201_task, tmp_path, monkeypatch):
    task = nb201_task("cifar10-valid")
    ref = read_trajectory(Path(run_one("regularized_evolution", task, BUDGET, 5, tmp_path / "ref.h5")["path"]))
    path = tmp_path / "killed.h5"
    _die_after(monkeypatch, type(task), 40)
    with pytest.raises(_Interrupt):
        run_one("regularized_evolution", task, BUDGET, 5, path)
    assert list(tmp_path.iterdir()) == [tmp_path / "ref.h5"]  # simulated rows cost nothing: not kept
    monkeypatch.undo()
    again = read_trajectory(Path(run_one("regularized_evolution", task, BUDGET, 5, path)["path"]))
    assert np.array_equal(again.codes, ref.codes) and np.array_equal(again["cum_cost_s"], ref["cum_cost_s"])


def test_killed_durable_run_resumes_from_its_journal(nb201_task, tmp_path, monkeypatch):
    from harness.journal import read_journal
    from harness.recorder import journal_path

    task = _measured(nb201_task("cifar10-valid"), monkeypatch)
    ref = read_trajectory(Path(run_one("regularized_evolution", task, BUDGET, 5, tmp_path / "ref.h5")["path"]))
    assert not journal_path(tmp_path / "ref.h5").exists()  # a finished run keeps only its file
    path = tmp_path / "killed.h5"
    _die_after(monkeypatch, type(task), 40)
    with pytest.raises(_Interrupt):
        run_one("regularized_evolution", task, BUDGET, 5, path)
    assert not path.exists()
    partial = read_journal(journal_path(path))
    assert len(partial.trajectory) == 40 and not partial.damaged
    monkeypatch.undo()
    _measured(task, monkeypatch)
    resumed = read_trajectory(Path(run_one("regularized_evolution", task, BUDGET, 5, path)["path"]))
    assert np.array_equal(resumed.codes, ref.codes)
    assert np.array_equal(resumed["cum_cost_s"], ref["cum_cost_s"])
    assert resumed.attrs["status"] == "complete"
    # a finished run is skipped, and a file of another run is refused
    assert run_one("regularized_evolution", task, BUDGET, 5, path)["skipped"]
    with pytest.raises(ResumeError, match="different run"):
        run_one("regularized_evolution", task, BUDGET, 6, path)


def test_corrupt_file_is_moved_aside_not_lost(nb201_task, tmp_path):
    path = tmp_path / "c.h5"
    path.write_bytes(b"garbage")
    run_one("random_search", nb201_task("cifar10-valid"), Budget(max_evals=3), 0, path)
    assert (tmp_path / "c.h5.corrupt").read_bytes() == b"garbage"
    assert len(read_trajectory(path)) == 3


def test_methods_never_touch_the_task_or_test_values():
    """Methods see only the evaluator's public surface (no task, table or report fields)."""
    forbidden = {"_task", "task", "table", "report_test", "report_valid", "test_acc"}
    for name in METHODS.names():
        tree = ast.parse(inspect.getsource(inspect.getmodule(METHODS.get(name))))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not used & forbidden, (name, used & forbidden)


def test_rea_beats_random_search_on_cifar10(nb201_task, tmp_path):
    task = nb201_task("cifar10-valid")
    finals = {m: [run_one(m, task, BUDGET, s, tmp_path / m / f"{s}.h5")["report_test"]
                  for s in range(60)] for m in ("random_search", "regularized_evolution")}
    rs, rea = np.mean(finals["random_search"]), np.mean(finals["regularized_evolution"])
    assert rea > rs
    assert 93.3 < rs < 94.1 and 93.5 < rea < 94.3  # NB201 paper: 93.70 ± 0.36 and 93.92 ± 0.30


def test_random_search_ops_are_uniform(nb201_task):
    from scipy.stats import chisquare

    space = nb201_task("cifar10-valid").space
    codes = space.sample(np.random.default_rng(0), 20000)
    for e in range(6):
        assert chisquare(np.bincount(codes[:, e], minlength=5)).pvalue > 0.001


def test_rea_population_and_tournament(nb201_task):
    """Population stays at 10, the oldest leaves, tournament draws are with replacement."""
    from methods.regularized_evolution import Config, RegularizedEvolution

    space = nb201_task("cifar10-valid").space

    class Ev:
        def __init__(self):
            self.asked = []

        def evaluate(self, codes):
            if len(self.asked) == 200:
                raise StopIteration
            self.asked.append(np.array(codes))
            return float(np.asarray(codes).sum())

    rea = RegularizedEvolution(space, np.random.default_rng(0), Config())
    ev = Ev()
    with pytest.raises(StopIteration):
        rea.search(ev)
    assert len(rea.population) == 10
    assert all(np.array_equal(p[0], a) for p, a in zip(rea.population, ev.asked[-10:]))
    children = ev.asked[10:]
    for i, child in enumerate(children[:50]):
        pool = ev.asked[: 10 + i]
        assert any((child != p).sum() == 1 for p in pool[-10:])


def _spec(out, data, cache, workers=1):
    from harness.runner import CompareSpec

    return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=("random_search", "regularized_evolution"),
                       seeds=tuple(range(6)), budget=BUDGET, out=out, data=str(data), cache=str(cache),
                       workers=workers)


def test_interrupted_study_keeps_packed_runs_and_resumes(nb201_data, harness_cache, tmp_path, monkeypatch):
    """Finished runs reach packs even when a later run fails; the failed (tabular) run left nothing
    and runs again; a second pass skips everything; reports read the packs."""
    from benchmarks.nb201 import NB201Task
    from harness.packs import read_pack
    from harness.runner import compare
    from reports.load import load_runs

    ref = compare(_spec(tmp_path / "ref", nb201_data, harness_cache, workers=2))
    _die_after(monkeypatch, NB201Task, 450)  # ~4.5 random-search runs in
    out = tmp_path / "study"
    with pytest.raises(_Interrupt):
        compare(_spec(out, nb201_data, harness_cache))
    packed = [m for p in out.rglob("pack-*.h5") for m in read_pack(p)]
    assert len(packed) == 4 and not list(out.rglob("seed-*"))
    monkeypatch.undo()
    resumed = compare(_spec(out, nb201_data, harness_cache))
    assert [r["skipped"] for r in resumed].count(True) == 4
    key = lambda r: (r["method"], r["seed"], r["report_test"], r["cost_s"], r["n_evals"])  # noqa: E731
    assert [key(r) for r in resumed] == [key(r) for r in ref]
    for r in resumed:  # every summary's path reads back as its run
        t = read_trajectory(r["path"])
        assert t.attrs["seed"] == r["seed"] and t.attrs["status"] == "complete"
    again = compare(_spec(out, nb201_data, harness_cache))
    assert all(r["skipped"] for r in again)
    runs = load_runs(out)
    assert len(runs.runs) == 12 and sorted(runs.methods) == ["random_search", "regularized_evolution"]


def test_corrupt_pack_is_one_line_data_error_and_moved_aside(nb201_data, harness_cache, tmp_path):
    from harness.errors import DataError
    from harness.packs import read_pack
    from harness.runner import compare

    out = tmp_path / "s"
    compare(_spec(out, nb201_data, harness_cache))
    pack = sorted(out.rglob("pack-*.h5"))[0]
    n_members = len(read_pack(pack))
    pack.write_bytes(pack.read_bytes()[:300])  # truncated
    with pytest.raises(DataError, match=pack.name) as e:
        read_pack(pack)
    assert "\n" not in str(e.value)
    redo = compare(_spec(out, nb201_data, harness_cache))
    assert (pack.parent / (pack.name + ".corrupt")).exists()
    assert sum(not r["skipped"] for r in redo) == n_members > 0  # that pack's runs ran again


def test_rea_keeps_infeasible_children_out_of_its_population(nb201_task, tmp_path):
    """Under a constraint, NaN (infeasible) answers never enter REA's population."""
    from harness.constraints import constraint_from
    from harness.evaluator import MeteredEvaluator
    from harness.recorder import Recorder
    from methods.regularized_evolution import Config, RegularizedEvolution

    task = nb201_task("cifar10-valid")
    limit = constraint_from("params_m<=0.3")
    ev = MeteredEvaluator(task, Budget(max_evals=150), Recorder(tmp_path / "c.h5", 6, {}), constraint=limit)
    rea = RegularizedEvolution(task.space, np.random.default_rng(0), Config())
    with pytest.raises(Exception):
        rea.search(ev)
    assert ev.infeasible > 0  # the constraint did bite
    assert len(rea.population) == 10
    assert not any(np.isnan(v) for _, v in rea.population)
    assert ev.feasible(np.stack([c for c, _ in rea.population])).all()


def test_read_run_names_the_missing_seed(tmp_path):
    from harness.errors import DataError
    from harness.store import read_run

    with pytest.raises(DataError, match="no finished run of seed 3"):
        read_run(tmp_path, 3)
