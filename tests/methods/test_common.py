"""methods/_common.py: the shared space check and architecture keys."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.spaces.darts import DARTS_V1, DARTS_V2, DartsSpace
from benchmarks.spaces.nb201 import NB201Space
from harness.errors import HarnessError
from methods._common import arch_keys, require_space


def test_require_space_names_the_method_and_the_space() -> None:
    require_space(NB201Space(), "nb201", method="m")
    with pytest.raises(HarnessError, match=r"^m needs the nb201 or macro space, got 'darts'$"):
        require_space(DartsSpace(), "nb201", "macro", method="m")


def test_keys_are_the_index_on_nb201_and_a_stable_hash_of_the_canonical_genotype_on_darts() -> None:
    nb = NB201Space()
    codes = nb.sample(np.random.default_rng(0), 5)
    np.testing.assert_array_equal(arch_keys(nb, codes), nb.index(codes))
    space = DartsSpace()
    v1, v2 = space.parse(DARTS_V1), space.parse(DARTS_V2)
    swapped = v2.reshape(2, 4, 2, 2)[:, :, ::-1].reshape(32)  # each node's inputs in the other order
    keys = arch_keys(space, np.stack([v1, v2, swapped]))
    assert keys[0] != keys[1] and keys[1] == keys[2]
    code = ("from benchmarks.spaces.darts import DARTS_V2, DartsSpace; from methods._common import arch_keys; "
            "print(int(arch_keys(DartsSpace(), DartsSpace().parse(DARTS_V2))[0]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONHASHSEED": "123"})
    assert int(out.stdout) == int(keys[1])  # the same in every process (no salted hash())
