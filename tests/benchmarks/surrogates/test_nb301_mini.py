"""nb301-mini: the NASLib compact encoding both ways, preparation into the cache (atomic, once), and
a DARTS-space study on it with the NB201 command shape."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.spaces.darts import DARTS_V2, DartsSpace
from benchmarks.surrogates.naslib_codec import from_compact, to_compact
from harness.budget import Budget
from harness.errors import ArchError
from harness.runner import CompareSpec, compare


def test_compact_round_trips_both_ways():
    space = DartsSpace()
    codes = space.sample(np.random.default_rng(0), 50)
    for c in codes:
        assert np.array_equal(from_compact(to_compact(c)), c)
        assert np.array_equal(from_compact(str(to_compact(c))), c)
    compact = ((0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5))  # DARTS-V2's normal cell
    v2 = space.parse(DARTS_V2)
    assert to_compact(v2)[0] == compact
    assert space.genotype(from_compact(str(to_compact(v2))))["normal"][7] == ["dil_conv_3x3", 2]


@pytest.mark.parametrize("bad, why", [([[(0, 7)] * 8, [(0, 1)] * 8], "op indices"),
                                      ([[(0, 1)] * 7, [(0, 1)] * 8], "8 .src, op. pairs"),
                                      ([[(0, 1), (0, 2)] * 4, [(0, 1), (1, 2)] * 4], "distinct"),
                                      ("((0, 1)", "malformed")])
def test_a_bad_compact_encoding_is_one_line(bad, why):
    with pytest.raises(ArchError, match=why):
        from_compact(bad)


def test_every_naslib_cell_parses_and_writes_back_the_same(nb201_data):
    from benchmarks.surrogates.nb301_mini import find_source

    rows = json.loads(find_source(nb201_data).read_text())["nasbench301"]["cifar10"]
    assert len(rows) == 500
    for key in rows:
        assert str(tuple(tuple(p) for p in to_compact(from_compact(key)))).replace(" ", "") == \
            key.replace("[", "(").replace("]", ")").replace(" ", "")


def test_nb301_mini_is_prepared_once_and_runs_a_darts_study(nb201_data, tmp_path):
    pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")
    from benchmarks.nb301_mini import make
    from benchmarks.surrogates.model import load

    task = make("cifar10", data=nb201_data, cache=tmp_path / "cache", noise="surrogate")
    prepared = list((tmp_path / "cache").iterdir())
    assert len(prepared) == 1 and prepared[0].name.startswith("nb301-mini-v1-")
    stamp = prepared[0].stat().st_mtime_ns
    make("cifar10", data=nb201_data, cache=tmp_path / "cache")
    assert prepared[0].stat().st_mtime_ns == stamp  # reused, not refitted
    heldout = load(prepared[0]).manifest["heldout"]["val"]
    assert heldout["n"] == 75 and heldout["kendall_tau"] > 0.3  # 500 points: a rough ranking only
    assert task.attrs()["noise"] == "surrogate" and task.space.name == "darts"
    spec = CompareSpec(benchmark="nb301-mini", datasets=("cifar10",),
                       methods=("random_search", "regularized_evolution"),
                       seeds=(0,), budget=Budget(max_cost_s=100_000), out=tmp_path / "runs", data=str(nb201_data),
                       cache=str(tmp_path / "cache"), benchmark_options={"noise": "surrogate"},
                       method_configs={"regularized_evolution": {"population": 5, "sample_size": 2}})
    summaries = compare(spec)
    assert {s["method"] for s in summaries} == {"random_search", "regularized_evolution"}
    assert all(s["n_evals"] >= 10 and 88 < s["report_test"] < 96 for s in summaries)
