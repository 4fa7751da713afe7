"""Run under torchrun: a tiny neuro-cell search with an in-memory evaluator; each rank writes its lineage."""
from __future__ import annotations

import json
import sys

import numpy as np
import torch

from benchmarks.neurocell_train import NeuroCellTask
from harness.budget import Budget, Spent
from harness.distributed import from_env
from methods._neurocell.loop import Evolution
from methods.neuro_cell_evolution import Config


class _Evaluator:
    """Just enough of MeteredEvaluator: data, budget, charges."""

    def __init__(self) -> None:
        self.task, self.budget, self.spent = NeuroCellTask("synthetic"), Budget(max_epochs=4), Spent()

    def search_data(self):
        return self.task.search_data()

    def observe(self, codes, val, seconds, epochs) -> None:
        self.spent.evals += 1
        self.spent.epochs += epochs


if __name__ == "__main__":
    torch.set_num_threads(1)
    cfg = Config(epochs_base=2, epochs_child=1, init_population=2, generations=2, stem_width=4, cell_width=4,
                 head_width=4, fc_width=8, pad=1, batch_size=32, momentum=0.9, cutout=0, conv_dropout=0.0,
                 fc_dropout=0.0, device="cpu")
    evo = Evolution(cfg, np.random.default_rng(0), _Evaluator())
    evo.run()
    out = [{k: r[k] for k in ("id", "parent", "mutation", "arch", "fitness")} for r in evo.lineage]
    with open(f"{sys.argv[1]}.{from_env().rank}.json", "w") as f:
        json.dump({"world": from_env().world, "lineage": out}, f)
