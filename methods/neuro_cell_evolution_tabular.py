"""Tabular approximation of neuro-cell evolution on NB201 (spec ``methods/neuro_cell_evolution.md``,
"S2" option 2). Registered under its own name so it is never reported as the real method.

The genotype is an NB201 cell grown from a minimal template by the NB201 analogues of the morphisms:
``none`` -> ``nor_conv_1x1`` / ``nor_conv_3x3`` (zero-initialised branch), ``skip_connect`` ->
``nor_conv_3x3`` (insert conv), ``nor_conv_1x1`` -> ``nor_conv_3x3`` (kernel widening). Fitness is the
table's hp=12 validation accuracy: no weights are inherited, moves only grow the cell,
``avg_pool_3x3`` is unreachable and widening has no analogue. Population: the paper's growing one
(see ``neuro_cell_evolution``); ``replace_parent=True`` gives the seed's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._common import require_space
from methods._neurocell.select import tournament

NONE, SKIP, CONV1, CONV3 = 0, 1, 2, 3  # NB201 op codes (benchmarks/nb201_space.OPS)
MOVES = {NONE: (CONV1, CONV3), SKIP: (CONV3,), CONV1: (CONV3,)}


def moves(codes: np.ndarray) -> list[tuple[int, int]]:
    """Every (edge, new op) growth move of a cell."""
    return [(e, op) for e, c in enumerate(np.asarray(codes).tolist()) for op in MOVES.get(c, ())]


def grow(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One uniformly drawn growth move; None when the cell is fully grown."""
    options = moves(codes)
    if not options:
        return None
    edge, op = options[int(rng.integers(len(options)))]
    child = np.array(codes, dtype=np.int8, copy=True)
    child[edge] = op
    return child


@dataclass(frozen=True)
class Config:
    template: str = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    init_population: int = option(15, ge=1)
    generations: int = option(20, ge=1)
    tournament: float = option(0.15, gt=0, le=1)
    replace_parent: bool = False


@METHODS.register("neuro_cell_evolution-tabular")
class NeuroCellEvolutionTabular:
    """Tabular approximation of neuro-cell evolution on NB201 (growth moves, no weight inheritance)."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        require_space(space, "nb201", method="neuro_cell_evolution-tabular")
        self.space, self.rng, self.config = space, rng, config
        self.history: list[np.ndarray] = []

    def _child(self, parent: np.ndarray, evaluator: MeteredEvaluator) -> tuple[np.ndarray, float] | None:
        child = grow(parent, self.rng)
        if child is None:
            return None
        self.history.append(child)
        return child, float(evaluator.evaluate(child))

    def search(self, evaluator: MeteredEvaluator) -> None:
        cfg = self.config
        template = self.space.parse(cfg.template)
        evaluator.evaluate(template)
        pop = [m for _ in range(cfg.init_population) if (m := self._child(template, evaluator))]
        for _ in range(2, cfg.generations + 1):
            open_ = [i for i, (c, _) in enumerate(pop) if moves(c)]  # fully grown cells have no child
            if not open_:
                return
            i = open_[tournament(np.array([pop[j][1] for j in open_]), self.rng, cfg.tournament)]
            child = self._child(pop[i][0], evaluator)
            if cfg.replace_parent:
                pop[i] = child
            else:
                pop.append(child)
