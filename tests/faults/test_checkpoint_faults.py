"""Faults in training checkpoints: 4 KiB of random bytes patched into the middle (torch still unpickles
it), a zero-filled or truncated file, a write killed half-way, temporaries of dead writers."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ck = pytest.importorskip("benchmarks.training.checkpoint")  # imports torch
load_matching, save_atomic, state_digest = ck.load_matching, ck.save_atomic, ck.state_digest

REPO = Path(__file__).resolve().parents[2]


def _state(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"model": {"w": torch.randn(256, 1024, generator=g), "h": torch.zeros(3, dtype=torch.bfloat16)},
            "opt": {"state": {0: {"momentum_buffer": torch.ones(4)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
            "epoch": 3, "losses": [2.5, 1.25], "train_s": 12.5, "identity": "run-a"}


def _patch(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4096] = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_good_checkpoint_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    save_atomic(path, _state())
    state = load_matching(path, "run-a", "cpu")
    assert state is not None and torch.equal(state["model"]["w"], _state()["model"]["w"])
    assert state_digest(state) == state_digest(_state())
    assert load_matching(path, "run-b", "cpu") is None and path.exists()  # another run's: left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


@pytest.mark.parametrize("damage", ["patch", "zeros", "truncate"])
def test_a_damaged_checkpoint_is_moved_aside_with_one_warning(tmp_path: Path, damage: str, caplog) -> None:
    path = tmp_path / "run.pt"
    save_atomic(path, _state())
    if damage == "patch":
        _patch(path)
        assert isinstance(torch.load(path, weights_only=True), dict)  # torch alone would believe it
    elif damage == "zeros":
        path.write_bytes(bytes(path.stat().st_size))
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    bad = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="benchmarks.training.checkpoint"):
        assert load_matching(path, "run-a", "cpu") is None  # train afresh
    lines = _warnings(caplog)
    assert len(lines) == 1 and "\n" not in lines[0] and "run.pt.corrupt" in lines[0]
    assert not path.exists() and path.with_name("run.pt.corrupt").read_bytes() == bad


KILLED_SAVE = """
import os, signal, sys, torch
from pathlib import Path
import benchmarks.training.checkpoint as ck
real = torch.save
def save_and_die(obj, f):
    real(obj, f)
    with open(f, "r+b") as h:  # the file is half written when the kill comes
        h.truncate(os.path.getsize(f) // 2)
    os.kill(os.getpid(), signal.SIGKILL)
torch.save = save_and_die
ck.save_atomic(Path(sys.argv[1]), {"epoch": 4, "identity": "run-a", "w": torch.ones(100000)})
"""


def test_a_kill_mid_write_keeps_the_last_checkpoint_and_its_temporary_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    save_atomic(path, _state())
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-400:]
    assert path.read_bytes() == before
    assert len(list(tmp_path.glob("run.pt.*.part"))) == 1  # left by the killed writer
    state = load_matching(path, "run-a", "cpu")
    assert state is not None and state["epoch"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]  # its dead temporary is gone
