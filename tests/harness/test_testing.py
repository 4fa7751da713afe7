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
