"""Hyperband and BOHB (Li et al. 2018; Falkner et al. 2018) with hpbandster's brackets (baselines.md).

Three registered variants share one successive-halving loop:

* ``bohb-nb201`` -- faithful to the NB201 paper: the hpbandster ladder for (min 12, max 200,
  eta 3) is 22.2, 66.7, 200 epochs, but every query returns and charges the hp=12 result
  whatever the rung, so a promotion re-buys the same number (that is why it trails RS).
* ``bohb`` -- honest multi-fidelity: the rungs are the fidelities the task offers within
  [min_budget, max_budget] (NB201 holds no per-epoch curves, so on cifar10-valid the rungs are
  12 and 200 epochs; on a dataset with one complete fidelity it is model-based search at 12).
  A promotion is charged the full cost of the higher fidelity: hp=12 and hp=200 are separate
  training schedules, so there is nothing to continue.
* ``hyperband`` -- the same ladder and brackets as ``bohb`` with uniform random sampling.

Brackets: with R rungs, iteration i runs s = R-1 - (i mod R) halvings from
n0 = floor(R/(s+1)) * eta^s configurations; each rung keeps the best floor(n/eta) (at least 1).
New configurations are drawn one at a time, the model updated after every result (one worker).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._kde import KDEModel, draw_from, model_for


@dataclass(frozen=True)
class HyperbandConfig:
    eta: float = option(3.0, gt=1)
    min_budget: float = option(12.0, gt=0)
    max_budget: float = option(200.0, gt=0)


@dataclass(frozen=True)
class Config(HyperbandConfig):
    num_samples: int = option(4, ge=1)  # NB201 scripts (hpbandster default 64)
    random_fraction: float = option(0.0, ge=0, le=1)  # NB201 scripts (hpbandster default 1/3)
    bandwidth_factor: float = option(3.0, gt=0)  # continuous dims only in hpbandster: no effect here
    min_bandwidth: float = option(0.3, ge=0)
    top_n_percent: int = option(15, ge=1, le=99)
    min_points_in_model: int | None = option(None, ge=1)  # None: dims + 1


def hpbandster_budgets(min_budget: float, max_budget: float, eta: float) -> tuple[float, ...]:
    """max_budget * eta^-i for the rungs hpbandster builds, smallest first."""
    n = -int(math.log(min_budget / max_budget) / math.log(eta)) + 1
    return tuple(float(b) for b in max_budget * eta ** -np.linspace(n - 1, 0, n))


def bracket(n_rungs: int, iteration: int, eta: float) -> list[int]:
    """Configurations per rung of the iteration's bracket (its rungs are the last len() of the ladder)."""
    s = n_rungs - 1 - iteration % n_rungs
    n0 = int(math.floor(n_rungs / (s + 1)) * eta ** s)
    return [max(int(n0 * eta ** -i), 1) for i in range(s + 1)]


class _SuccessiveHalving:
    """The shared Hyperband loop; subclasses choose the ladder and how configurations are drawn."""

    Config = HyperbandConfig
    fixed_fidelity = False  # True: query the task's default fidelity whatever the rung

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: HyperbandConfig) -> None:
        if not config.min_budget < config.max_budget or config.eta <= 1:
            raise HarnessError(f"{type(self).__name__} needs min_budget < max_budget and eta > 1, got "
                               f"{config.min_budget}, {config.max_budget}, {config.eta}")
        self.space, self.rng, self.config = space, rng, config
        self.model: KDEModel | None = None

    def ladder(self, evaluator: MeteredEvaluator) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(rung budgets, fidelity queried at each rung)."""
        c = self.config
        if self.fixed_fidelity:
            budgets = hpbandster_budgets(c.min_budget, c.max_budget, c.eta)
            return budgets, (evaluator.default_fidelity,) * len(budgets)
        fids = tuple(sorted(f for f in evaluator.fidelities if c.min_budget <= f <= c.max_budget))
        if not fids:
            raise HarnessError(f"no fidelity of {evaluator.fidelities} lies in [{c.min_budget}, {c.max_budget}]")
        return fids, fids

    def draw(self) -> np.ndarray:
        return self.space.sample(self.rng, 1)[0]

    def observe(self, budget: float, codes: np.ndarray, val: float) -> None:
        """Hyperband keeps no model."""

    def search(self, evaluator: MeteredEvaluator) -> None:
        budgets, fids = self.ladder(evaluator)
        iteration = 0
        while True:
            sizes = bracket(len(budgets), iteration, self.config.eta)
            rungs = range(len(budgets) - len(sizes), len(budgets))
            configs: list[np.ndarray] = []
            for stage, rung in enumerate(rungs):
                if stage == 0:
                    configs = []
                    vals = []
                    for _ in range(sizes[0]):  # drawn one by one: the model sees each result
                        configs.append(self.draw())
                        vals.append(self._eval(evaluator, configs[-1], budgets[rung], fids[rung]))
                else:
                    vals = [self._eval(evaluator, c, budgets[rung], fids[rung]) for c in configs]
                if stage + 1 < len(sizes):
                    keep = np.argsort(-np.asarray(vals), kind="stable")[:sizes[stage + 1]]
                    configs = [configs[i] for i in sorted(keep)]
            iteration += 1

    def _eval(self, evaluator: MeteredEvaluator, codes: np.ndarray, budget: float, fidelity: float) -> float:
        val = float(evaluator.evaluate(codes, fidelity))
        self.observe(budget, codes, val)
        return val


@METHODS.register("hyperband")
class Hyperband(_SuccessiveHalving):
    """Hyperband: successive-halving brackets over the task's fidelities, uniform random cells."""


@METHODS.register("bohb")
class BOHB(_SuccessiveHalving):
    """BOHB: Hyperband brackets over the task's fidelities, new cells from the good/bad KDE model."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        super().__init__(space, rng, config)
        self.model = model_for(space, config)

    def draw(self) -> np.ndarray:
        return draw_from(self.model, self.rng, self.config.random_fraction, super().draw)

    def observe(self, budget: float, codes: np.ndarray, val: float) -> None:
        self.model.observe(budget, codes, -val)


@METHODS.register("bohb-nb201")
class BOHBNB201(BOHB):
    """BOHB as the NB201 paper ran it: hpbandster rungs 22.2/66.7/200, every query charged at hp=12."""

    fixed_fidelity = True
