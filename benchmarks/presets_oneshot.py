"""Studies that put the weight-sharing methods (issue 7) beside RS and REA on NB201, as the NB201 paper's
Table 5 does: the table's methods are charged simulated seconds, EvNAS and EDNAS the measured seconds of
their own supernet training, against the same 12,000 s (the report shows both cost columns).

``nb201-oneshot``: the seeds' full-size supernets (C=16, N=5) searched on the NB201 dataset's own images
(``images=same``: cifar10-valid's 25k/25k split) on a GPU; EvNAS and EDNAS stop at the last generation
or epoch that fits the budget. A GPU job: it needs the CIFAR-10 images under the data directory.
``nb201-oneshot-ci``: the same study at CPU size (C=4, N=1, 96 digits images).
"""
from __future__ import annotations

from harness.presets import PRESETS as _REGISTRY

METHODS = ["random_search", "regularized_evolution", "evnas", "ednas"]

PRESETS: dict[str, dict] = {
    "nb201-oneshot": {
        "benchmark": "nb201",
        "datasets": ["cifar10-valid"],
        "methods": METHODS,
        "seeds": list(range(5)),
        "budget": {"max_cost_s": 12000},
        "options": {"images": "same"},
        "method_configs": {"evnas": {"device": "cuda"}, "ednas": {"device": "cuda"}},
        "workers": 1,
    },
    "nb201-oneshot-ci": {
        "benchmark": "nb201",
        "datasets": ["cifar10-valid"],
        "methods": METHODS,
        "seeds": [0, 1],
        "budget": {"max_cost_s": 3000},
        "options": {"images": "digits", "train_images": 96},
        "method_configs": {
            "evnas": {"population": 2, "tournament": 1, "generations": 1, "C": 4, "N": 1, "cutout": 0},
            "ednas": {"epochs": 1, "C": 4, "N": 1, "n_candidates": 2},
        },
        "workers": 1,
        "flush_s": 0.0,
    },
}

for _name, _preset in PRESETS.items():
    _REGISTRY.register(_name)(_preset)
