"""EDNAS policy vectors (ednas.md): independent categoricals for structure (which inputs) and
operations (which op), sampled with numpy, scored with a proper log-softmax, trained by REINFORCE
against a moving baseline. Imports torch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from benchmarks.training.optim import Adam
from benchmarks.spaces.nb201 import EDGES as NB201_EDGES
from methods._oneshot.evnas_ga import DARTS_OFFSETS

Choice = tuple[str, int, int]  # (logit table, row, sampled index)
# unordered input pairs in the seed's order: for m = 1, 2, ...: for k < m: (k, m)
PAIRS = tuple((k, m) for m in range(1, 6) for k in range(m))
DARTS_STRUCT = {1: 3, 2: 6, 3: 10}   # intermediate node -> number of candidate pairs (node 0 fixed)
NB201_SUBSETS = {i: tuple(s for s in range(1, 2**i)) for i in (1, 2, 3)}  # bitmask over sources
CELLS = ("normal", "reduce")


class FactorisedPolicy(nn.Module):
    """Named logit tables, one categorical per row, all initialised N(0, 1e-3^2)."""

    def __init__(self, tables: dict[str, tuple[int, int]], gen: torch.Generator, scale: float = 1e-3) -> None:
        super().__init__()
        self.logits = nn.ParameterDict({
            k: nn.Parameter(scale * torch.randn(rows, n, generator=gen)) for k, (rows, n) in tables.items()})

    def draw(self, table: str, row: int, rng: np.random.Generator, out: list[Choice]) -> int:
        """Sample one index of ``table[row]`` and remember the choice."""
        p = torch.softmax(self.logits[table][row].detach().double(), 0).numpy()
        c = np.cumsum(p)
        i = min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), len(p) - 1)
        out.append((table, row, i))
        return i

    def log_prob(self, choices: list[Choice]) -> torch.Tensor:
        """Sum over choices of log-softmax(row)[index] (no double softmax, unlike the seed)."""
        return torch.stack([torch.log_softmax(self.logits[t][r], 0)[i] for t, r, i in choices]).sum()


def darts_policy(gen: torch.Generator) -> FactorisedPolicy:
    tables = {f"{c}_op": (14, 7) for c in CELLS}
    tables.update({f"{c}_struct{n}": (1, k) for c in CELLS for n, k in DARTS_STRUCT.items()})
    return FactorisedPolicy(tables, gen)


def sample_darts(policy: FactorisedPolicy, rng: np.random.Generator) -> tuple[np.ndarray, list[Choice]]:
    """int16[32] DARTS codes (normal, reduce) and the choices that made them."""
    choices: list[Choice] = []
    codes = []
    for c in CELLS:
        for node, start in enumerate(DARTS_OFFSETS):
            pair = (0, 1) if node == 0 else PAIRS[policy.draw(f"{c}_struct{node}", 0, rng, choices)]
            for src in pair:
                op = policy.draw(f"{c}_op", start + src, rng, choices)
                codes.extend([op + 1, src])  # the 7 EDNAS ops are DARTS ops 1..7, same order
    return np.asarray(codes, dtype=np.int16), choices


def nb201_policy(gen: torch.Generator) -> FactorisedPolicy:
    tables = {f"struct{i}": (1, len(s)) for i, s in NB201_SUBSETS.items()}
    tables["op"] = (6, 4)
    return FactorisedPolicy(tables, gen)


def sample_nb201(policy: FactorisedPolicy, rng: np.random.Generator) -> tuple[np.ndarray, list[Choice]]:
    """int8[6] NB201 codes: per node a non-empty input subset, per active edge a non-none op."""
    choices: list[Choice] = []
    codes = np.zeros(6, dtype=np.int8)
    for i, subsets in NB201_SUBSETS.items():
        mask = subsets[policy.draw(f"struct{i}", 0, rng, choices)]
        for j in range(i):
            if mask >> j & 1:
                e = NB201_EDGES.index((i, j))
                codes[e] = 1 + policy.draw("op", e, rng, choices)
    return codes, choices


RNN_STEPS = 8
RNN_OFFSETS = tuple(i * (i - 1) // 2 for i in range(1, RNN_STEPS + 1))  # first op row of node i (1..8)


def rnn_policy(gen: torch.Generator) -> FactorisedPolicy:
    """Structure: node i (2..8) over its i inputs (node 1 always reads node 0, as the seed); op: one row
    per (node, input) edge, 36 x 4 activations, as the seed's PTB policy. All zeros, as the PTB seed."""
    tables = {f"struct{i}": (1, i) for i in range(2, RNN_STEPS + 1)}
    tables["op"] = (RNN_OFFSETS[-1] + RNN_STEPS, 4)
    return FactorisedPolicy(tables, gen, scale=0.0)


def sample_rnn(policy: FactorisedPolicy, rng: np.random.Generator) -> tuple[np.ndarray, list[Choice]]:
    """int8[16] RNN codes (act, src per node) and the choices that made them."""
    choices: list[Choice] = []
    codes = np.empty(2 * RNN_STEPS, dtype=np.int8)
    for i in range(1, RNN_STEPS + 1):
        src = 0 if i == 1 else policy.draw(f"struct{i}", 0, rng, choices)
        codes[2 * i - 2] = policy.draw("op", RNN_OFFSETS[i - 1] + src, rng, choices)
        codes[2 * i - 1] = src
    return codes, choices


SPACES: dict[str, tuple[Callable[[torch.Generator], FactorisedPolicy], Callable[..., Any]]] = {
    "darts": (darts_policy, sample_darts), "nb201": (nb201_policy, sample_nb201), "rnn": (rnn_policy, sample_rnn)}


class Reinforce:
    """Adam on the policy; loss -(R - b) log pi(a) with b <- b - (1 - beta)(b - R) first."""

    def __init__(self, policy: FactorisedPolicy, lr: float, betas: tuple[float, float], weight_decay: float,
                 beta: float) -> None:
        self.policy, self.beta, self.baseline = policy, beta, 0.0
        self.opt = Adam(policy.parameters(), lr, betas, weight_decay)

    def step(self, choices: list[Choice], reward: float) -> None:
        self.baseline -= (1 - self.beta) * (self.baseline - reward)
        loss = -(reward - self.baseline) * self.policy.log_prob(choices)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
