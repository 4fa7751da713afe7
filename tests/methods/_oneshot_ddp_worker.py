"""Run under torchrun (or plain python for one process): tiny EvNAS and EDNAS searches on NB201 with
digits images, plus an exact check of data-parallel steps with frozen BN; each rank writes what it
ended with."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

EVNAS = dict(population=3, tournament=2, generations=2, C=4, N=1, cutout=4, batch=24, eval_batch=40)
EDNAS = dict(epochs=2, C=4, N=1, batch=32, n_candidates=5)


def _flat(tensors: Any) -> list[float]:
    return torch.cat([t.detach().double().reshape(-1) for t in tensors]).tolist()


def _counting() -> tuple[dict[str, Any], Any]:
    """Patch the NB201 supernet's forward to count the images it runs, by BN mode, and to keep the
    parameters it started from."""
    from methods._oneshot.supernets import NB201Supernet

    seen: dict[str, Any] = {"train": 0, "eval": 0}
    forward = NB201Supernet.forward

    def counted(self: Any, x: torch.Tensor) -> torch.Tensor:
        seen.setdefault("init", _flat(self.parameters()))
        seen["train" if self.training else "eval"] += int(x.shape[0])
        return forward(self, x)

    NB201Supernet.forward = counted
    return seen, lambda: setattr(NB201Supernet, "forward", forward)


def search(method: str, path: Path) -> dict[str, Any]:
    """One search; what it decided and the supernet it ended with, as JSON-able values."""
    from benchmarks.spaces.nb201 import NB201Space
    from tests.methods.oneshot_fixtures import run_method

    seen, restore = _counting()
    try:
        inst, _, traj = run_method(method, NB201Space(), EVNAS if method == "evnas" else EDNAS, path)
    finally:
        restore()
    out = {"init": seen.pop("init"), "seen": seen, "genotype": inst.genotype,
           "params": _flat(inst.net.parameters()),
           "buffers": _flat(b for b in inst.net.buffers() if b.is_floating_point()),
           "charged": [float(c) for c in traj["cost_s"]]}
    if method == "evnas":
        out.update(populations=[p.tolist() for p in inst.populations],
                   fitness=[f.tolist() for f in inst.fitness])
    else:
        out.update(rewards=inst.rewards, baselines=inst.baselines, scores=inst.scores,
                   candidates=[c.tolist() for c in inst.candidates], policy=_flat(inst.policy.parameters()))
    return out


def averaging_gap() -> float:
    """Largest difference (losses, parameters) between data-parallel and one-process SGD steps on the
    NB201 supernet with frozen BN (eval mode: no batch statistics, so the two must agree up to
    rounding). Batches are uneven (7 items), one-sided (1 item: one rank runs nothing) and full; steps
    alternate EvNAS mixing weights and EDNAS single paths with ``none`` edges, whose unused ops must keep
    ``grad = None`` (so SGD's weight decay and momentum leave them alone, as in one process)."""
    from methods._oneshot import training as one
    from methods._oneshot.evnas_ga import mixing_weights
    from methods.ednas import Config
    from tests.methods.oneshot_fixtures import digits_data

    reps = one.replicas()
    assert reps is not None
    data = digits_data()
    split = one.to_tensors(data.train_x, data.train_y, data, "cpu")
    cfg = Config(C=4, N=1)
    nets = [one.build_supernet("nb201", cfg, 10, 1, 3).eval() for _ in range(2)]
    opts = [one.CosineSGD(n.parameters(), cfg, True, 2) for n in nets]
    gens = [torch.Generator().manual_seed(5) for _ in range(2)]
    path = np.array([1, 0, 2, 0, 3, 4])
    mix = mixing_weights(np.eye(5)[[1, 2, 3, 4, 0, 1]][None])
    gaps = []
    for k, idx in enumerate((torch.arange(7), torch.arange(7, 8), torch.arange(8, 40), torch.arange(40, 41))):
        for n in nets:
            n.set_path(path) if k % 2 else n.set_weights(mix)
        alone = one.sgd_step(nets[0], opts[0], split, idx, data, 4, gens[0], 5.0)
        gaps.append(abs(alone - one.sgd_step(nets[1], opts[1], split, idx, data, 4, gens[1], 5.0, reps)))
        unused = [[p.grad is None for p in n.parameters()] for n in nets]
        assert unused[0] == unused[1] and any(unused[1]) == bool(k % 2)  # a path leaves ops unused
    gaps += [float((a - b).abs().max()) for a, b in zip(nets[0].parameters(), nets[1].parameters())]
    return max(gaps)


if __name__ == "__main__":
    from tests.torchrun import worker_main

    worker_main(averaging_gap, {m: (lambda path, m=m: search(m, path)) for m in ("evnas", "ednas")})
