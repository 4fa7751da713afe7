"""A data-free NB201 task for the predictor-method tests: a fixed linear score of the ops."""
from __future__ import annotations

import numpy as np


class ToyNB201Task:
    """NB201 cells scored by a fixed linear function of their ops; cost 100 s, params = conv count."""

    name = "toy/nb201"
    fidelities = (12.0,)
    default_fidelity = 12.0

    def __init__(self) -> None:
        from benchmarks.spaces.nb201 import NB201Space

        self.space = NB201Space()
        self.weights = np.random.default_rng(123).normal(size=(6, 5))
        self.queries = 0

    def _score(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(codes).astype(np.int64)
        return 50.0 + 5.0 * self.weights[np.arange(6), codes].sum(axis=1)

    def evaluate(self, codes: np.ndarray, fidelity: float):
        from harness.protocols import Outcome

        self.queries += len(codes)
        v = self._score(codes)
        n = len(v)
        return Outcome(val=v, cost_s=np.full(n, 100.0), epochs=np.full(n, fidelity),
                       report_valid=v + 1.0, report_test=v + 2.0)

    def report(self, codes: np.ndarray):
        v = self._score(codes)
        return v + 1.0, v + 2.0

    def resource(self, codes: np.ndarray, name: str) -> np.ndarray:
        assert name == "convs"
        return np.isin(np.atleast_2d(codes), (2, 3)).sum(axis=1).astype(float)

    def attrs(self) -> dict:
        return {"benchmark": "toy", "dataset": "toy", "cost_unit": "simulated_s", "data_sha256": "toy"}


class ToyDartsTask:
    """DARTS genotypes (partial cells too) scored by a fixed linear function of each node's ops and
    inputs (either input order scores the same, as the cell is the same); cost 10 s a query."""

    name = "toy/darts"
    fidelities = (1.0,)
    default_fidelity = 1.0

    def __init__(self) -> None:
        from benchmarks.spaces.darts import DartsSpace

        self.space = DartsSpace()
        self.w_op = np.random.default_rng(7).normal(size=(2, 4, 8))   # cell, node, op
        self.w_src = np.random.default_rng(8).normal(size=(2, 4, 5))  # cell, node, src
        self.queries = 0

    def _score(self, codes: np.ndarray) -> np.ndarray:
        c = np.atleast_2d(codes).astype(np.int64).reshape(-1, 2, 4, 2, 2)
        cell, node = np.arange(2)[:, None, None], np.arange(4)[None, :, None]
        on = c[..., 0] != 0
        w = self.w_op[cell, node, c[..., 0]] + 0.3 * self.w_src[cell, node, c[..., 1]]
        return 50.0 + 3.0 * (w * on).sum(axis=(1, 2, 3))

    def evaluate(self, codes: np.ndarray, fidelity: float):
        from harness.protocols import Outcome

        self.space.check(codes)
        self.queries += len(codes)
        v = self._score(codes)
        n = len(v)
        return Outcome(val=v, cost_s=np.full(n, 10.0), epochs=np.full(n, fidelity),
                       report_valid=v + 1.0, report_test=v + 2.0)

    def report(self, codes: np.ndarray):
        v = self._score(codes)
        return v + 1.0, v + 2.0

    def attrs(self) -> dict:
        return {"benchmark": "toy", "dataset": "toy", "cost_unit": "simulated_s", "data_sha256": "toy"}
