"""NB201 studies: ``nb201-table5`` reproduces the black-box rows of the NB201 paper's Table 5."""
from __future__ import annotations

from harness.presets import PRESETS

PRESETS.register("nb201-table5")({
    "benchmark": "nb201",
    "datasets": ["cifar10-valid", "cifar100", "ImageNet16-120"],
    "methods": ["regularized_evolution", "random_search", "reinforce", "bohb-nb201"],  # the paper's row order
    "seeds": list(range(500)),
    "budget": {"max_cost_s": 12000.0},
    "method_configs": {},  # the sheet's defaults are the NB201 settings
    "table": "nb201-table5",  # reports/table5.py builds the paper-layout table from the runs
    "flush_s": 1.0,
})
