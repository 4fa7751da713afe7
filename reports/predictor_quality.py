"""Held-out Kendall tau of the accuracy predictors on NB201: N random labelled cells, M held out.

Run: ``python -m reports.predictor_quality --dataset cifar10-valid --seeds 0:10``. Labels are hp=12
validation accuracies (what a method pays for); no search, nothing charged.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from harness.seeding import stream, torch_seed


def heldout_tau(task: Any, kind: str, seed: int, n_train: int = 100, n_heldout: int = 50,
                fidelity: float = 12.0, **predictor: Any) -> float:
    """Kendall tau on ``n_heldout`` random cells of a predictor fit on ``n_train`` other random cells."""
    from methods._predictors import Predictor, PredictorConfig, tau

    idx = stream(seed, "predictor_quality").choice(15625, n_train + n_heldout, replace=False)
    codes = task.space.from_index(idx)
    y = task.evaluate(codes, fidelity).val
    p = Predictor(task.space.name, task.space.n_choices, PredictorConfig(kind=kind, **predictor),
                  torch_seed(seed, "predictor_quality", kind))
    p.fit(codes[:n_train], y[:n_train])
    return tau(p.predict(codes[n_train:]), y[n_train:])


def main(argv: list[str] | None = None) -> int:
    import torch

    from benchmarks.nb201 import make
    from harness.commands.compare import parse_seeds

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="cifar10-valid")
    ap.add_argument("--seeds", default="0:10")
    ap.add_argument("--kinds", default="gnn,mlp")
    ap.add_argument("--n-train", type=int, default=100)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    task = make(args.dataset)
    for kind in args.kinds.split(","):
        extra = {"hidden": 64, "epochs": 100} if kind == "mlp" else {}
        taus = np.array([heldout_tau(task, kind, s, args.n_train, **extra) for s in parse_seeds(args.seeds)])
        print(f"{args.dataset} {kind} n_train={args.n_train}: tau {taus.mean():.3f} ± {taus.std():.3f} "
              f"(n={len(taus)}; min {taus.min():.3f}, max {taus.max():.3f})", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
