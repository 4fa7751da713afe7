"""The noise policy of a surrogate query, recorded in every run's identity.

``deterministic``: a query returns the model's mean prediction. ``surrogate``: it returns a draw
from the model's own predictive distribution (a normal with the calibrated ensemble spread as its
std). The draw for a run's query number q comes from a stream of (run seed, q) alone, so it does
not depend on batching, on other runs or on a resume (the evaluator passes q; harness/evaluator.py).
"""
from __future__ import annotations

import zlib

import numpy as np

from harness.errors import HarnessError

POLICIES = ("deterministic", "surrogate")
_PURPOSE = zlib.crc32(b"surrogate-noise")


def check_policy(policy: str) -> str:
    """The policy name, or one line naming the allowed ones."""
    if policy not in POLICIES:
        raise HarnessError(f"noise must be one of {', '.join(POLICIES)}, got {policy!r}")
    return policy


def query_normals(seed: int, first: int, n: int, k: int) -> np.ndarray:
    """(n, k) standard normals; row i is the stream of (seed, query first + i)."""
    out = np.empty((n, k))
    for i in range(n):
        out[i] = np.random.default_rng([int(seed), _PURPOSE, int(first) + i]).standard_normal(k)
    return out


def apply(policy: str, mean: np.ndarray, std: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    """The answered value under ``policy``: the mean, or mean + std * z."""
    if policy == "deterministic" or z is None:
        return mean
    return mean + std * z
