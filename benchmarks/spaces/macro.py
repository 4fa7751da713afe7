"""The GNN-predictor seed's macro space (predictor_evolution.md): 5 layers, each a sum of ops.

Genome: 30 bits, layer-major, op order skip, sep3, sep5, sep7, dil3, dil5; a layer needs one op.
MACs are counted analytically (convolutions and the classifier; BN/ReLU/adds free), matching a
hook count of the torch network in ``benchmarks/training/nets/macro.py``; ``benchmarks/macro_train.py``
trains it.
"""
from __future__ import annotations

import numpy as np

from benchmarks.spaces._strings import strings
from harness.errors import ArchError

OPS = ("skip", "sep3", "sep5", "sep7", "dil3", "dil5")
KERNEL = {"sep3": 3, "sep5": 5, "sep7": 7, "dil3": 3, "dil5": 5}
LAYERS = ((16, 1), (32, 2), (40, 2), (80, 2), (320, 1))  # (output channels, stride)
STEM, HEAD = 16, 1280
N_LAYERS, N_OPS = len(LAYERS), len(OPS)


class MacroSpace:
    """2^30 genomes, of which those with an empty layer are invalid (never sampled or returned)."""

    name = "macro"
    n_dims = N_LAYERS * N_OPS
    n_choices = 2

    def valid(self, codes: np.ndarray) -> np.ndarray:
        bits = np.atleast_2d(codes).reshape(-1, N_LAYERS, N_OPS)
        return (bits.sum(axis=2) > 0).all(axis=1) & np.isin(bits, (0, 1)).all(axis=(1, 2))

    def check(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(np.asarray(codes))
        if codes.shape[-1] != self.n_dims or codes.dtype.kind not in "iu":
            raise ArchError(f"macro genomes must be integer arrays of shape (..., 30), got {codes.dtype} {codes.shape}")
        if not self.valid(codes).all():
            raise ArchError("macro genome invalid: bits must be 0/1 and every layer needs at least one op")
        return codes

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Each bit Bernoulli(0.5); an empty layer gets one random op switched on (the seed's rule)."""
        bits = rng.integers(0, 2, size=(n, N_LAYERS, N_OPS), dtype=np.int8)
        forced = rng.integers(0, N_OPS, size=(n, N_LAYERS))
        empty = bits.sum(axis=2) == 0
        rows, layers = np.nonzero(empty)
        bits[rows, layers, forced[rows, layers]] = 1
        return bits.reshape(n, self.n_dims)

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Flip one bit; a flip that empties a layer is redrawn."""
        child = np.array(codes, dtype=np.int8, copy=True).reshape(-1)
        while True:
            k = int(rng.integers(0, self.n_dims))
            child[k] ^= 1
            if self.valid(child)[0]:
                return child
            child[k] ^= 1

    def format(self, codes: np.ndarray) -> list[str]:
        """``skip+sep3|sep5|...``: '|' between layers, '+' between the summed ops of a layer."""
        bits = self.check(codes).reshape(-1, N_LAYERS, N_OPS)
        return ["|".join("+".join(o for o, b in zip(OPS, layer) if b) for layer in g) for g in bits]

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "macro arch")
        if items is not None:
            return np.stack([self.parse(x) for x in items]) if items else np.zeros((0, self.n_dims), np.int8)
        layers = s.split("|")
        if len(layers) != N_LAYERS:
            raise ArchError(f"macro arch {s!r}: expected {N_LAYERS} layers joined by '|', got {len(layers)}")
        bits = np.zeros((N_LAYERS, N_OPS), dtype=np.int8)
        for i, layer in enumerate(layers):
            for op in filter(None, layer.split("+")):
                if op not in OPS:
                    raise ArchError(f"macro arch {s!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
                bits[i, OPS.index(op)] = 1
        return self.check(bits.reshape(1, -1))[0]

    def index(self, codes: np.ndarray) -> np.ndarray:
        """The genome read as a 30-bit integer (first bit most significant)."""
        bits = np.atleast_2d(codes).astype(np.int64)
        return bits @ (1 << np.arange(self.n_dims - 1, -1, -1, dtype=np.int64))


def op_macs(op: str, c_in: int, c_out: int, stride: int, h_out: int) -> int:
    """Multiply-adds of one op at an output resolution of h_out x h_out."""
    px = h_out * h_out
    if op == "skip":
        return 0 if stride == 1 and c_in == c_out else px * c_in * c_out  # 1x1 conv / factorized reduce
    k2 = KERNEL[op] ** 2
    if op.startswith("sep"):  # (depthwise + pointwise c_in->c_in) then (depthwise + pointwise c_in->c_out)
        return px * (c_in * k2 + c_in * c_in + c_in * k2 + c_in * c_out)
    return px * (c_in * k2 + c_in * c_out)  # dil: depthwise (dilation 2) + pointwise


def macs(codes: np.ndarray, image_size: int = 32, in_channels: int = 3, num_classes: int = 100) -> np.ndarray:
    """MACs of each genome's network (stem, searched layers, 1x1 head conv, classifier)."""
    bits = np.atleast_2d(codes).reshape(-1, N_LAYERS, N_OPS)
    h = image_size
    fixed = h * h * in_channels * STEM * 9
    per_op = np.zeros((N_LAYERS, N_OPS), dtype=np.int64)
    c_in = STEM
    for layer, (c_out, stride) in enumerate(LAYERS):
        h = -(-h // stride)
        per_op[layer] = [op_macs(op, c_in, c_out, stride, h) for op in OPS]
        c_in = c_out
    fixed += h * h * c_in * HEAD + HEAD * num_classes
    return fixed + (bits * per_op[None]).sum(axis=(1, 2))
