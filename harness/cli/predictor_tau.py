"""`predictor-tau`: held-out Kendall tau of predictor_evolution's accuracy predictors on NB201: N random
labelled cells, M held out (labels are hp=12 validation accuracies, what a method pays for; no
search, nothing charged)."""
from __future__ import annotations

import argparse

import numpy as np


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predictor-tau", help="held-out Kendall tau of the GNN / MLP accuracy predictors on NB201")
    p.add_argument("--dataset", default="cifar10-valid", help="NB201 dataset whose hp=12 accuracies label the cells")
    p.add_argument("--seeds", default="0:10", help="A:B or a comma list; one fit per seed")
    p.add_argument("--kinds", default="gnn,mlp", help="comma list of predictor kinds")
    p.add_argument("--n-train", type=int, default=100, help="labelled training cells per fit")
    p.add_argument("--n-heldout", type=int, default=50, help="held-out cells per fit")
    p.add_argument("--data", help="data directory (else $NAS_HARNESS_DATA)")
    p.add_argument("--cache", help="cache directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from harness.registry import BENCHMARKS
    from harness.seeding import stream
    from harness.studies import parse_seeds
    from methods.predictor_evolution import heldout_tau

    torch.set_num_threads(1)
    task = BENCHMARKS.get("nb201")(args.dataset, data=args.data, cache=args.cache)
    samples = {}
    for seed in parse_seeds(args.seeds):  # the same random cells for every kind
        idx = stream(seed, "predictor_quality").choice(15625, args.n_train + args.n_heldout, replace=False)
        codes = task.space.from_index(idx)
        samples[seed] = codes, task.evaluate(codes, 12.0).val
    for kind in args.kinds.split(","):
        extra = {"hidden": 64, "epochs": 100} if kind == "mlp" else {}
        taus = np.array([heldout_tau(task.space, codes, y, args.n_train, kind, seed, **extra)
                         for seed, (codes, y) in samples.items()])
        print(f"{args.dataset} {kind} n_train={args.n_train}: tau {taus.mean():.3f} ± {taus.std():.3f} "
              f"(n={len(taus)}; min {taus.min():.3f}, max {taus.max():.3f})")
    return 0
