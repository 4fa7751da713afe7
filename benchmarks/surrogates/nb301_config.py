"""Our DARTS codes -> NAS-Bench-301's ConfigSpace configuration and the vector its models read.

A cell's 14 edges are numbered node by node (node 2: edges 0-1 from nodes 0, 1; node 3: 2-4; node 4:
5-8; node 5: 9-13); ``edge_<cell>_<i>`` holds the op of a chosen edge, ``inputs_node_<cell>_<k>``
the two inputs of node k (``"0_2"``) for k = 3..5. The vector follows the hyperparameter order of the
``configspace.json`` beside the models (ConfigSpace writes it in its own sorted order): a categorical
is its choice's index, a numeric value is scaled to [0, 1] as ConfigSpace does (log where declared;
integers on [lower - 0.49999, upper + 0.49999]), a normal float is its (log) value, a constant is 0,
and an inactive value (an edge the cell does not use) is -1, as NB301's XGBoost models were fed.
The training hyperparameters are NAS-Bench-301's fixed protocol (``PROTOCOL``); they are constant in
its training data, so the trees never split on them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.darts import OPS, DartsSpace
from harness.errors import DataError

PREFIX = "NetworkSelectorDatasetInfo:darts:"
# NAS-Bench-301's training protocol (NB301 paper, section 3): 8 cells of 32 channels, 100 epochs of
# SGD (lr 0.025, momentum 0.9, weight decay 3e-4, cosine to 1e-8), batch 96, cutout 16, mixup 0.2,
# auxiliary head, drop path 0.2.
PROTOCOL: dict[str, Any] = {
    "CreateImageDataLoader:batch_size": 96, "ImageAugmentation:augment": "True",
    "ImageAugmentation:autoaugment": "False", "ImageAugmentation:fastautoaugment": "False",
    "ImageAugmentation:cutout": "True", "ImageAugmentation:cutout_holes": 1, "ImageAugmentation:cutout_length": 16,
    "LossModuleSelectorIndices:loss_module": "cross_entropy", "NetworkSelectorDatasetInfo:network": "darts",
    PREFIX + "auxiliary": "True", PREFIX + "drop_path_prob": 0.2, PREFIX + "init_channels": 32, PREFIX + "layers": 8,
    "OptimizerSelector:optimizer": "sgd", "OptimizerSelector:sgd:learning_rate": 0.025,
    "OptimizerSelector:sgd:momentum": 0.9, "OptimizerSelector:sgd:weight_decay": 0.0003,
    "SimpleLearningrateSchedulerSelector:lr_scheduler": "cosine_annealing",
    "SimpleLearningrateSchedulerSelector:cosine_annealing:T_max": 100,
    "SimpleLearningrateSchedulerSelector:cosine_annealing:eta_min": 1e-8,
    "SimpleTrainNode:batch_loss_computation_technique": "mixup", "SimpleTrainNode:mixup:alpha": 0.2,
}
_EDGE_START = (0, 2, 5, 9)  # first edge index of nodes 2..5


_SKIP = OPS.index("skip_connect")
PARTIAL_CELLS = ("complete", "refuse")
# what ``partial_cells="complete"`` does, recorded in every run's attributes (and so in its identity)
COMPLETION = ("completed: an unset node k = skip_connect(c_{k-1}) + skip_connect(node k-1), so a partial "
              "cell is queried as that full cell (the DARTS form of pnas.md's pass-through)")


def complete_partial(codes: np.ndarray) -> np.ndarray:
    """A partial cell (trailing nodes absent) as a full cell: each absent node passes on the previous
    node and the cell's second input through skips; present nodes are kept as they are."""
    c = np.array(DartsSpace.check(np.asarray(codes).reshape(-1)), copy=True).reshape(2, 4, 2, 2)
    for ci in range(2):
        for node in range(1, 4):
            if c[ci, node, 0, 0] == 0:  # absent (DartsSpace.check: absent nodes are all zero)
                c[ci, node] = ((_SKIP, 1), (_SKIP, node + 1))  # sources in order; node - 1 is source node + 1
    return c.reshape(-1)


