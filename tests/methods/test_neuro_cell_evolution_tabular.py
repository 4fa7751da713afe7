"""neuro_cell_evolution-tabular on a small NB201-shaped fixture: growth moves only, the paper's growing
population (or the seed's replacement), determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.protocols import Outcome
from harness.recorder import read_trajectory
from harness.run import run_one
from methods.neuro_cell_evolution_tabular import Config, moves


class FakeNB201:
    """NB201 space with a made-up accuracy per cell (more convolutions score higher)."""

    name = "fake-nb201"
    fidelities = (12.0,)
    default_fidelity = 12.0

    def __init__(self) -> None:
        self.space = NB201Space()

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        codes = np.atleast_2d(codes)
        val = 50 + 5 * np.isin(codes, (2, 3)).sum(1) + (self.space.index(codes) % 7)
        one = np.ones(len(codes))
        return Outcome(val=val.astype(float), cost_s=10 * one, epochs=12 * one, report_valid=val, report_test=val)

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.evaluate(codes, 12.0)
        return out.report_valid, out.report_test

    def attrs(self) -> dict:
        return {"benchmark": "fake", "dataset": "fake", "cost_unit": "simulated_s"}


def _codes(tmp_path: Path, seed: int, name: str, **cfg) -> np.ndarray:
    path = tmp_path / f"{name}.h5"
    run_one("neuro_cell_evolution-tabular", FakeNB201(), Budget(max_evals=100), seed, path, cfg)
    return read_trajectory(path).codes


def test_every_child_is_one_growth_move_from_an_earlier_cell(tmp_path: Path) -> None:
    codes = _codes(tmp_path, 0, "a")
    space = NB201Space()
    assert space.format(codes[0])[0] == Config.template
    for i in range(1, len(codes)):
        grown_from = [j for j in range(i) if any(
            (codes[j][e] != codes[i][e]) and (codes[i] != codes[j]).sum() == 1 and (e, codes[i][e]) in moves(codes[j])
            for e in range(6))]
        assert grown_from, space.format(codes[i])[0]
    assert len(codes) == 1 + 15 + 19  # template, generation 1, then one child per generation
    assert np.array_equal(codes, _codes(tmp_path, 0, "b"))


def test_replace_parent_keeps_population_size(tmp_path: Path) -> None:
    grow_codes = _codes(tmp_path, 1, "grow", init_population=3, generations=10)
    seed_codes = _codes(tmp_path, 1, "seed", init_population=3, generations=10, replace_parent=True)
    assert len(grow_codes) == len(seed_codes) == 1 + 3 + 9
    assert not np.array_equal(grow_codes, seed_codes)


def test_needs_the_nb201_space() -> None:
    import pytest

    from benchmarks.spaces.neurocell import NeuroCellSpace
    from harness.errors import HarnessError
    from methods.neuro_cell_evolution_tabular import NeuroCellEvolutionTabular

    with pytest.raises(HarnessError, match="needs the nb201 space"):
        NeuroCellEvolutionTabular(NeuroCellSpace(), np.random.default_rng(0), Config())
