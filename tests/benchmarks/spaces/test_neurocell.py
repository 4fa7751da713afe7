"""Neuro-cell genotypes: mutations keep every instance's structure valid, codes round-trip, and the
tabular variant's moves are the allowed NB201 analogues (spec checks 2 and 7)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.spaces.nb201 import OPS, NB201Space
from benchmarks.spaces.neurocell import (MAX_UNITS, MUTATIONS, NeuroCellSpace, apply, decode, encode,
                                        format_cell, parse_cell, propose, template_cell)
from harness.errors import ArchError
from methods._neurocell.select import tournament
from methods.neuro_cell_evolution_tabular import Config, grow, moves


def grown(seed: int, steps: int = 8):
    rng, cell = np.random.default_rng(seed), template_cell(8, 3, 1)
    for _ in range(steps):
        m = propose(cell, rng)
        cell = apply(cell, m)
    return cell


@pytest.mark.parametrize("seed", range(5))
def test_codes_and_strings_round_trip(seed: int) -> None:
    cell = grown(seed)
    assert format_cell(decode(encode(cell))) == format_cell(cell)
    assert format_cell(parse_cell(format_cell(cell))) == format_cell(cell)
    assert encode(cell).shape == (NeuroCellSpace.n_dims,)


def test_every_mutation_kind_is_drawn_and_widening_grows_within_range() -> None:
    rng, seen = np.random.default_rng(0), set()
    for _ in range(300):
        cell = template_cell(10)
        m = propose(cell, rng)
        seen.add(m.kind)
        if m.kind == "widen":
            w = len(m.mapping)
            assert 12 <= w <= 21 and w > 10 and m.mapping[:10] == tuple(range(10))
            assert apply(cell, m).units[0].width == w
    assert seen == set(MUTATIONS)


def test_inputs_only_point_backwards_and_cell_output_is_last() -> None:
    for seed in range(10):
        cell = grown(seed, 9)
        seen = {0}
        for u in cell.units:
            assert set(u.inputs) <= seen, format_cell(cell)
            seen.add(u.uid)
        assert all(cell.consumers(u.uid) for u in cell.units[:-1])  # no dead units


def test_full_cell_raises_one_line_error() -> None:
    cell = template_cell(4)
    rng = np.random.default_rng(0)
    with pytest.raises(ArchError, match="no mutation"):
        for _ in range(MAX_UNITS):
            cell = apply(cell, propose(cell, rng, ("skip",)))


def test_tournament_size_and_winner() -> None:
    rng = np.random.default_rng(0)
    fit = np.arange(40, dtype=float)
    for _ in range(50):
        i = tournament(fit, rng, 0.15)  # 6 of 40, without replacement
        assert i >= 5  # the best of 6 distinct members is at least the 6th-worst
    assert tournament(np.array([1.0, 3.0]), rng, 0.15) == 1  # at least 2


def test_tabular_moves_are_growth_analogues_and_valid_nb201() -> None:
    space, rng = NB201Space(), np.random.default_rng(0)
    allowed = {("none", "nor_conv_1x1"), ("none", "nor_conv_3x3"), ("skip_connect", "nor_conv_3x3"),
               ("nor_conv_1x1", "nor_conv_3x3")}
    cell = space.parse(Config.template)
    steps = 0
    while (child := grow(cell, rng)) is not None:
        diff = np.flatnonzero(child != cell)
        assert len(diff) == 1 and (OPS[cell[diff[0]]], OPS[child[diff[0]]]) in allowed
        assert space.parse(space.format(child)[0]).tolist() == child.tolist()
        cell, steps = child, steps + 1
    assert 5 <= steps <= 8 and not moves(cell) and "avg_pool_3x3" not in space.format(cell)[0]
