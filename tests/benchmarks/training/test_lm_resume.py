"""Language-model training (ptb-train's evaluation): a killed run resumes bit for bit, before or after
the NT-ASGD switch; a corrupt checkpoint is moved aside and the run starts again."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from benchmarks.training.lm_trainer import LMResult, fit_cell, lm_preset  # noqa: E402
from benchmarks.training.data.text import synthetic  # noqa: E402
from benchmarks.spaces.rnn import EDNAS_PTB, RNNSpace  # noqa: E402

CORPUS = synthetic(480, 240, 240)  # ~6 BPTT windows an epoch
CELL = RNNSpace().parse(EDNAS_PTB)
# nonmono=1: validation rises at epoch 3 for seed 0, so averaging starts after 3 of the 5 epochs
RECIPE = lm_preset("tiny", epochs=6, nonmono=1)
SEED, EPOCHS, SWITCH = 0, 5, 3


class Killed(Exception):
    pass


def _kill_after(stop: int):
    def on_epoch(epoch: int) -> None:
        if epoch + 1 == stop:
            raise Killed
    return on_epoch


def _same(a: LMResult, b: LMResult) -> None:
    assert np.array_equal(a.step_loss, b.step_loss) and np.array_equal(a.valid_loss, b.valid_loss)
    assert (a.val, a.test, a.epochs, a.asgd_from) == (b.val, b.test, b.epochs, b.asgd_from)


def _saved(path: Path) -> dict:
    """A checkpoint's contents less its measured seconds (the one thing a resumed run may not repeat)."""
    state = torch.load(path, weights_only=True)
    state.pop("train_s")
    state.pop("checksum")  # a digest of everything, train_s included
    return state


def _equal(a: object, b: object) -> bool:
    """Deep equality of checkpoint contents; tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> tuple[LMResult, Path, LMResult]:
    """The uninterrupted run to EPOCHS with the checkpoint it keeps (the recipe runs one epoch more),
    then the same run continued to the full recipe."""
    ckpt = tmp_path_factory.mktemp("straight") / "run.pt"
    res = fit_cell(CORPUS, CELL, RECIPE, SEED, EPOCHS, checkpoint=ckpt)
    kept = ckpt.with_name("kept.pt")
    kept.write_bytes(ckpt.read_bytes())
    longer = fit_cell(CORPUS, CELL, RECIPE, SEED, RECIPE.epochs, checkpoint=ckpt)
    assert not ckpt.exists()  # fully trained: nothing left to continue
    return res, kept, longer


def test_asgd_switches_and_a_longer_query_continues_a_shorter_one(straight) -> None:
    res, kept, longer = straight
    state = _saved(kept)
    assert res.asgd_from == SWITCH and state["avg"] is not None and state["n_avg"] > 0
    assert len(res.valid_loss) == EPOCHS and len(res.step_loss) > 4 * EPOCHS and state["epoch"] == EPOCHS
    assert longer.epochs == RECIPE.epochs and longer.train_s > res.train_s  # charged from scratch
    assert np.array_equal(longer.step_loss[:len(res.step_loss)], res.step_loss)
    assert np.array_equal(longer.valid_loss[:EPOCHS], res.valid_loss)


@pytest.mark.parametrize("stop", [2, 4], ids=["killed-before-switch", "killed-after-switch"])
def test_a_killed_run_resumes_bit_for_bit(stop: int, straight, tmp_path: Path) -> None:
    full, kept, _ = straight
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Killed):
        fit_cell(CORPUS, CELL, RECIPE, SEED, EPOCHS, checkpoint=ckpt, on_epoch=_kill_after(stop))
    killed = _saved(ckpt)
    assert killed["epoch"] == stop and (killed["avg"] is not None) == (stop >= SWITCH)
    resumed = fit_cell(CORPUS, CELL, RECIPE, SEED, EPOCHS, checkpoint=ckpt)
    _same(resumed, full)
    # weights, optimiser, ASGD average, best weights, RNG streams, curves: all as the straight run left them
    assert _equal(_saved(ckpt), _saved(kept))
    assert resumed.train_s > 0 and not list(tmp_path.glob("*.part"))


def test_another_runs_checkpoint_is_not_resumed(straight, tmp_path: Path) -> None:
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(straight[1].read_bytes())
    res = fit_cell(CORPUS, CELL, RECIPE, SEED + 1, 1, checkpoint=ckpt)  # another seed: another identity
    assert len(res.valid_loss) == 1 and _saved(ckpt)["epoch"] == 1  # trained from scratch
    assert not ckpt.with_name("run.pt.corrupt").exists()


def test_a_shorter_query_leaves_a_longer_runs_checkpoint(straight, tmp_path: Path) -> None:
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(straight[1].read_bytes())  # stopped at EPOCHS
    res = fit_cell(CORPUS, CELL, RECIPE, SEED, 1, checkpoint=ckpt)
    assert np.array_equal(res.valid_loss, straight[0].valid_loss[:1])
    assert ckpt.read_bytes() == straight[1].read_bytes()  # still there for the longer query


@pytest.mark.parametrize("cut", [True, False], ids=["truncated", "garbage"])
def test_a_corrupt_checkpoint_is_moved_aside(cut: bool, straight, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    ckpt = tmp_path / "run.pt"
    bad = straight[1].read_bytes()[:200] if cut else b"garbage"  # cut short, as a disk fault might leave it
    ckpt.write_bytes(bad)
    with caplog.at_level(logging.WARNING, logger="benchmarks.training.checkpoint"):
        res = fit_cell(CORPUS, CELL, RECIPE, SEED, 2, checkpoint=ckpt)
    lines = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0] and "run.pt.corrupt" in lines[0]
    assert ckpt.with_name("run.pt.corrupt").read_bytes() == bad  # kept as evidence
    assert np.array_equal(res.step_loss, straight[0].step_loss[:len(res.step_loss)])  # trained from scratch
    assert _saved(ckpt)["epoch"] == 2


def test_ptb_train_keeps_one_checkpoint_per_cell_beside_its_cache(tmp_path: Path) -> None:
    from benchmarks.ptb_train import make

    task = make("synthetic-text", cache=tmp_path,
                recipe_changes={"epochs": 2, "batch": 32, "eval_batch": 32, "test_batch": 32})
    ckpt = task.checkpoint_path(CELL)
    assert ckpt.parent == tmp_path / "training" / "checkpoints" and ckpt.suffix == ".pt"
    task.evaluate(CELL, 1.0)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1  # a longer query continues from here
    task.evaluate(CELL, 2.0)
    assert not ckpt.exists()