def arch_config(codes: np.ndarray, partial_cells: str = "refuse") -> dict[str, str]:
    """The architecture part of one code row as NB301 config entries; a partial cell is refused or,
    with ``partial_cells="complete"``, completed (``complete_partial``)."""
    if partial_cells == "complete":
        codes = complete_partial(codes)
    c = np.asarray(DartsSpace.check(np.asarray(codes).reshape(-1))).reshape(2, 4, 2, 2)
    out: dict[str, str] = {}
    for ci, cell in enumerate(("normal", "reduce")):
        for node in range(4):
            (op_a, src_a), (op_b, src_b) = c[ci, node]
            if op_a == 0 or op_b == 0:
                raise DataError("NAS-Bench-301's models answer full cells only (4 nodes each), not the partial "
                                "cells PNAS grows: set --option partial_cells=complete, or run PNAS on nb301-mini "
                                "or a surrogate fitted on partial cells")
            for op, src in ((op_a, src_a), (op_b, src_b)):
                out[f"{PREFIX}edge_{cell}_{_EDGE_START[node] + int(src)}"] = OPS[int(op)]
            if node:
                a, b = sorted((int(src_a), int(src_b)))
                out[f"{PREFIX}inputs_node_{cell}_{node + 2}"] = f"{a}_{b}"
    return out


def codes_from_config(config: dict[str, Any]) -> np.ndarray:
    """The inverse of ``arch_config``: one int16 code row (each node's inputs in source order)."""
    codes = np.zeros((2, 4, 2, 2), dtype=np.int16)
    for ci, cell in enumerate(("normal", "reduce")):
        for node in range(4):
            key = f"{PREFIX}inputs_node_{cell}_{node + 2}"
            srcs = (0, 1) if node == 0 else tuple(int(s) for s in str(config[key]).split("_"))
            for j, src in enumerate(srcs):
                op = config[f"{PREFIX}edge_{cell}_{_EDGE_START[node] + src}"]
                codes[ci, node, j] = (OPS.index(op), src)
    return DartsSpace.check(codes.reshape(32))


class ConfigEncoder:
    """The vector NB301's models read, built from a ``configspace.json``."""

    def __init__(self, path: Path) -> None:
        try:
            spec = json.loads(Path(path).read_text())
            self.hps: list[dict[str, Any]] = list(spec["hyperparameters"])
            self.conditions = {c["child"]: c for c in spec.get("conditions", [])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path} is not a ConfigSpace JSON file ({type(exc).__name__}: {exc})") from None
        self.names = [h["name"] for h in self.hps]

    def _active(self, name: str, config: dict[str, Any]) -> bool:
        cond = self.conditions.get(name)
        if cond is None:
            return True
        if cond.get("type") not in ("IN", "EQ"):
            raise DataError(f"condition type {cond.get('type')!r} of {name} is not supported")
        values = cond["values"] if cond["type"] == "IN" else [cond["value"]]
        parent = cond["parent"]
        return self._active(parent, config) and str(config.get(parent)) in {str(v) for v in values}

    @staticmethod
    def _value(hp: dict[str, Any], v: Any) -> float:
        kind = hp["type"]
        if kind == "categorical":
            choices = [str(c) for c in hp["choices"]]
            if str(v) not in choices:
                raise DataError(f"{hp['name']}: {v!r} is not among {choices}")
            return float(choices.index(str(v)))
        if kind in ("constant", "unparametrized"):
            return 0.0
        if kind in ("uniform_float", "uniform_int"):
            lo, hi = float(hp["lower"]), float(hp["upper"])
            if kind == "uniform_int":
                lo, hi = lo - 0.49999, hi + 0.49999
            if hp.get("log"):
                return (math.log(float(v)) - math.log(lo)) / (math.log(hi) - math.log(lo))
            return (float(v) - lo) / (hi - lo)
        if kind in ("normal_float", "normal_int"):
            return math.log(float(v)) if hp.get("log") else float(v)
        raise DataError(f"hyperparameter type {kind!r} of {hp['name']} is not supported")

    def encode(self, codes: np.ndarray, partial_cells: str = "refuse") -> np.ndarray:
        """(n, n_hyperparameters) float32 vectors for code rows (n, 32)."""
        rows = []
        for c in np.atleast_2d(np.asarray(codes)):
            config = {**PROTOCOL, **arch_config(c, partial_cells)}
            rows.append([self._value(hp, config[hp["name"]]) if hp["name"] in config and
                         self._active(hp["name"], config) else -1.0 for hp in self.hps])
        return np.asarray(rows, dtype=np.float32)
