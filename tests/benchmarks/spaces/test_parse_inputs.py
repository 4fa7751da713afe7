"""Every space's ``parse`` refuses what is not text in one line, and reads an empty list as no rows."""
from __future__ import annotations

import pytest

from benchmarks.spaces.darts import DartsSpace
from benchmarks.spaces.macro import MacroSpace
from benchmarks.spaces.nb201 import NB201Space
from benchmarks.spaces.neurocell import NeuroCellSpace
from benchmarks.spaces.rnn import RNNSpace
from harness.errors import ArchError

SPACES = (DartsSpace, MacroSpace, NB201Space, NeuroCellSpace, RNNSpace)


@pytest.mark.parametrize("space", SPACES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [None, 3, 2.5, b"x", {"a": 1}, [None], ["x", 7]])
def test_parse_of_a_non_string_is_one_arch_error(space, bad) -> None:
    with pytest.raises(ArchError, match="must be a str") as err:
        space().parse(bad)
    assert "\n" not in str(err.value)
    assert space().parse([]).shape == (0, space.n_dims)
