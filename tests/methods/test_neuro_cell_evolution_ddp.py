"""neuro_cell_evolution under torchrun: 2 gloo processes train every child with DDP and stay in lockstep
(same mutations, same all-reduced fitness), so rank 0 can record the run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.torchrun import torchrun

pytest.importorskip("torch")


def test_two_gloo_processes_search_in_lockstep(tmp_path: Path) -> None:
    out = tmp_path / "lineage"
    torchrun(["-m", "tests.methods._neurocell_ddp_worker", str(out)], cwd=tmp_path)
    ranks = [json.loads(Path(f"{out}.{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2 and ranks[0]["lineage"] == ranks[1]["lineage"]
    assert [m["mutation"] for m in ranks[0]["lineage"]][0] == "template" and len(ranks[0]["lineage"]) == 3
