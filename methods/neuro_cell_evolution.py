"""Neuro-cell-based evolution with function-preserving mutations (Wistuba, ECML PKDD 2018; spec
``methods/neuro_cell_evolution.md``, seed code ThoroughImages/NeuroCell), with real training.

Population scheme: the paper's **growing** population (tournament parents stay and every child is
appended), because the paper's evolution tree shows strong parents with many children, which the seed
code's in-place replacement (population fixed at ``init_population``, parent lost) cannot produce;
``replace_parent=True`` gives the seed's scheme. Beyond the seed, the paper's branch and
depthwise-separable insertions are offered too. Needs a training task (``neurocell-train``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from benchmarks.spaces.neurocell import MUTATIONS, encode
from harness.errors import HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Defaults from the seed's ``start_evolution.py`` (CIFAR-10); CI presets shrink them."""

    epochs_base: int = option(63, ge=1)  # template training
    epochs_child: int = option(15, ge=1)  # each child, from inherited weights
    epochs_final: int = option(63, ge=1)  # champion on train+valid (done and charged as evaluation by the harness)
    init_population: int = option(15, ge=1)
    generations: int = option(20, ge=1)  # generation 1 is the initial population; then one child each
    tournament: float = option(0.15, gt=0, le=1)  # share of the population, at least 2, without replacement
    replace_parent: bool = False # True: the seed's fixed-size population (child overwrites parent)
    mutations: tuple[str, ...] = option(MUTATIONS, choices=MUTATIONS)
    widen_low: float = option(1.2, ge=1)
    widen_high: float = option(2.0, ge=1)
    noise: float = option(1e-5, ge=0)  # std of the symmetry-breaking noise on widened filters (seed)
    n_cells: int = option(3, ge=1)
    stem_width: int = option(64, ge=1)
    cell_width: int = option(128, ge=1)
    head_width: int = option(128, ge=1)
    fc_width: int = option(128, ge=1)
    pad: int = option(0, ge=0)  # template conv padding (0 = the seed's unpadded convs, for 32x32)
    conv_dropout: float = option(0.7, ge=0, lt=1)
    fc_dropout: float = option(0.5, ge=0, lt=1)
    batch_size: int = option(32, ge=1)
    lr: float = option(0.05, gt=0)
    momentum: float = option(0.5, ge=0, le=1)
    weight_decay: float = option(1e-4, ge=0)
    cutout: int = option(16, ge=0)  # cut-out side in pixels (seed, CIFAR); crop and flip come with the dataset
    device: str = ""             # "" = cuda when available, else cpu

    def __post_init__(self) -> None:
        unknown = sorted(set(self.mutations) - set(MUTATIONS))
        if unknown or not self.mutations:
            raise HarnessError(f"neuro_cell_evolution mutations must be a non-empty subset of "
                               f"{', '.join(MUTATIONS)}, got {list(self.mutations)}")
        if not 1.0 <= self.widen_low <= self.widen_high:
            raise HarnessError(f"need 1 <= widen_low <= widen_high, got {self.widen_low}, {self.widen_high}")


@METHODS.register("neuro_cell_evolution")
class NeuroCellEvolution:
    """Neuro-cell evolution: Net2Net-style morphisms of one shared cell, children trained from inherited weights."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config
        self.lineage: list[dict] = []

    def search(self, evaluator: MeteredEvaluator) -> None:
        from methods._neurocell.loop import Evolution, recipe

        evo = Evolution(self.config, self.rng, evaluator)
        self.lineage = evo.lineage
        champion = evo.run()
        log.info("champion %d (val %.2f): %s", champion.id, champion.fitness, champion.arch)
        evaluator.submit_model(encode(champion.net.cell_def), champion.net,
                               recipe(self.config, self.config.epochs_final))
