"""Accuracy predictors (torch; import lazily): DrBC-style GNN, MLP baseline, LSTM token surrogate.

GNN and MLP follow predictor_evolution.md; the LSTM ensemble follows pnas.md. Every draw (init,
batch order, ensemble folds) comes from a seed given to the constructor, never from global RNGs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import kendalltau
from torch import nn

from benchmarks.training.optim import Adam
from harness.errors import HarnessError
from methods._predictors.graphs import flat, graph


@dataclass(frozen=True)
class PredictorConfig:
    """Predictor size and fit schedule (sheet values: hidden 128, 5 layers, 54, Adam 1e-4, batch 1, 50 ep;
    ours are cut to fit shared CPUs: hidden 32, 3 layers, minibatch 16, Adam 1e-3, 40 epochs)."""

    kind: str = "gnn"        # "gnn" (DrBC encoder) or "mlp" (the seed's comparison)
    hidden: int = 32
    layers: int = 3
    decoder_hidden: int = 54
    epochs: int = 40
    lr: float = 1e-3
    batch_size: int = 16
    targets: str = "rank"    # TargetScale mode; "affine" = the sheet's plain accuracy/100


def _init(model: nn.Module, gen: torch.Generator) -> None:
    """Re-draw every parameter from ``gen`` (uniform +-1/sqrt(fan-in), as torch's defaults)."""
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[1] if p.dim() > 1 else p.shape[0]
            bound = 1.0 / float(np.sqrt(max(fan_in, 1)))
            nn.init.uniform_(p, -bound, bound, generator=gen)


class GNN(nn.Module):
    """DrBC encoder (shared GRU cell, symmetric-normalised sum, max over layers) + flat MLP decoder."""

    def __init__(self, n_nodes: int, hidden: int, layers: int, decoder_hidden: int) -> None:
        super().__init__()
        self.inp = nn.Linear(3, hidden)
        self.gru = nn.GRUCell(hidden, hidden)
        self.layers = layers
        self.dec = nn.Sequential(nn.Linear(n_nodes * hidden, decoder_hidden), nn.LeakyReLU(),
                                 nn.Linear(decoder_hidden, 1))

    def forward(self, norm_adj: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        b, k, _ = feats.shape
        h = nn.functional.leaky_relu(self.inp(feats))
        best = None
        for _ in range(self.layers):
            m = torch.bmm(norm_adj, h)
            h = self.gru(m.reshape(b * k, -1), h.reshape(b * k, -1)).reshape(b, k, -1)
            best = h if best is None else torch.maximum(best, h)
        return torch.sigmoid(self.dec(best.reshape(b, -1))).squeeze(-1)


class MLP(nn.Module):
    """The seed's "NN predictor": flat genome -> hidden -> hidden -> sigmoid."""

    def __init__(self, n_in: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)).squeeze(-1)


def normalised_adjacency(adj: np.ndarray) -> np.ndarray:
    """Message j -> v scaled by 1/sqrt(deg v * deg j), deg = in-degree with the self loop."""
    recv = np.swapaxes(adj, 1, 2)  # recv[v, j] = 1 when j -> v
    deg = recv.sum(axis=2)
    inv = 1.0 / np.sqrt(deg)
    return (recv * inv[:, :, None] * inv[:, None, :]).astype(np.float32)


def fit_model(model: nn.Module, inputs: tuple[torch.Tensor, ...], y: torch.Tensor, epochs: int,
              lr: float, batch_size: int, gen: torch.Generator, loss: str = "mse") -> None:
    """Adam on shuffled minibatches; the batch order comes from ``gen``."""
    opt = Adam(model.parameters(), lr)
    crit = nn.MSELoss() if loss == "mse" else nn.L1Loss()
    n = len(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            opt.zero_grad()
            crit(model(*(t[idx] for t in inputs)), y[idx]).backward()
            opt.step()
    model.eval()


class TargetScale:
    """Monotone map of accuracies onto [0.1, 0.9] for a sigmoid: affine, or by rank ("rank").

    Rank targets keep NB201's few diverged cells (10 % accuracy) from squeezing the good ones together.
    """

    def __init__(self, y: np.ndarray, mode: str = "rank") -> None:
        if mode not in ("rank", "affine"):
            raise HarnessError(f"target scaling must be 'rank' or 'affine', got {mode!r}")
        self.mode = mode
        self.sorted = np.sort(np.asarray(y, dtype=np.float64))
        self.lo, self.hi = float(self.sorted[0]), float(self.sorted[-1])
        self.span = max(self.hi - self.lo, 1e-6)
        self.grid = np.linspace(0.1, 0.9, len(self.sorted)) if len(self.sorted) > 1 else np.array([0.5])

    def to01(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if self.mode == "affine":
            return 0.1 + 0.8 * (y - self.lo) / self.span
        return np.interp(y, self.sorted, self.grid)

    def back(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.mode == "affine" or len(self.sorted) < 2:
            return self.lo + (p - 0.1) / 0.8 * self.span
        # inside the labels' range by interpolation, linear beyond it, so order is kept everywhere
        inner = np.interp(p, self.grid, self.sorted)
        slope = self.span / 0.8
        return np.where(p < 0.1, self.lo + (p - 0.1) * slope, np.where(p > 0.9, self.hi + (p - 0.9) * slope, inner))


class Predictor:
    """GNN or MLP accuracy predictor over one search space; ``fit`` restarts from a seeded init."""

    def __init__(self, space_name: str, n_choices: int, config: PredictorConfig, seed: int) -> None:
        if config.kind not in ("gnn", "mlp"):
            raise HarnessError(f"predictor kind must be 'gnn' or 'mlp', got {config.kind!r}")
        self.space_name, self.n_choices, self.config, self.seed = space_name, n_choices, config, seed
        self.model: nn.Module | None = None
        self.scale: TargetScale | None = None

    def _inputs(self, codes: np.ndarray) -> tuple[torch.Tensor, ...]:
        if self.config.kind == "mlp":
            return (torch.from_numpy(flat(self.space_name, codes, self.n_choices)),)
        adj, feats = graph(self.space_name, codes)
        return torch.from_numpy(normalised_adjacency(adj)), torch.from_numpy(feats)

    def _build(self, n_in: int, n_nodes: int) -> nn.Module:
        c = self.config
        if c.kind == "mlp":
            return MLP(n_in, c.hidden)
        return GNN(n_nodes, c.hidden, c.layers, c.decoder_hidden)

    def fit(self, codes: np.ndarray, y: np.ndarray) -> "Predictor":
        """Fit on (codes, accuracy) pairs from scratch; the fit depends only on the data and the seed."""
        gen = torch.Generator().manual_seed(int(self.seed))
        inputs = self._inputs(codes)
        self.model = self._build(inputs[0].shape[-1], inputs[-1].shape[1])
        _init(self.model, gen)
        c = self.config
        self.scale = TargetScale(y, c.targets)
        target = torch.from_numpy(self.scale.to01(y).astype(np.float32))
        fit_model(self.model, inputs, target, c.epochs, c.lr, c.batch_size, gen)
        return self

    def refit(self, codes: np.ndarray, y: np.ndarray, epochs: int) -> "Predictor":
        """Fine-tune the current weights on the grown label set (PNAS-style refit; cheaper than fit)."""
        if self.model is None:
            return self.fit(codes, y)
        c = self.config
        gen = torch.Generator().manual_seed(int(self.seed) + len(y))
        self.scale = TargetScale(y, c.targets)
        target = torch.from_numpy(self.scale.to01(y).astype(np.float32))
        fit_model(self.model, self._inputs(codes), target, epochs, c.lr, c.batch_size, gen)
        return self

    def predict01(self, codes: np.ndarray) -> np.ndarray:
        """Raw sigmoid outputs in (0, 1)."""
        if self.model is None:
            raise HarnessError("predictor used before fit")
        with torch.no_grad():
            return self.model(*self._inputs(codes)).double().numpy()

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """Predicted accuracy on the labels' scale."""
        return self.scale.back(self.predict01(codes))


def tau(pred: np.ndarray, true: np.ndarray) -> float:
    """Kendall tau (scipy), NaN when either side is constant or too short."""
    if len(pred) < 2:
        return float("nan")
    return float(kendalltau(pred, true).statistic)


def cv_tau(make: "callable", codes: np.ndarray, y: np.ndarray, folds: int, rng: np.random.Generator) -> float:
    """Kendall tau of out-of-fold predictions pooled over ``folds`` folds (every point held out once)."""
    order = rng.permutation(len(y))
    pred = np.empty(len(y))
    for k, held in enumerate(np.array_split(order, folds)):
        train = np.setdiff1d(order, held)
        pred[held] = make(k).fit(codes[train], y[train]).predict(codes[held])
    return tau(pred, y)


@dataclass(frozen=True)
class SurrogateConfig:
    """LSTM token surrogate (pnas.md: embeddings 100, hidden 100, L1, Adam 0.01, ensemble 5)."""

    embed: int = 100
    hidden: int = 100
    ensemble: int = 5
    epochs: int = 40
    lr: float = 0.01
    batch_size: int = 16


class TokenLSTM(nn.Module):
    """Each token = (slot, op), embedded by two tables and concatenated; last valid state -> sigmoid."""

    def __init__(self, n_slots: int, n_ops: int, embed: int, hidden: int) -> None:
        super().__init__()
        self.slot = nn.Embedding(n_slots, embed)
        self.op = nn.Embedding(n_ops, embed)
        self.lstm = nn.LSTM(2 * embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, slots: torch.Tensor, ops: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.slot(slots), self.op(ops)], dim=-1)
        h, _ = self.lstm(x)  # causal, so padding after the end does not change the last valid state
        last = h[torch.arange(len(lengths)), lengths - 1]
        return torch.sigmoid(self.out(last)).squeeze(-1)


class LSTMSurrogate:
    """Ensemble of TokenLSTMs, member m fit on all folds but the m-th; ranks by the mean."""

    def __init__(self, n_slots: int, n_ops: int, config: SurrogateConfig, seed: int) -> None:
        self.n_slots, self.n_ops, self.config, self.seed = n_slots, n_ops, config, seed
        self.members: list[nn.Module] = []
        self.scale: TargetScale | None = None

    @staticmethod
    def _tensors(tokens: list[np.ndarray]) -> tuple[torch.Tensor, ...]:
        """tokens[i] is an (L_i, 2) array of (slot, op); padded to the longest."""
        if any(len(t) == 0 for t in tokens):
            raise HarnessError("the surrogate needs at least one token per cell")
        longest = max(len(t) for t in tokens)
        pad = np.zeros((len(tokens), longest, 2), dtype=np.int64)
        for i, t in enumerate(tokens):
            pad[i, :len(t)] = t
        lengths = torch.tensor([len(t) for t in tokens], dtype=torch.int64)
        return torch.from_numpy(pad[:, :, 0]), torch.from_numpy(pad[:, :, 1]), lengths

    def fit(self, tokens: list[np.ndarray], y: np.ndarray) -> "LSTMSurrogate":
        c = self.config
        gen = torch.Generator().manual_seed(int(self.seed))
        inputs = self._tensors(tokens)
        self.scale = TargetScale(y)
        target = torch.from_numpy(self.scale.to01(y).astype(np.float32))
        folds = torch.randperm(len(y), generator=gen) % max(c.ensemble, 1)
        self.members = []
        for m in range(c.ensemble):
            keep = folds != m if c.ensemble > 1 and len(y) >= c.ensemble else torch.ones(len(y), dtype=torch.bool)
            model = TokenLSTM(self.n_slots, self.n_ops, c.embed, c.hidden)
            _init(model, gen)
            fit_model(model, tuple(t[keep] for t in inputs), target[keep], c.epochs, c.lr, c.batch_size,
                      gen, loss="l1")
            self.members.append(model)
        return self

    def predict(self, tokens: list[np.ndarray]) -> np.ndarray:
        """Mean prediction of the ensemble, on the labels' scale."""
        if not self.members:
            raise HarnessError("surrogate used before fit")
        inputs = self._tensors(tokens)
        with torch.no_grad():
            p = torch.stack([m(*inputs) for m in self.members]).mean(0).double().numpy()
        return self.scale.back(p)
