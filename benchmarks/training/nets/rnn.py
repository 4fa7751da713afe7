"""The DARTS recurrent cell and language model (EDNAS on PTB), as a fixed cell or as a weight-sharing
supernet run along one sampled path. Imports torch.

Cell (DARTS RNN): node 0 = h + c0 * (tanh(h0) - h) with [c0, h0] = [x, h] W0; node i reads ONE earlier
node s: [c, h'] = s W_i, c = sigmoid(c), node = s + c * (act(h') - s) (highway gating); the output is
the mean of nodes 1..8. The supernet keeps one W_i per node, shared by every input and activation
choice (as the DARTS search cell), plus a non-affine BatchNorm on every node (the DARTS/EDNAS search
cell). Dropout masks are drawn from a ``torch.Generator`` so a run is reproducible without global state.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.spaces.rnn import ACTS, STEPS

INITRANGE = 0.04
_ACT: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": F.relu, "sigmoid": torch.sigmoid, "identity": lambda x: x}
ACT_FNS = tuple(_ACT[a] for a in ACTS)


def _mask(shape: tuple[int, ...], drop: float, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Inverted-dropout mask (values 0 or 1/keep)."""
    keep = 1.0 - drop
    return (torch.rand(shape, generator=gen) < keep).to(like.dtype).div_(keep).to(like.device)


Columns = tuple[int, slice]  # (columns of the global batch, the ones this process runs)


def _col_mask(shape: tuple[int, ...], axis: int, drop: float, gen: torch.Generator, like: torch.Tensor,
              columns: Columns | None) -> torch.Tensor:
    """``_mask`` whose ``axis`` is the batch: with ``columns`` it is drawn for the whole global batch
    and this process's columns are cut out, so the generator advances as in one process."""
    if columns is None:
        return _mask(shape, drop, gen, like)
    full = list(shape)
    full[axis] = columns[0]
    part = columns[1]
    return _mask(tuple(full), drop, gen, like).narrow(axis, part.start, part.stop - part.start)


class RNNCell(nn.Module):
    """One recurrent cell along a path of codes (``set_path``); ``search`` adds the supernet's BN."""

    def __init__(self, ninp: int, nhid: int, dropouth: float, dropoutx: float, search: bool,
                 codes: np.ndarray | None = None) -> None:
        super().__init__()
        self.nhid, self.dropouth, self.dropoutx = nhid, dropouth, dropoutx
        self.W0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid).uniform_(-INITRANGE, INITRANGE))
        self.Ws = nn.ParameterList(nn.Parameter(torch.empty(nhid, 2 * nhid).uniform_(-INITRANGE, INITRANGE))
                                   for _ in range(STEPS))
        self.bn = nn.BatchNorm1d(nhid, affine=False) if search else None
        self.path: list[tuple[int, int]] | None = None
        self.calls = 0  # node computations run (a test counts single-path work)
        if codes is not None:
            self.set_path(codes)

    def set_path(self, codes: np.ndarray) -> None:
        """Each node's (activation, source) for the following forward passes."""
        c = np.asarray(codes).reshape(STEPS, 2)
        self.path = [(int(a), int(s)) for a, s in c]

    def _norm(self, s: torch.Tensor) -> torch.Tensor:
        return self.bn(s) if self.bn is not None else s

    def step(self, x: torch.Tensor, h: torch.Tensor, x_mask: torch.Tensor | None,
             h_mask: torch.Tensor | None) -> torch.Tensor:
        xh = torch.cat([x if x_mask is None else x * x_mask, h if h_mask is None else h * h_mask], dim=-1)
        c0, h0 = torch.split(xh @ self.W0, self.nhid, dim=-1)
        states = [self._norm(h + c0.sigmoid() * (h0.tanh() - h))]
        for i, (act, src) in enumerate(self.path):
            s = states[src]
            c, hh = torch.split((s if h_mask is None else s * h_mask) @ self.Ws[i], self.nhid, dim=-1)
            states.append(self._norm(s + c.sigmoid() * (ACT_FNS[act](hh) - s)))
            self.calls += 1
        return torch.stack(states[1:]).mean(0)

    def forward(self, inputs: torch.Tensor, h: torch.Tensor, gen: torch.Generator | None,
                columns: Columns | None = None) -> torch.Tensor:
        if self.path is None:
            raise RuntimeError("set_path before running the RNN cell")
        B = inputs.shape[1]
        x_mask = h_mask = None
        if self.training and gen is not None:
            x_mask = _col_mask((B, inputs.shape[2]), 0, self.dropoutx, gen, inputs, columns) if self.dropoutx else None
            h_mask = _col_mask((B, self.nhid), 0, self.dropouth, gen, inputs, columns) if self.dropouth else None
        outs = []
        for t in range(inputs.shape[0]):
            h = self.step(inputs[t], h, x_mask, h_mask)
            outs.append(h)
        return torch.stack(outs)


