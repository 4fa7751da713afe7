"""Run under torchrun (or plain python for one process): a tiny ednas-rnn search on synthetic text, plus
an exact check of data-parallel RNN steps with frozen BN; each rank writes what it ended with."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

# lr 2, not the seed's 20: at lr 20 this tiny net trains chaotically (its loss rises above the uniform
# ln 24), so any difference, even the half-column BN statistics, sends the two runs apart
CONFIG = dict(epochs=2, nhid=16, batch=16, bptt=12, n_candidates=5, lr=2.0)


def _flat(tensors: Any) -> list[float]:
    return torch.cat([t.detach().double().reshape(-1) for t in tensors]).tolist()


def _counting() -> tuple[dict[str, Any], Any]:
    """Patch the RNN model's forward to count the tokens it runs, by mode, and to keep the parameters
    it started from."""
    from benchmarks.training.nets.rnn import RNNModel

    seen: dict[str, Any] = {"train": 0, "eval": 0}
    forward = RNNModel.forward

    def counted(self: Any, tokens: torch.Tensor, h: torch.Tensor) -> Any:
        seen.setdefault("init", _flat(self.parameters()))
        seen["train" if self.training else "eval"] += int(tokens.numel())
        return forward(self, tokens, h)

    RNNModel.forward = counted
    return seen, lambda: setattr(RNNModel, "forward", forward)


def _corpus() -> Any:
    from benchmarks.training.data.text import synthetic

    return synthetic()


def search(path: Path) -> dict[str, Any]:
    """One search; what it decided and the supernet it ended with, as JSON-able values."""
    from benchmarks.spaces.rnn import RNNSpace
    from harness.protocols import TextData
    from tests.methods.oneshot_fixtures import ImageTask, run_method

    c = _corpus()
    task = ImageTask(RNNSpace(), TextData(c.name, c.train, c.valid, c.n_tokens))  # report: fixed numbers
    seen, restore = _counting()
    try:
        inst, _, traj = run_method("ednas-rnn", RNNSpace(), CONFIG, path, 3, task=task)
    finally:
        restore()
    return {"init": seen.pop("init"), "seen": seen, "genotype": inst.genotype,
            "params": _flat(inst.net.parameters()), "buffers": _flat(inst.net.buffers()),
            "charged": [float(x) for x in traj["cost_s"]], "train_losses": inst.train_losses,
            "rewards": inst.rewards, "baselines": inst.baselines, "scores": inst.scores,
            "candidates": [x.tolist() for x in inst.candidates], "policy": _flat(inst.policy.parameters())}


def averaging_gap() -> float:
    """Largest difference (losses, hidden states, parameters) between data-parallel and one-process
    RNN steps with every dropout on but BN frozen (eval-mode BN: no batch statistics, so the two must
    agree up to rounding). 5 columns split 3 / 2; window lengths vary; the path changes every step."""
    from benchmarks.training.nets.rnn import RNNModel, batchify, chunks
    from benchmarks.training.optim import SGD
    from methods._oneshot import training as one
    from benchmarks.training.rnn_replicas import own, split_columns, train_step

    reps = one.replicas()
    assert reps is not None
    c = _corpus()
    data = batchify(c.train[:155], 5)
    nets = []
    for _ in range(2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(7)
            net = RNNModel(c.n_tokens, 8, 0.5, 0.3, 0.4, 0.2, 0.1, search=True)
        net.gen = torch.Generator().manual_seed(11)
        net.train()
        net.cell.bn.eval()
        nets.append(net)
    split_columns(nets[1], data.shape[1], reps)
    opts = [SGD(n.parameters(), 0.0, False, 1e-4) for n in nets]
    streams = [data, own(data, reps)]
    hs = [nets[0].init_hidden(5), nets[1].init_hidden(streams[1].shape[1])]
    rng = np.random.default_rng(0)
    gaps, part, lengths = [], reps.part(5), (7, 3, 9, 5, 6)  # 5 steps over the whole 31-row stream
    for (x, y), (xo, yo) in zip(chunks(streams[0], 0, iter(lengths).__next__),
                                chunks(streams[1], 0, iter(lengths).__next__)):
        path = np.stack([rng.integers(0, 4, 8), [0] + [int(rng.integers(0, i + 1)) for i in range(1, 8)]], 1)
        for n in nets:
            n.set_path(path.reshape(-1))
        hs[0], alone = train_step(nets[0], opts[0], x, y, hs[0], 1.0, 0.25, 1e-3, None)
        hs[1], ddp = train_step(nets[1], opts[1], xo, yo, hs[1], 1.0, 0.25, 1e-3, reps)
        gaps += [abs(alone - ddp), float((hs[0][part] - hs[1]).abs().max())]
    gaps += [float((a - b).abs().max()) for a, b in zip(nets[0].parameters(), nets[1].parameters())]
    return max(gaps)


if __name__ == "__main__":
    from tests.torchrun import worker_main

    worker_main(averaging_gap, {"ednas-rnn": search})
