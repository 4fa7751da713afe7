"""ENAS' controller for the NB201 cell: a 2-layer LSTM (hidden 32) that picks one op per edge in edge
order, each pick fed back as the next input; logits / temperature 5, then 2.5 * tanh (ENAS' sharpening).
Trained by REINFORCE (methods/enas.py). Imports torch.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Controller(nn.Module):
    """Autoregressive policy over ``n_edges`` categorical choices of ``n_ops`` each."""

    def __init__(self, n_edges: int, n_ops: int, seed: int, hidden: int = 32, layers: int = 2,
                 temperature: float = 5.0, tanh_constant: float = 2.5) -> None:
        super().__init__()
        self.n_edges, self.temperature, self.tanh_constant = n_edges, temperature, tanh_constant
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.lstm = nn.LSTM(hidden, hidden, layers)
            self.embed = nn.Embedding(n_ops, hidden)
            self.head = nn.Linear(hidden, n_ops)
            self.start = nn.Parameter(torch.zeros(1, 1, hidden))
            for p in self.parameters():
                nn.init.uniform_(p, -0.1, 0.1)

    def _logits(self, out: torch.Tensor) -> torch.Tensor:
        return self.tanh_constant * torch.tanh(self.head(out[-1, 0]) / self.temperature)

    def forward(self, gen: torch.Generator | None = None, codes: np.ndarray | None = None,
                greedy: bool = False) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """(codes, log-probability, entropy): sampled from ``gen``, the arg-max when ``greedy``, or the
        given ``codes`` scored."""
        inp, state = self.start, None
        picks, logp, ent = [], [], []
        for e in range(self.n_edges):
            out, state = self.lstm(inp, state)
            lp = torch.log_softmax(self._logits(out), dim=-1)
            if codes is not None:
                k = int(codes[e])
            elif greedy:
                k = int(lp.argmax())
            else:
                k = int(torch.multinomial(lp.detach().exp().double().cpu(), 1, generator=gen))
            picks.append(k)
            logp.append(lp[k])
            ent.append(-(lp.exp() * lp).sum())
            inp = self.embed(torch.tensor([k], device=lp.device)).view(1, 1, -1)
        return np.asarray(picks, dtype=np.int8), torch.stack(logp).sum(), torch.stack(ent).sum()
