"""Trainer: recipe schedules, deterministic augmentation, resume after a kill repeats the run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from benchmarks.training import augment  # noqa: E402
from benchmarks.training.data import images  # noqa: E402
from benchmarks.training.nets.nb201 import NB201Net  # noqa: E402
from benchmarks.training.recipe import PRESETS, Recipe, preset  # noqa: E402
from benchmarks.training.trainer import Trainer  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from harness.errors import HarnessError  # noqa: E402

CELL = NB201Space().from_index(11472)
RECIPE = Recipe(epochs=3, batch_size=32, lr=0.05)


def _build() -> torch.nn.Module:
    return NB201Net(CELL, C=4, N=1, num_classes=4, in_channels=1)


def test_schedules_and_presets() -> None:
    r = Recipe(epochs=10, lr=0.1, lr_min=0.001)
    assert r.lr_at(0) == pytest.approx(0.1) and r.lr_at(10) == pytest.approx(0.001)
    s = Recipe(epochs=30, schedule="sgdr", sgdr_t0=10, sgdr_mult=2)
    assert s.lr_at(9.99) < 0.001 and s.lr_at(10) == pytest.approx(0.1)  # warm restart
    assert Recipe(schedule="exp", gamma=0.5).lr_at(2.5) == pytest.approx(0.025)
    assert preset("darts-eval").epochs == 600 and preset("darts-eval").drop_path_at(300) == pytest.approx(0.1)
    assert {"nb201-hp12", "nb201-hp200", "darts-eval", "imagenet-250"} <= set(PRESETS)
    assert preset("nb201-hp12", epochs=3).key() != preset("nb201-hp12").key()
    with pytest.raises(HarnessError, match="schedule"):
        Recipe(schedule="step")
    with pytest.raises(HarnessError, match="unknown recipe field"):
        preset("nb201-hp12", epoch=3)


def test_augmentation_is_a_function_of_the_generator() -> None:
    x = torch.rand(6, 3, 8, 8)
    draw = lambda: augment.draw(6, 8, 2, True, 4, torch.Generator().manual_seed(1))  # noqa: E731
    a, b = augment.apply(x, draw(), 2, 4), augment.apply(x, draw(), 2, 4)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert ((a == 0).flatten(1).sum(1) >= 3 * 4).all()  # each image lost at least part of a 4x4 square


def test_resume_after_kill_repeats_the_run(tmp_path: Path) -> None:
    data = images.load("synthetic", None)
    full = Trainer(data, RECIPE, seed=3).fit(_build)
    assert full.step_loss[-1] < full.step_loss[0] and full.valid_acc > 40

    class Killed(Exception):
        pass

    def kill(epoch: int) -> None:
        if epoch == 0:
            raise Killed

    ckpt = tmp_path / "run.pt"
    with pytest.raises(Killed):
        Trainer(data, RECIPE, seed=3).fit(_build, checkpoint=ckpt, on_epoch=kill)
    assert ckpt.exists()
    resumed = Trainer(data, RECIPE, seed=3).fit(_build, checkpoint=ckpt)
    np.testing.assert_allclose(resumed.step_loss, full.step_loss, rtol=1e-6)
    assert resumed.valid_acc == full.valid_acc and resumed.test_acc == full.test_acc
    assert not ckpt.exists()  # fully trained: the checkpoint is dropped
    short = Trainer(data, RECIPE, seed=3).fit(_build, epochs=1)
    np.testing.assert_allclose(short.step_loss, full.step_loss[: len(short.step_loss)], rtol=1e-6)


def test_a_longer_run_continues_a_shorter_one(tmp_path: Path) -> None:
    data = images.load("synthetic", None)
    ckpt = tmp_path / "arch.pt"
    full = Trainer(data, RECIPE, seed=5).fit(_build)
    first = Trainer(data, RECIPE, seed=5).fit(_build, epochs=2, checkpoint=ckpt, checkpoint_min_s=1e9)
    assert ckpt.exists()  # kept where the run stopped
    longer = Trainer(data, RECIPE, seed=5).fit(_build, epochs=3, checkpoint=ckpt, checkpoint_min_s=1e9)
    np.testing.assert_allclose(longer.step_loss, full.step_loss, rtol=1e-6)
    assert longer.train_s >= first.train_s and longer.valid_acc == full.valid_acc


@pytest.mark.parametrize("nesterov, wd", [(True, 5e-4), (False, 3e-4)])
def test_sgd_matches_torch_optim(nesterov: bool, wd: float) -> None:
    from benchmarks.training.optim import SGD

    g = torch.Generator().manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    ref = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=wd)
    ours = SGD(b.parameters(), 0.9, nesterov, wd)
    for i in range(4):
        x = torch.randn(8, 4, generator=g)
        for model, opt in ((a, ref), (b, ours)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
        for group in ref.param_groups:
            group["lr"] = 0.1 / (i + 1)
        ref.step()
        ours.step(0.1 / (i + 1))
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("betas, wd", [((0.9, 0.999), 0.0), ((0.5, 0.999), 1e-3)])
def test_adam_matches_torch_optim(betas: tuple[float, float], wd: float) -> None:
    from benchmarks.training.optim import Adam

    g = torch.Generator().manual_seed(1)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    ref = torch.optim.Adam(a.parameters(), lr=3e-3, betas=betas, weight_decay=wd)
    ours = Adam(b.parameters(), 3e-3, betas, wd)
    for _ in range(6):
        x = torch.randn(8, 5, generator=g)
        for model, opt in ((a, ref), (b, ours)):
            opt.zero_grad()
            model(x).tanh().pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
