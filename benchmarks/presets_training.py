"""The embedded default study: `python -m harness compare` with no arguments (docs/training.md).

Random search vs regularized evolution in the NB201 space, every architecture trained for real on
scikit-learn's digits (no download): a C=8, N=1 network, 300 fixed training images, 2 epochs of
SGD (batch 32), scored on 400 validation and 400 test images. Trained longer the digits saturate at
97-99 % for most cells; this short schedule spreads cells over ~20-70 % validation accuracy with a
validation/test rank correlation of ~0.96 (measured on 30 random cells, docs/training.md).
"""
from __future__ import annotations

from harness.presets import PRESETS as _REGISTRY

PRESETS: dict[str, dict] = {
    "default": {
        "benchmark": "nb201-train",
        "dataset": "digits",
        "datasets": ["digits"],
        "methods": ["random_search", "regularized_evolution"],
        "seeds": [0, 1, 2, 3, 4],
        "budget": {"max_evals": 40, "max_cost_s": None, "max_epochs": None},
        "options": {"C": 8, "N": 1, "recipe": "digits-fast", "train_images": 300, "train_seed": 0,
                    "threads": 1},
        "flush_s": 0.0,
    },
}

for _name, _preset in PRESETS.items():
    _REGISTRY.register(_name)(_preset)
