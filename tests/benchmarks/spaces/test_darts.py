"""DARTS genotype codec: round trips, validation errors, sampling and mutation stay valid."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.spaces.darts import DARTS_V1, DARTS_V2, DartsSpace
from harness.errors import ArchError

SPACE = DartsSpace()


def test_repr_and_json_forms_round_trip() -> None:
    codes = SPACE.parse(DARTS_V2)
    assert codes.shape == (32,)
    js = SPACE.format(codes)[0]
    assert json.loads(js)["normal"][0] == ["sep_conv_3x3", 0]
    assert np.array_equal(SPACE.parse(js), codes)
    batch = SPACE.parse([DARTS_V1, DARTS_V2])
    assert batch.shape == (2, 32) and SPACE.index(batch).tolist() == [-1, -1]
    ranged = DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert np.array_equal(SPACE.parse(ranged), codes)


@pytest.mark.parametrize("text, fragment", [
    ("not a genotype", "expected JSON or Genotype"),
    ('{"normal": []}', "lacks field"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('conv_7x7', 0)", 1), "unknown op 'conv_7x7'"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 9)"), "src must lie in 0..4"),
    (DARTS_V2.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1), "distinct"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"), "normal_concat"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1), "unknown op 'none'"),
])
def test_invalid_genotypes_raise_one_line_errors(text: str, fragment: str) -> None:
    with pytest.raises(ArchError, match=fragment) as info:
        SPACE.parse(text)
    assert "\n" not in str(info.value)


def test_sample_mutate_canonical() -> None:
    rng = np.random.default_rng(0)
    codes = SPACE.sample(rng, 500)
    SPACE.check(codes)
    assert len({c.tobytes() for c in codes}) == 500
    children = np.stack([SPACE.mutate(c, rng) for c in codes])
    SPACE.check(children)
    assert ((children != codes).sum(axis=1) == 1).all()
    canon = SPACE.canonical(codes)
    assert np.array_equal(SPACE.canonical(canon), canon)
    swapped = codes.reshape(-1, 2, 4, 2, 2)[:, :, :, ::-1, :].reshape(-1, 32)  # inputs of each node swapped
    assert np.array_equal(SPACE.canonical(swapped), canon)


PARTIAL = ('{"normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 1], ["dil_conv_5x5", 2]], '
           '"normal_concat": [2, 3], "reduce": [["avg_pool_3x3", 0], ["sep_conv_5x5", 1]], "reduce_concat": [2]}')


def test_partial_cells_round_trip_and_count_their_nodes() -> None:
    codes = SPACE.parse(PARTIAL)
    assert SPACE.n_nodes(codes).tolist() == [2, 1]
    assert (codes.reshape(2, 4, 4)[0, 2:] == 0).all() and (codes.reshape(2, 4, 4)[1, 1:] == 0).all()
    assert json.loads(SPACE.format(codes)[0]) == json.loads(PARTIAL)
    assert SPACE.n_nodes(SPACE.parse([DARTS_V2, PARTIAL])).tolist() == [[4, 4], [2, 1]]
    rng = np.random.default_rng(0)
    kids = np.stack([SPACE.mutate(codes, rng) for _ in range(200)])
    SPACE.check(kids)  # mutation touches present nodes only
    assert (SPACE.n_nodes(kids) == [2, 1]).all() and ((kids != codes).sum(axis=1) == 1).all()


@pytest.mark.parametrize("edit, fragment", [
    (lambda c: c.__setitem__(slice(0, 4), 0), "trailing"),        # node 0 absent
    (lambda c: c.__setitem__(slice(12, 16), [4, 0, 4, 1]), "trailing"),  # node 3 present, node 2 absent
    (lambda c: c.__setitem__(4, 0), "1..7"),                      # half a node absent
])
def test_partial_cells_are_validated(edit, fragment) -> None:
    codes = SPACE.parse(PARTIAL).copy()
    edit(codes)
    with pytest.raises(ArchError, match=fragment):
        SPACE.check(codes)


def test_partial_concat_must_match_the_node_count() -> None:
    with pytest.raises(ArchError, match=r"normal_concat must be \[2, 3\]"):
        SPACE.parse(PARTIAL.replace('"normal_concat": [2, 3]', '"normal_concat": [2, 3, 4, 5]'))
