"""Asynchronous successive halving (ASHA, Li et al. 2020), asynchronous Hyperband and asynchronous
BOHB, promotion-based as Syne Tune's ``type="promotion"`` schedulers: made for ``--sim-workers``.

The rungs are the task's fidelities in [min_budget, max_budget] (on NB201 cifar10-valid: 12 and 200
epochs; a promotion is charged the higher fidelity's full cost, as in methods/bohb.py). When a
worker is free, the highest rung holding a result in the top ``1/eta`` of its rung (of its
bracket) that is not yet promoted sends it one rung up; otherwise a new cell starts at its
bracket's lowest rung. ASHA has one bracket (every cell starts at the lowest rung); asynchronous
Hyperband draws each new cell's bracket s (starting rung s) with probability proportional to the
cells synchronous Hyperband gives bracket s; asynchronous BOHB is that with new cells from the
good/bad KDE model (methods/_kde.py) fitted on every result. Run sequentially (no --sim-workers)
each asks, evaluates and tells one job at a time.
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
from methods._kde import draw_from, model_for


@dataclass(frozen=True)
class Config:
    eta: float = option(3.0, gt=1)
    min_budget: float = option(12.0, gt=0)
    max_budget: float = option(200.0, gt=0)


@dataclass(frozen=True)
class BOHBConfig(Config):
    num_samples: int = option(64, ge=1)
    random_fraction: float = option(1 / 3, ge=0, le=1)
    min_bandwidth: float = option(0.3, ge=0)
    top_n_percent: int = option(15, ge=1, le=99)
    min_points_in_model: int | None = option(None, ge=1)  # None: dims + 1


@METHODS.register("asha")
class ASHA:
    """ASHA: asynchronous successive halving, promotion-based (Li et al. 2020; Syne Tune's promotion)."""

    Config = Config
    brackets = 1  # one bracket: every cell starts at the lowest rung

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        if not config.min_budget < config.max_budget:
            raise HarnessError(f"{type(self).__name__} needs min_budget < max_budget, got "
                               f"{config.min_budget}, {config.max_budget}")
        self.space, self.rng, self.config = space, rng, config
        self.fids: tuple[float, ...] = ()
        self.rungs: dict[tuple[int, int], list[list]] = {}  # (bracket, rung) -> [[val, trial, promoted]]
        self.trials: list[tuple[np.ndarray, int]] = []  # trial id -> (codes, bracket)
        self.pending: dict[tuple[bytes, float], list[int]] = {}  # a running job's trial, by what it asked

    def begin(self, view) -> None:
        fids = tuple(sorted(f for f in view.fidelities if self.config.min_budget <= f <= self.config.max_budget))
        if not fids:
            raise HarnessError(f"no fidelity of {view.fidelities} lies in [{self.config.min_budget}, "
                               f"{self.config.max_budget}]")
        self.fids = fids

    def draw(self) -> np.ndarray:
        return self.space.sample(self.rng, 1)[0]

    def observe(self, fidelity: float, codes: np.ndarray, val: float) -> None:
        """ASHA and Hyperband keep no model."""

    def _bracket(self) -> int:
        n = min(self.brackets, len(self.fids))
        if n == 1:
            return 0
        eta, r = self.config.eta, len(self.fids)
        weights = np.array([math.floor(r / (s + 1)) * eta ** s for s in range(n)], dtype=float)
        return int(self.rng.choice(n, p=weights / weights.sum()))

    def ask(self) -> tuple[np.ndarray, float]:
        eta = self.config.eta
        for rung in range(len(self.fids) - 2, -1, -1):  # promote from the highest rung that can
            for b in range(min(self.brackets, rung + 1)):
                results = self.rungs.get((b, rung), [])
                k = int(len(results) // eta)
                if k == 0:
                    continue
                top = sorted(results, key=lambda e: (-e[0], e[1]))[:k]  # ties: the older trial first
                for entry in top:
                    if not entry[2]:
                        entry[2] = True
                        return self._start(entry[1], rung + 1)
        b = self._bracket()
        self.trials.append((self.draw(), b))
        return self._start(len(self.trials) - 1, b)

    def _start(self, trial: int, rung: int) -> tuple[np.ndarray, float]:
        codes, fid = self.trials[trial][0], self.fids[rung]
        self.pending.setdefault((codes.tobytes(), fid), []).append(trial)
        return codes, fid

    def tell(self, codes: np.ndarray, fidelity: float, val: float) -> None:
        trial = self.pending[(np.asarray(codes).tobytes(), fidelity)].pop(0)
        bracket = self.trials[trial][1]
        rung = self.fids.index(fidelity)
        if val == val:  # an infeasible cell (NaN) is never promoted
            self.rungs.setdefault((bracket, rung), []).append([float(val), trial, False])
        self.observe(fidelity, codes, float(val))

    def search(self, evaluator: MeteredEvaluator) -> None:
        """One job at a time: the asynchronous rule with a single worker."""
        self.begin(evaluator)
        while True:
            codes, fid = self.ask()
            self.tell(codes, fid, float(evaluator.evaluate(codes, fid)))


@METHODS.register("async_hyperband")
class AsyncHyperband(ASHA):
    """Asynchronous Hyperband: ASHA over Hyperband's brackets, each new cell's bracket drawn."""

    brackets = 1_000  # as many as the ladder has rungs


@METHODS.register("async_bohb")
class AsyncBOHB(AsyncHyperband):
    """Asynchronous BOHB: asynchronous Hyperband with new cells from the good/bad KDE model."""

    Config = BOHBConfig

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: BOHBConfig) -> None:
        super().__init__(space, rng, config)
        self.model = model_for(space, config)

    def draw(self) -> np.ndarray:
        return draw_from(self.model, self.rng, self.config.random_fraction, super().draw)

    def observe(self, fidelity: float, codes: np.ndarray, val: float) -> None:
        if val == val:
            self.model.observe(fidelity, codes, -val)
