"""RS checks (baselines.md check 2)."""
from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from benchmarks.nb201_space import NB201Space
from methods.random_search import Config, RandomSearch
from tests.methods.fakes import FakeEvaluator, run


def test_op_frequencies_are_uniform() -> None:
    ev = run(RandomSearch(NB201Space(), np.random.default_rng(0), Config()),
             FakeEvaluator(lambda c, f: 0.0, max_evals=5000))
    codes = ev.codes()
    for edge in range(6):
        counts = np.bincount(codes[:, edge], minlength=5)
        assert chisquare(counts).pvalue > 1e-3
