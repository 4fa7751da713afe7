"""Studies of the predictor-based methods (issue 6): predictor_evolution and pnas vs the baselines.

``nb201-predictors``: the NB201 paper's protocol (hp=12 validation queries, 12,000 simulated seconds
per run, hp=200 accuracies reported), 50 seeds on cifar10-valid and cifar100. The predictors' CV
Kendall tau is off here (``tau_folds=0``) to keep the study short: ~4 s per predictor_evolution run
and ~3 s per pnas run on one core (measured on 3 seeds, cifar10-valid).

``darts-predictors``: S1 with real training (pnas.md / predictor_evolution.md "S1"): every child is
the DARTS search network (8 cells, C=16) trained 20 epochs (the PNAS paper's E) with the DARTS
search recipe on CIFAR-10's 45k/5k split; 4,000 trained epochs per run (200 children), charged in
measured seconds. A GPU job. ``darts-predictors-ci`` is the same study at CPU size on digits.
"""
from __future__ import annotations

from harness.presets import PRESETS as _REGISTRY

DARTS_METHODS = ["random_search", "predictor_evolution", "pnas"]

PRESETS: dict[str, dict] = {
    "nb201-predictors": {
        "benchmark": "nb201",
        "datasets": ["cifar10-valid", "cifar100"],
        "methods": ["random_search", "regularized_evolution", "predictor_evolution", "pnas"],
        "seeds": list(range(50)),
        "budget": {"max_cost_s": 12000},
        "method_configs": {"predictor_evolution": {"tau_folds": 0}},
    },
    "darts-predictors": {
        "benchmark": "darts-train",
        "datasets": ["cifar10"],
        "methods": DARTS_METHODS,
        "seeds": list(range(5)),
        "budget": {"max_epochs": 4000},
        "options": {"C": 16, "layers": 8, "auxiliary": False, "recipe": "darts-search",
                    "recipe_changes": {"epochs": 20}},
        "workers": 1,
    },
    "darts-predictors-ci": {
        "benchmark": "darts-train",
        "datasets": ["digits"],
        "methods": DARTS_METHODS,
        "seeds": [0, 1],
        "budget": {"max_evals": 60},  # pnas: the 49 one-node cells, then K = 3 per level
        "options": {"C": 4, "layers": 3, "auxiliary": False, "train_images": 256, "threads": 1,
                    "recipe_changes": {"epochs": 1, "batch_size": 64}},
        "method_configs": {
            "predictor_evolution": {"hidden": 8, "layers": 2, "epochs": 20, "n_initial": 20, "per_round": 5,
                                    "tau_at": 40, "tau_folds": 2},
            "pnas": {"embed": 8, "hidden": 16, "ensemble": 2, "epochs": 20},
        },
        "workers": 1,
        "flush_s": 0.0,
    },
}

for _name, _preset in PRESETS.items():
    _REGISTRY.register(_name)(_preset)
