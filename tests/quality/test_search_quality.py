"""Search quality against golden references (tests/quality/golden, made by `python -m harness golden`).

Golden runs use seeds 1000-1099; these tests use seeds 0-39, so they check the regret distribution,
not a replay. Regenerate a reference only when a method's behaviour is meant to change.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.registry import METHODS
from harness.testing import assert_search_quality, compare_regrets, load_reference
from methods.regularized_evolution import RegularizedEvolution

GOLDEN = Path(__file__).parent / "golden"
BUDGET = Budget(max_cost_s=12000.0)
SEEDS = range(40)



@pytest.fixture(scope="module")
def where(nb201_data, harness_cache) -> dict[str, str]:
    return {"data": str(nb201_data), "cache": str(harness_cache)}


@pytest.mark.parametrize("method", ["random_search", "regularized_evolution", "reinforce", "bohb-nb201"])
def test_quality_holds(method: str, where: dict[str, str]) -> None:
    assert_search_quality(method, "nb201", "cifar10-valid", BUDGET, SEEDS, reference=GOLDEN / f"{method}.json",
                          alpha=0.01, **where)


@pytest.mark.parametrize("method", ["pnas", "predictor_evolution"])
def test_predictor_methods_quality_holds(method: str, where: dict[str, str]) -> None:
    """CPU-cheap predictor settings (stored in the golden file) and 8 seeds: a few seconds each."""
    ref = json.loads((GOLDEN / f"{method}.json").read_text())
    assert_search_quality(method, "nb201", "cifar10-valid", BUDGET, range(8), reference=ref, alpha=0.01,
                          config=ref["config"], **where)


class BlindEvolution(RegularizedEvolution):
    """A deliberately broken REA: the tournament ignores fitness (a random member is the parent)."""

    def search(self, evaluator) -> None:
        while len(self.population) < self.config.population:
            codes = self.space.sample(self.rng, 1)[0]
            self.population.append((codes, evaluator.evaluate(codes)))
        while True:
            parent = self.population[int(self.rng.integers(0, len(self.population)))][0]
            child = self.space.mutate(parent, self.rng)
            self.population.append((child, evaluator.evaluate(child)))
            self.population.popleft()


def test_degraded_method_is_caught(monkeypatch: pytest.MonkeyPatch, where: dict[str, str]) -> None:
    METHODS.discover()
    monkeypatch.setitem(METHODS._items, "rea_ignores_fitness", BlindEvolution)  # registered for this test only
    with pytest.raises(AssertionError, match="worse than the reference"):
        assert_search_quality("rea_ignores_fitness", "nb201", "cifar10-valid", BUDGET, SEEDS,
                              reference=GOLDEN / "regularized_evolution.json", ignore=("method",), **where)


def test_goldens_order_rea_over_rs() -> None:
    rea, rs = load_reference(GOLDEN / "regularized_evolution.json"), load_reference(GOLDEN / "random_search.json")
    assert rea.mean() < rs.mean() and compare_regrets(rs, rea) < 0.05


def test_mann_whitney_direction() -> None:
    ref = np.linspace(0, 1, 50)
    assert compare_regrets(ref + 0.5, ref) < 0.01 and compare_regrets(ref - 0.5, ref) > 0.99
