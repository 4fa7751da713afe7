"""benchmarks/perf/gpu_check.sh --dry-run: every check of the prepared GPU check at tiny sizes on CPU,
including its 2-process run, whose loss curve must equal one process with accum=2."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

REPO = Path(__file__).resolve().parents[3]


def test_gpu_check_dry_run_passes_every_check() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(REPO / "benchmarks" / "perf" / "gpu_check.sh"), "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["dry_run"] and summary["failed"] == []
    checks = " | ".join(r["check"] for r in summary["results"])
    for name in ("nb201 C=", "darts C=", "streamed ImageFolder", "evnas NB201 supernet", "ednas NB201 supernet",
                 "ddp 2 processes"):
        assert name in checks
    ddp = next(r for r in summary["results"] if r["check"].startswith("ddp"))
    assert ddp["ok"] and ddp["max_rel_gap"] <= 1e-4 and len(ddp["ranks"]) == 2
    assert all(r["images_per_s"] > 0 for r in summary["results"] if "images_per_s" in r)
    assert all(r["charged_s"] > 0 for r in summary["results"] if "supernet" in r["check"])


def test_gpu_check_refuses_without_a_gpu_unless_dry(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    import importlib.util

    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "perf" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--only", "nets"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA device" in err[0] and "--dry-run" in err[0]
