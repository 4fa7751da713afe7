"""PNAS: progressive growth ranked by an LSTM surrogate (Liu et al., ECCV 2018; pnas.md).

NB201 "node-progressive" mapping: level b fixes the ops on node b's incoming edges; unset nodes
j > b pass through (edge j<-(j-1) = skip_connect, other inputs none). Level 1 is trained whole;
each later level trains the surrogate's top K of all one-node expansions of the kept cells. Once
the last level is reached, the rest of the budget goes down the re-ranked final-level candidates,
K at a time, refitting the surrogate between batches.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.errors import HarnessError
from harness.evaluator import MeteredEvaluator
from harness.protocols import SearchSpace
from harness.registry import METHODS

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
class Config:
    beam: int = 32           # K (pnas.md NB201 default; paper 256)
    levels: int = 3          # NB201 nodes
    embed: int = 16          # paper: 100 / 100 / 5 members (4x slower on CPU, no better here)
    hidden: int = 32
    ensemble: int = 3
    epochs: int = 30
    lr: float = 0.01
    batch_size: int = 16
    fidelity: float | None = None


@METHODS.register("pnas")
class PNAS:
    """Beam search over cell sizes; the surrogate ranks, only the top K are paid for."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        if space.name != "nb201":
            raise HarnessError(f"pnas supports the nb201 space only (node-progressive mapping), got {space.name!r}")
        if config.beam < 1 or not 1 <= config.levels <= 3:
            raise HarnessError(f"pnas needs beam >= 1 and 1 <= levels <= 3, got {config.beam}, {config.levels}")
        self.space, self.rng, self.config = space, rng, config
        self.known: dict[int, float] = {}          # arch index -> measured value
        self.data: list[tuple[np.ndarray, int, float]] = []  # (codes, level, value), in order paid for
        self.stage_tau: list[tuple[int, int, float]] = []     # (level, n trained, Kendall tau)
        self.trained_per_level: dict[int, int] = {}
        self.make_surrogate: Callable[[int], Any] = self._lstm

    def _lstm(self, seed: int) -> Any:
        from methods._predictors import LSTMSurrogate, SurrogateConfig

        c = self.config
        sc = SurrogateConfig(c.embed, c.hidden, c.ensemble, c.epochs, c.lr, c.batch_size)
        return LSTMSurrogate(N_SLOTS, N_OPS, sc, seed)

    def search(self, evaluator: MeteredEvaluator) -> None:
        cfg = self.config
        kept = level_one()
        kept = kept[evaluator.feasible(kept)]
        self._train(evaluator, kept, 1)
        pool = kept
        for level in range(2, cfg.levels + 1):
            pool = self._candidates(evaluator, expand(kept, level))
            kept = self._train_top(evaluator, pool, level)
        while True:  # budget left: go on down the re-ranked last level, K at a time
            idx = self.space.index(pool)
            pool = pool[np.array([int(i) not in self.known for i in idx], dtype=bool)]
            if not len(pool):
                return
            self._train_top(evaluator, pool, cfg.levels)

    def _candidates(self, evaluator: MeteredEvaluator, cells: np.ndarray) -> np.ndarray:
        """Deduplicated (by arch index), feasible cells, in first-seen order."""
        _, first = np.unique(self.space.index(cells), return_index=True)
        cells = cells[np.sort(first)]
        return cells[evaluator.feasible(cells)]

    def _train_top(self, evaluator: MeteredEvaluator, cand: np.ndarray, level: int) -> np.ndarray:
        """Fit the surrogate on every label, train the top min(K, |C|) candidates in predicted order."""
        surrogate = self.make_surrogate(int(self.rng.integers(2**62)))
        surrogate.fit([t for c, lv, _ in self.data for t in tokens(c, lv)], np.array([v for *_, v in self.data]))
        pred = np.asarray(surrogate.predict(tokens(cand, level)))
        top = np.argsort(-pred, kind="stable")[:self.config.beam]
        measured = self._train(evaluator, cand[top], level)
        if len(measured) >= 2:
            from methods._predictors import tau

            self.stage_tau.append((level, len(measured), tau(pred[top][:len(measured)], measured)))
        return cand[top]

    def _train(self, evaluator: MeteredEvaluator, cells: np.ndarray, level: int) -> np.ndarray:
        """Query cells in order; a cell already measured (same completed cell) is not paid twice."""
        out = []
        for c in cells:
            i = int(self.space.index(c.reshape(1, -1))[0])
            if i not in self.known:
                self.known[i] = float(evaluator.evaluate(c, self.config.fidelity))
                self.trained_per_level[level] = self.trained_per_level.get(level, 0) + 1
            self.data.append((c, level, self.known[i]))
            out.append(self.known[i])
        return np.array(out)

    def report_attrs(self) -> dict[str, Any]:
        """Surrogate Kendall tau per stage (predicted before training vs measured), trained counts."""
        return {"surrogate_tau": [[lv, n, t] for lv, n, t in self.stage_tau],
                "trained_per_level": {str(k): v for k, v in sorted(self.trained_per_level.items())},
                "beam": self.config.beam}
