"""neuro_cell_evolution end to end at CI size: the budget meter, determinism, inherited-weight training,
SGDR, and that test data and test accuracy never reach the method (spec checks 4-6, 8)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.spaces.neurocell import decode, format_cell
from harness.budget import Budget
from harness.errors import HarnessError
from harness.recorder import read_trajectory
from harness.registry import BENCHMARKS
from harness.run import run_one
from harness.trajectory import KIND_FINAL, KIND_QUERY

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

TINY = {"epochs_base": 2, "epochs_child": 1, "epochs_final": 1, "init_population": 2, "generations": 3,
        "stem_width": 4, "cell_width": 4, "head_width": 4, "fc_width": 8, "pad": 1, "batch_size": 32,
        "momentum": 0.9, "cutout": 0, "conv_dropout": 0.0, "fc_dropout": 0.0, "device": "cpu"}


def _run(tmp_path: Path, seed: int, budget: Budget, name: str = "run", task=None, **changes):
    task = task or BENCHMARKS.get("neurocell-train")("synthetic", threads=1, device="cpu")
    path = tmp_path / f"{name}-{seed}.h5"
    summary = run_one("neuro_cell_evolution", task, budget, seed, path, {**TINY, **changes})
    return summary, read_trajectory(path)


def test_budget_meter_and_records(tmp_path: Path) -> None:
    # template (2 epochs) + 2 initial children + 1 tournament child fit in 5 epochs exactly
    summary, traj = _run(tmp_path, 0, Budget(max_epochs=5))
    query = traj["kind"] == KIND_QUERY
    assert traj["epochs"][query].tolist() == [2.0, 1.0, 1.0, 1.0]
    assert traj["kind"].tolist()[-1] == KIND_FINAL and query.sum() == len(traj) - 1
    assert (traj["cost_s"][query] > 0).all() and traj.attrs["spent_epochs"] == 5.0
    assert np.isnan(traj["report_test"][query]).all()  # children are never tested
    assert 0 <= summary["report_test"] <= 100
    # a tighter budget stops before the child that would overspend
    _, short = _run(tmp_path, 0, Budget(max_epochs=3.5), name="short")
    assert short["epochs"][short["kind"] == KIND_QUERY].tolist() == [2.0, 1.0]


def test_dropout_does_not_depend_on_what_ran_before_in_the_process(tmp_path: Path) -> None:
    """nn.Dropout draws from torch's global generator; the trainer seeds it per (seed, epoch, rank),
    so a run gives the same values whatever consumed that generator before it."""
    drop = {"conv_dropout": 0.5, "fc_dropout": 0.5}
    _, a = _run(tmp_path, 3, Budget(max_epochs=4), name="d0", **drop)
    torch.rand(1000)  # another run, a data loader, a user's code ...
    _, b = _run(tmp_path, 3, Budget(max_epochs=4), name="d1", **drop)
    assert np.array_equal(a["val"], b["val"], equal_nan=True) and np.array_equal(a.codes, b.codes)


def test_seconds_overspend_is_recorded_then_ends_the_search(tmp_path: Path) -> None:
    _, traj = _run(tmp_path, 0, Budget(max_cost_s=1e-3), name="secs")
    assert traj["kind"].tolist() == [KIND_QUERY, KIND_FINAL]  # the template, charged; then the final test
    assert traj["cost_s"][0] > 1e-3 and traj.attrs["spent_cost_s"] == traj["cost_s"][0]


def test_same_seed_same_architectures(tmp_path: Path) -> None:
    runs = [_run(tmp_path, s, Budget(max_epochs=5), name=f"r{i}")[1] for i, s in enumerate((3, 3, 4))]
    arch = [[format_cell(decode(c)) for c in t.codes] for t in runs]
    assert arch[0] == arch[1] and len(set(arch[0])) > 1
    assert arch[0] != arch[2]
    assert np.array_equal(runs[0]["val"], runs[1]["val"], equal_nan=True)


class _SpyTask:
    """neurocell-train with the final test intercepted: the method must reach test data only through it."""

    def __init__(self) -> None:
        self.inner = BENCHMARKS.get("neurocell-train")("synthetic", threads=1, device="cpu")
        self.calls: list = []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def final_test(self, model, recipe):
        self.calls.append((model, recipe))
        return 12.5, 99.0


def test_method_never_sees_test_data_or_accuracy(tmp_path: Path) -> None:
    spy = _SpyTask()
    view = spy.inner.search_data()
    assert not any("test" in f for f in vars(view)) and len(spy.inner.data().test) > 0
    _, traj = _run(tmp_path, 0, Budget(max_epochs=4), task=spy)
    (model, recipe), = spy.calls
    assert recipe.epochs == TINY["epochs_final"] and recipe.schedule == "sgdr"
    final = traj["kind"] == KIND_FINAL
    assert traj["report_test"][final].tolist() == [99.0] and 99.0 not in traj["val"]
    assert format_cell(model.cell_def) == format_cell(decode(traj.codes[final][0]))


def test_child_trains_from_inherited_weights() -> None:
    from benchmarks.training.data.images import load
    from benchmarks.training.trainer import Trainer, build_model
    from benchmarks.spaces.neurocell import propose, template_cell
    from methods._neurocell.loop import recipe
    from methods._neurocell.morph import morph
    from methods._neurocell.net import NetShape, NeuroCellNet
    from methods.neuro_cell_evolution import Config

    data = load("digits", None)
    cfg = Config(batch_size=64, momentum=0.9, lr=0.05, cutout=0)
    shape = NetShape(1, 8, 10, 3, 8, 8, 16, 1, 0.0, 0.0)
    fit = lambda net, epochs: Trainer(data, recipe(cfg, epochs), 0, device="cpu").fit(lambda: net)  # noqa: E731
    parent = build_model(lambda: NeuroCellNet(template_cell(8, 3, 1), shape), 0)
    parent_loss = fit(parent, 3).step_loss
    rng = np.random.default_rng(0)
    while (m := propose(parent.cell_def, rng)).kind != "deeper":
        pass
    child = morph(parent.eval(), m, noise=cfg.noise, generator=torch.Generator().manual_seed(0))
    child_loss = fit(child, 1).step_loss
    fresh_loss = fit(build_model(lambda: NeuroCellNet(child.cell_def, shape), 1), 1).step_loss
    steps = len(child_loss)
    last_parent = parent_loss[-steps:].mean()
    assert child_loss.mean() < fresh_loss.mean() - 0.5
    assert abs(child_loss[: steps // 2].mean() - last_parent) < 0.5 * last_parent + 0.1


def test_sgdr_restarts_at_epochs_1_3_7() -> None:
    from methods._neurocell.loop import recipe
    from methods.neuro_cell_evolution import Config

    r = recipe(Config(), 15)
    assert [r.lr_at(e) for e in (0.0, 1.0, 3.0, 7.0)] == pytest.approx([0.05] * 4)
    assert all(r.lr_at(e - 1e-3) < 1e-3 for e in (1.0, 3.0, 7.0, 15.0))
    assert r.lr_at(4.0) < r.lr_at(3.5) < r.lr_at(3.0)


def test_needs_a_training_task(tmp_path: Path) -> None:
    from tests.methods.test_neuro_cell_evolution_tabular import FakeNB201

    with pytest.raises(HarnessError, match="offers no images"):
        run_one("neuro_cell_evolution", FakeNB201(), Budget(max_evals=3), 0, tmp_path / "x.h5", TINY)


def test_presets_and_bad_options() -> None:
    from harness.studies import STUDIES
    from harness.run import make_config

    for name in ("neurocell-ci", "neurocell-tabular"):
        for method in STUDIES.get(name)["methods"]:
            make_config(method, STUDIES.get(name).get("method_configs", {}).get(method))
    with pytest.raises(HarnessError, match="mutations must be"):
        make_config("neuro_cell_evolution", {"mutations": ["deeper", "wider"]})
    with pytest.raises(HarnessError, match="answers no queries"):
        BENCHMARKS.get("neurocell-train")("synthetic").evaluate(np.zeros((1, 192), np.int16), 0.0)


def test_discovering_methods_does_not_import_torch() -> None:
    code = ("import sys; from harness.registry import METHODS; METHODS.names(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
