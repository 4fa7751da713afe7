"""DARTS genotype codec: round trips, validation errors, sampling and mutation stay valid."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.darts_space import DARTS_V1, DARTS_V2, DartsSpace
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
