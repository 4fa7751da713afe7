"""harness.testing: golden references and the quality assertion's plumbing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import DataError
from harness.testing import assert_search_quality, golden, load_reference


def test_load_reference_forms(tmp_path) -> None:
    assert np.array_equal(load_reference([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(DataError, match="not a golden reference"):
        load_reference({"regrets": [1.0]})
    with pytest.raises(DataError, match="unreadable"):
        load_reference(tmp_path / "missing.json")


def test_golden_round_trip(tmp_path, nb201_data, harness_cache) -> None:
    where = {"data": str(nb201_data), "cache": str(harness_cache)}
    ref = golden("random_search", "nb201", "cifar10-valid", Budget(max_cost_s=2000), range(6), **where)
    assert ref["seeds"] == list(range(6)) and len(ref["regrets"]) == 6 and min(ref["regrets"]) >= 0
    path = tmp_path / "rs.json"
    path.write_text(json.dumps(ref))
    # the same seeds replay the same regrets: never significantly worse
    assert assert_search_quality("random_search", "nb201", "cifar10-valid", Budget(max_cost_s=2000), range(6),
                                 reference=path, **where) > 0.4
    with pytest.raises(AssertionError, match="worse than the reference"):
        assert_search_quality("random_search", "nb201", "cifar10-valid", Budget(max_cost_s=2000), range(6),
                              reference=[-1.0] * 6, **where)


class _ProbeWithData:
    """ProbeTask with a data checksum, as real tables have."""

    def __new__(cls, sha: str = "abc"):
        from tests.harness.sealed_probes import ProbeTask

        task = ProbeTask()
        base = task.attrs
        task.attrs = lambda: {**base(), "data_sha256": sha}
        return task


def _golden_of(task, method="regularized_evolution", budget=Budget(max_cost_s=1500), config=None) -> dict:
    from dataclasses import asdict

    from harness.testing import GOLDEN_SCHEMA, final_regrets, optimum

    regrets = final_regrets(method, task, budget, range(100, 106), config)
    return {"schema": GOLDEN_SCHEMA, "method": method, "benchmark": "probe", "dataset": "toy", "budget": asdict(budget),
            "config": config or {}, "optimum": optimum(task), "data_sha256": task.attrs()["data_sha256"],
            "regrets": regrets.tolist()}


@pytest.fixture(scope="module")
def probe_golden() -> tuple:
    task = _ProbeWithData()
    return task, _golden_of(task)


def test_a_golden_made_for_this_check_passes(probe_golden: tuple) -> None:
    from harness.testing import check_quality

    task, ref = probe_golden
    assert check_quality("regularized_evolution", task, Budget(max_cost_s=1500), range(6), ref) > 0.1


@pytest.mark.parametrize("change, message", [
    ({"dataset": "cifar100"}, "dataset: reference 'cifar100', here 'toy'"),
    ({"method": "random_search"}, "method: reference 'random_search', here 'regularized_evolution'"),
    ({"budget": {"max_evals": None, "max_cost_s": 12000.0, "max_epochs": None}},
     "budget.max_cost_s: reference 12000.0, here 1500"),
    ({"config": {"population": 7}}, "config.population: reference 7, here "),
    ({"data_sha256": "old"}, "data_sha256: reference 'old', here 'abc'"),
    ({"benchmark": None}, "benchmark: absent from the reference, here 'probe'"),
])
def test_a_golden_made_for_another_check_names_the_key(probe_golden: tuple, change: dict, message: str) -> None:
    from harness.testing import check_quality

    task, ref = probe_golden
    bad = {**ref, **change}
    if change.get("benchmark", "") is None:
        del bad["benchmark"]
    with pytest.raises(AssertionError, match="was made for another check") as err:
        check_quality("regularized_evolution", task, Budget(max_cost_s=1500), range(6), bad)
    assert message in str(err.value) and "worse" not in str(err.value)
    if "method" in change:  # a variant held to another method's reference on purpose
        check_quality("regularized_evolution", task, Budget(max_cost_s=1500), range(2), bad, ignore=("method",),
                      alpha=0.0)


def test_an_override_equal_to_the_default_is_no_difference() -> None:
    from harness.run import make_config
    from harness.testing import golden_mismatch

    task = _ProbeWithData()
    ref = {"method": "regularized_evolution", "benchmark": "probe", "dataset": "toy", "data_sha256": "abc",
           "budget": {"max_evals": None, "max_cost_s": 1500.0, "max_epochs": None}, "config": {}}
    same = {"population": make_config("regularized_evolution", None).population}
    assert golden_mismatch(ref, "regularized_evolution", task, Budget(max_cost_s=1500), same) == []
