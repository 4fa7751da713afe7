"""neuro_cell_evolution under torchrun: 2 gloo processes train every child with DDP and stay in lockstep
(same mutations, same all-reduced fitness), so rank 0 can record the run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]


def test_two_gloo_processes_search_in_lockstep(tmp_path: Path) -> None:
    out = tmp_path / "lineage"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "tests.methods._neurocell_ddp_worker", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ranks = [json.loads(Path(f"{out}.{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2 and ranks[0]["lineage"] == ranks[1]["lineage"]
    assert [m["mutation"] for m in ranks[0]["lineage"]][0] == "template" and len(ranks[0]["lineage"]) == 3
