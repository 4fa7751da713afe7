"""NB201 study of the predictor-based methods (issue 6): predictor_evolution and pnas vs the baselines.

Same protocol as the NB201 paper's baselines: hp=12 validation queries, 12,000 simulated seconds
per run, hp=200 accuracies reported; 50 seeds on cifar10-valid and cifar100. The predictors'
CV Kendall tau is off here (``tau_folds=0``) to keep the study at ~20 s per run on one core.
"""
from __future__ import annotations

from harness.presets import PRESETS as _REGISTRY

PRESETS: dict[str, dict] = {
    "nb201-predictors": {
        "benchmark": "nb201",
        "datasets": ["cifar10-valid", "cifar100"],
        "methods": ["random_search", "regularized_evolution", "predictor_evolution", "pnas"],
        "seeds": list(range(50)),
        "budget": {"max_cost_s": 12000},
        "method_configs": {"predictor_evolution": {"tau_folds": 0}},
    },
}

for _name, _preset in PRESETS.items():
    _REGISTRY.register(_name)(_preset)
