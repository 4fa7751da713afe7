"""torch.distributed: 2 gloo processes on CPU give the 1-process loss curve at the same global batch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.torchrun import torchrun

pytest.importorskip("torch")

ARCH = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"
REPO = Path(__file__).resolve().parents[3]


def _train(tmp_path: Path, name: str, nproc: int, accum: int) -> dict:
    out = tmp_path / f"{name}.json"
    args = ["-m", "harness", "train", "--arch", ARCH, "--dataset", "synthetic", "--C", "4", "--depth", "1",
            "--set", "epochs=2", "--set", "batch_size=32", "--accum", str(accum), "--threads", "1",
            "--device", "cpu", "--out", str(out)]
    if nproc > 1:
        torchrun(args, cwd=tmp_path, nproc=nproc)
    else:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    # each process trains half of every global batch; the 1-process run trains the same halves as two
    # micro-batches (same batch-norm statistics), so the curves agree up to float summation order
    one = _train(tmp_path, "one", nproc=1, accum=2)
    two = _train(tmp_path, "two", nproc=2, accum=1)
    assert two["world"] == 2 and len(one["step_loss"]) == len(two["step_loss"]) == 8
    assert two["step_loss"] == pytest.approx(one["step_loss"], rel=1e-4, abs=1e-5)
    assert two["valid_acc"] == pytest.approx(one["valid_acc"], abs=100 / 32 + 1e-9)  # BN running stats: rank 0's
