"""PNAS: progressive growth ranked by an LSTM surrogate (Liu et al., ECCV 2018; pnas.md).

NB201 "node-progressive" mapping: level b fixes the ops on node b's incoming edges; unset nodes
j > b pass through (edge j<-(j-1) = skip_connect, other inputs none). DARTS (S1) mapping: level b
adds intermediate node b to one genotype shared by both cell types (methods/_predictors/pnas_darts.py).
Level 1 is trained whole; each later level trains the surrogate's top K of all one-node expansions
of the kept cells. Once the last level is reached, the rest of the budget goes down the re-ranked
final-level candidates, K at a time, refitting the surrogate between batches.

K (``beam="auto"``, the default) comes from the budget (pnas.md: "choose K from the budget"): level 2
trains candidates in predicted order until ``auto_share`` of the budget left after level 1 is spent,
and that count is K for every later level. Measured on the harness, not estimated, so cheap level-1
cells (half the mean NB201 query cost) do not inflate it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from harness.errors import HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._predictors import pnas_darts
from methods._common import arch_keys, require_space

NODE_SLOTS = ((0,), (1, 2), (3, 4, 5))   # NB201 slots of the edges into nodes 1, 2, 3
PASS_SLOT = {2: 2, 3: 5}                  # edge j<-(j-1) of an unset node j
SKIP, N_OPS, N_SLOTS = 1, 5, 6


def complete(codes: np.ndarray, level: int) -> np.ndarray:
    """Fill nodes above ``level`` with the pass-through; the given nodes' ops are kept."""
    out = np.array(np.atleast_2d(codes), dtype=np.int8, copy=True)
    for node in range(level + 1, 4):
        out[:, list(NODE_SLOTS[node - 1])] = 0
        out[:, PASS_SLOT[node]] = SKIP
    return out


def level_one() -> np.ndarray:
    """The 5 one-node cells (one op from input to output)."""
    codes = np.zeros((N_OPS, N_SLOTS), dtype=np.int8)
    codes[:, 0] = np.arange(N_OPS)
    return complete(codes, 1)


def expand(parents: np.ndarray, level: int) -> np.ndarray:
    """Every way to set node ``level``'s inputs on each parent: 5, 25, 125 children per parent."""
    slots = list(NODE_SLOTS[level - 1])
    choices = np.array(list(itertools.product(range(N_OPS), repeat=len(slots))), dtype=np.int8)
    kids = np.repeat(complete(parents, level - 1), len(choices), axis=0)
    kids[:, slots] = np.tile(choices, (len(np.atleast_2d(parents)), 1))
    return complete(kids, level)


def tokens(codes: np.ndarray, level: int) -> list[np.ndarray]:
    """(slot, op) tokens of the set edges: 1, 3 or 6 per cell."""
    slots = [s for node in NODE_SLOTS[:level] for s in node]
    return [np.stack([slots, c[slots]], axis=1).astype(np.int64) for c in np.atleast_2d(codes)]


@dataclass(frozen=True)
class Mapping:
    """How one space grows: the level-1 cells, one-level expansion, surrogate tokens and their tables."""

    levels: int
    n_slots: int
    n_ops: int
    level_one: Callable[[np.random.Generator], np.ndarray]
    expand: Callable[[np.ndarray, int], np.ndarray]
    tokens: Callable[[np.ndarray, int], list[np.ndarray]]


MAPPINGS = {
    "nb201": Mapping(3, N_SLOTS, N_OPS, lambda rng: level_one(), expand, tokens),
    "darts": Mapping(pnas_darts.LEVELS, pnas_darts.N_SLOTS, pnas_darts.N_TOKEN_OPS, pnas_darts.level_one,
                     pnas_darts.expand, pnas_darts.tokens),
}


def budget_fraction(evaluator: MeteredEvaluator) -> float:
    """Share of the run's budget spent, on the tightest of its axes (evals, seconds, epochs)."""
    b, s = evaluator.budget, evaluator.spent
    parts = [spent / limit for spent, limit in ((s.evals, b.max_evals), (s.cost_s, b.max_cost_s),
                                                 (s.epochs, b.max_epochs)) if limit]
    return max(parts) if parts else 0.0


@dataclass(frozen=True)
class Config:
    """pnas.md defaults for the harness mappings; the surrogate is cut to CPU size (paper values noted)."""

    beam: int | Literal["auto"] = option("auto", ge=1)  # K, or "auto": from the budget (pnas.md; the old default 32 lost on cifar100)
    auto_share: float = option(0.25, gt=0, lt=1)  # "auto": level 2 gets this share of the budget left after level 1
    levels: int | None = option(None, ge=1)  # None: the mapping's depth (NB201 3 nodes, DARTS 4)
    embed: int = option(16, ge=1)  # paper: 100 / 100 / 5 members (4x slower on CPU, no better here)
    hidden: int = option(32, ge=1)
    ensemble: int = option(3, ge=1)
    epochs: int = option(30, ge=1)
    lr: float = option(0.01, gt=0)
    batch_size: int = option(16, ge=1)
    fidelity: float | None = option(None, gt=0)