class RNNModel(nn.Module):
    """Embedding (tied to the decoder) -> one recurrent cell -> log-softmax over the vocabulary."""

    def __init__(self, n_tokens: int, nhid: int, dropout: float, dropouth: float, dropoutx: float,
                 dropouti: float, dropoute: float, search: bool = False, codes: np.ndarray | None = None) -> None:
        super().__init__()
        self.encoder = nn.Embedding(n_tokens, nhid)
        self.cell = RNNCell(nhid, nhid, dropouth, dropoutx, search, codes)
        self.decoder = nn.Linear(nhid, n_tokens)
        self.decoder.weight = self.encoder.weight
        self.encoder.weight.data.uniform_(-INITRANGE, INITRANGE)
        self.decoder.bias.data.zero_()
        self.nhid, self.dropout, self.dropouti, self.dropoute = nhid, dropout, dropouti, dropoute
        self.gen: torch.Generator | None = None  # dropout masks; set by whoever trains the model
        # data-parallel: the inputs are these columns of a wider global batch (masks drawn for all of it)
        self.columns: Columns | None = None

    def set_path(self, codes: np.ndarray) -> None:
        self.cell.set_path(codes)

    def init_hidden(self, bsz: int) -> torch.Tensor:
        return self.encoder.weight.new_zeros(bsz, self.nhid)

    def forward(self, tokens: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log-probs (T, B, V), last hidden (B, H), raw cell outputs (T, B, H))."""
        drop = self.training and self.gen is not None
        weight = self.encoder.weight
        if drop and self.dropoute:  # drop whole words from the embedding
            weight = weight * _mask((weight.shape[0], 1), self.dropoute, self.gen, weight)
        emb = F.embedding(tokens, weight)
        if drop and self.dropouti:  # locked (same mask at every time step)
            emb = emb * _col_mask((1, emb.shape[1], emb.shape[2]), 1, self.dropouti, self.gen, emb, self.columns)
        raw = self.cell(emb, h, self.gen, self.columns)
        out = raw
        if drop and self.dropout:
            out = raw * _col_mask((1, raw.shape[1], raw.shape[2]), 1, self.dropout, self.gen, raw, self.columns)
        logp = F.log_softmax(self.decoder(out), dim=-1)
        return logp, raw[-1], raw


def batchify(tokens: np.ndarray, bsz: int) -> torch.Tensor:
    """(n_steps, bsz) columns of consecutive tokens; the tail that does not fill a row is dropped."""
    n = len(tokens) // bsz
    if n < 2:
        raise ValueError(f"{len(tokens)} tokens are too few for batch size {bsz}")
    return torch.as_tensor(np.asarray(tokens[:n * bsz], dtype=np.int64)).view(bsz, n).t().contiguous()


def chunks(data: torch.Tensor, bptt: int, lengths: Callable[[], int] | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, targets) windows over the time axis; ``lengths`` draws each window's length."""
    i = 0
    while i < data.shape[0] - 1:
        seq = min(lengths() if lengths else bptt, data.shape[0] - 1 - i)
        yield data[i:i + seq], data[i + 1:i + 1 + seq]
        i += seq


def nll(logp: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(logp.reshape(-1, logp.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def mean_nll(model: RNNModel, data: torch.Tensor, bptt: int) -> float:
    """Mean per-token negative log-likelihood over a batchified split (eval mode, hidden carried)."""
    was = model.training
    model.eval()
    h = model.init_hidden(data.shape[1])
    total, count = 0.0, 0
    for x, y in chunks(data, bptt):
        logp, h, _ = model(x, h)
        total += float(nll(logp, y)) * y.numel()
        count += y.numel()
    model.train(was)
    return total / max(1, count)


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 700.0))


def train_step(model: RNNModel, opt: object, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, lr: float,
               clip: float, beta: float,
               reduce: Callable[[torch.Tensor], float] | None = None) -> tuple[torch.Tensor, float]:
    """One truncated-BPTT SGD step (loss + temporal activation regularisation, grad-norm clip);
    returns the detached hidden state and the raw loss. ``reduce`` (data-parallel) runs between
    backward and clipping: it averages the gradients over processes and returns the global loss."""
    opt.zero_grad()
    logp, h, raw = model(x, h.detach())
    loss = nll(logp, y)
    total = loss + beta * (raw[1:] - raw[:-1]).pow(2).mean() if beta and raw.shape[0] > 1 else loss
    total.backward()
    value = float(loss.detach()) if reduce is None else reduce(loss)
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step(lr)
    return h.detach(), value
