"""Independent random streams per (seed, purpose), so methods share no hidden RNG."""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *purpose: str) -> np.random.Generator:
    """A Generator for this seed and purpose; the same arguments give the same stream."""
    keys = [zlib.crc32(p.encode()) for p in purpose]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *keys]))


def torch_seed(seed: int, *purpose: str) -> int:
    """A 63-bit integer seed for a torch.Generator, derived like ``stream``."""
    return int(stream(seed, "torch", *purpose).integers(0, 2**63 - 1))