@METHODS.register("pnas")
class PNAS:
    """Beam search over cell sizes; the surrogate ranks, only the top K are paid for."""

    MODEL_QUALITY = {"surrogate_tau": "τ surrogate"}  # per level (reports/predictor_quality.py)

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        require_space(space, *MAPPINGS, method="pnas")
        self.mapping = MAPPINGS[space.name]
        levels = self.mapping.levels if config.levels is None else config.levels
        auto = config.beam == "auto"
        if not (auto or (isinstance(config.beam, int) and config.beam >= 1)) or not 1 <= levels <= self.mapping.levels:
            raise HarnessError(f"pnas needs beam >= 1 or 'auto' and 1 <= levels <= {self.mapping.levels} on "
                               f"{space.name}, got {config.beam!r}, {config.levels}")
        if auto and not 0 < config.auto_share <= 1:
            raise HarnessError(f"pnas auto_share must lie in (0, 1], got {config.auto_share}")
        self.space, self.rng, self.config, self.levels = space, rng, config, levels
        self.beam: int | None = None if auto else int(config.beam)
        self.known: dict[int, float] = {}          # arch key -> measured value
        self.data: list[tuple[np.ndarray, int, float]] = []  # (codes, level, value), in order paid for
        self.stage_tau: list[tuple[int, int, float]] = []     # (level, n trained, Kendall tau)
        self.trained_per_level: dict[int, int] = {}
        self.make_surrogate: Callable[[int], Any] = self._lstm

    def _lstm(self, seed: int) -> Any:
        from methods._predictors.models import LSTMSurrogate, SurrogateConfig

        c = self.config
        sc = SurrogateConfig(c.embed, c.hidden, c.ensemble, c.epochs, c.lr, c.batch_size)
        return LSTMSurrogate(self.mapping.n_slots, self.mapping.n_ops, sc, seed)

    def search(self, evaluator: MeteredEvaluator) -> None:
        m = self.mapping
        kept = m.level_one(self.rng)
        kept = kept[evaluator.feasible(kept)]
        self._train(evaluator, kept, 1)
        pool = kept
        for level in range(2, self.levels + 1):
            pool = self._candidates(evaluator, m.expand(kept, level))
            kept = self._train_top(evaluator, pool, level)
        while True:  # budget left: go on down the re-ranked last level, K at a time
            pool = pool[np.array([int(k) not in self.known for k in arch_keys(self.space, pool)], dtype=bool)]
            if not len(pool):
                return
            self._train_top(evaluator, pool, self.levels)

    def _candidates(self, evaluator: MeteredEvaluator, cells: np.ndarray) -> np.ndarray:
        """Deduplicated (same cell = same key), feasible cells, in first-seen order."""
        _, first = np.unique(arch_keys(self.space, cells), return_index=True)
        cells = cells[np.sort(first)]
        return cells[evaluator.feasible(cells)]

    def _train_top(self, evaluator: MeteredEvaluator, cand: np.ndarray, level: int) -> np.ndarray:
        """Fit the surrogate on every label, train the top min(K, |C|) candidates in predicted order
        (K still unset under "auto": until the level's share of the budget is spent)."""
        surrogate = self.make_surrogate(int(self.rng.integers(2**62)))
        tok = self.mapping.tokens
        surrogate.fit([t for c, lv, _ in self.data for t in tok(c, lv)], np.array([v for *_, v in self.data]))
        pred = np.asarray(surrogate.predict(tok(cand, level)))
        order = np.argsort(-pred, kind="stable")
        until = None
        if self.beam is None:
            start = budget_fraction(evaluator)
            until = start + self.config.auto_share * (1.0 - start)
        top = order[:self.beam] if self.beam is not None else order
        measured = self._train(evaluator, cand[top], level, until)
        if self.beam is None:
            self.beam = max(len(measured), 1)
        top = top[:len(measured)]
        if len(measured) >= 2:
            from methods._predictors.models import tau

            self.stage_tau.append((level, len(measured), tau(pred[top], measured)))
        return cand[top]

    def _train(self, evaluator: MeteredEvaluator, cells: np.ndarray, level: int,
               until: float | None = None) -> np.ndarray:
        """Query cells in order (stopping once ``until`` of the budget is spent); a cell already
        measured (same cell) is not paid twice."""
        out = []
        for c, key in zip(cells, arch_keys(self.space, cells)):
            if until is not None and out and budget_fraction(evaluator) >= until:
                break
            k = int(key)
            if k not in self.known:
                self.known[k] = float(evaluator.evaluate(c, self.config.fidelity))
                self.trained_per_level[level] = self.trained_per_level.get(level, 0) + 1
            self.data.append((c, level, self.known[k]))
            out.append(self.known[k])
        return np.array(out)

    def report_attrs(self) -> dict[str, Any]:
        """Surrogate Kendall tau per stage (predicted before training vs measured), trained counts, K used."""
        return {"surrogate_tau": [[lv, n, t] for lv, n, t in self.stage_tau],
                "trained_per_level": {str(k): v for k, v in sorted(self.trained_per_level.items())},
                "beam": int(self.beam or 0), "beam_rule": "auto" if self.config.beam == "auto" else "fixed",
                "levels": self.levels}
