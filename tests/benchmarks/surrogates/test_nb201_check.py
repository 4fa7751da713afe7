"""The issue's check: a surrogate fitted on the NB201 table (cifar10-valid) runs a Table-5-style
RS / REA / REINFORCE study that ranks the methods as the table does, each method's mean within one
(sample) std of the table's. Small on purpose (3 x 100 trees, 20 seeds); docs/surrogates.md gives the
fuller measurement."""
from __future__ import annotations

import numpy as np
import pytest

from harness.budget import Budget
from harness.runner import CompareSpec, compare

pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")
METHODS = ("regularized_evolution", "random_search", "reinforce")


def _finals(benchmark, out, data, cache) -> dict[str, np.ndarray]:
    spec = CompareSpec(benchmark=benchmark, datasets=("cifar10-valid",), methods=METHODS, seeds=tuple(range(20)),
                       budget=Budget(max_cost_s=12000), out=out, data=str(data), cache=str(cache), workers=1)
    finals: dict[str, list[float]] = {}
    for s in compare(spec):
        finals.setdefault(s["method"], []).append(s["report_test"])
    return {m: np.array(v) for m, v in finals.items()}


def test_a_table5_study_on_the_nb201_surrogate_matches_the_table(small_surrogate, nb201_data, harness_cache, tmp_path):
    table = _finals("nb201", tmp_path / "table", nb201_data, harness_cache)
    sur = _finals("surrogate", tmp_path / "sur", small_surrogate, harness_cache)
    rank = lambda r: sorted(METHODS, key=lambda m: -r[m].mean())  # noqa: E731
    assert rank(sur) == rank(table) == ["regularized_evolution", "random_search", "reinforce"]
    for m in METHODS:
        assert abs(sur[m].mean() - table[m].mean()) <= table[m].std(ddof=1), (m, sur[m].mean(), table[m].mean())
