"""Neuro-cell evolution studies (issue 8): a CPU-sized real-training run on digits, and the tabular
approximation next to the NB201 baselines (simulated seconds, the NB201 paper's 12,000 s budget)."""
from __future__ import annotations

from harness.presets import PRESETS as _REGISTRY

CI_CONFIG = {"epochs_base": 3, "epochs_child": 1, "epochs_final": 2, "init_population": 3, "generations": 4,
             "stem_width": 8, "cell_width": 8, "head_width": 16, "fc_width": 16, "pad": 1,
             "batch_size": 64, "momentum": 0.9, "cutout": 0, "conv_dropout": 0.1, "fc_dropout": 0.1}

PRESETS: dict[str, dict] = {
    "neurocell-ci": {
        "benchmark": "neurocell-train",
        "datasets": ["digits"],
        "methods": ["neuro_cell_evolution"],
        "seeds": [0, 1],
        "budget": {"max_epochs": 10},  # template 3 + the 6 children (3 + 3 generations) of 1 epoch
        "method_configs": {"neuro_cell_evolution": CI_CONFIG},
        "options": {"threads": 1, "device": "cpu"},
        "workers": 1,
        "flush_s": 0.0,
    },
    "neurocell-tabular": {
        "benchmark": "nb201",
        "datasets": ["cifar10-valid"],
        "methods": ["neuro_cell_evolution-tabular", "regularized_evolution", "random_search"],
        "seeds": list(range(10)),
        "budget": {"max_cost_s": 12000},
    },
}

for _name, _preset in PRESETS.items():
    _REGISTRY.register(_name)(_preset)
