"""`surrogate fit`: fit a gradient-boosted surrogate on results one has (the NB201 table, a training
cache, or the runs under a `compare --out` folder) into one portable file, with its held-out figures
(Spearman, Kendall tau, interval coverage) written beside it; `--benchmark surrogate --data FILE`
then runs any study on it (docs/surrogates.md)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness.errors import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surrogate", help="fit surrogate benchmarks on one's own results")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    f = verbs.add_parser("fit", help="fit a surrogate file (models + fingerprint + held-out figures)")
    f.add_argument("--from", dest="source", required=True,
                   help="NB201 data (folder, .pth or prepared table), a training cache (.sqlite) or a --out folder")
    f.add_argument("--space", required=True, help="search space of the results: nb201 or darts")
    f.add_argument("--out", required=True, help="surrogate file to write (a zip)")
    f.add_argument("--kind", default="auto", help="auto, table, cache or runs (how to read --from)")
    f.add_argument("--dataset", help="dataset to fit on (table: default cifar10-valid; cache, runs: all)")
    f.add_argument("--members", type=int, default=5, help="ensemble members per target")
    f.add_argument("--trees", type=int, default=300, help="boosting rounds per member")
    f.add_argument("--depth", type=int, default=6, help="tree depth")
    f.add_argument("--holdout", type=float, default=0.15, help="fraction held out for calibration, and again for test")
    f.add_argument("--seed", type=int, default=0, help="seed of the splits and the members")
    f.add_argument("--cache", help="cache directory (for preparing the NB201 table)")
    f.set_defaults(func=run_fit)


def run_fit(args: argparse.Namespace) -> int:
    from benchmarks.surrogates.fit import FitSettings, fit
    from benchmarks.surrogates.report import write_report
    from benchmarks.surrogates.sources import training_data
    from harness.config import cache_dir

    out = Path(args.out)
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; name the surrogate file to write (e.g. {out / 'surrogate.zip'})")
    for name, v, lo in (("--members", args.members, 1), ("--trees", args.trees, 1), ("--depth", args.depth, 1)):
        if v < lo:
            raise DataError(f"{name} must be >= {lo}, got {v}")
    if not 0 < args.holdout < 0.5:
        raise DataError(f"--holdout must lie in (0, 0.5), got {args.holdout}")
    start = time.perf_counter()
    data = training_data(args.source, args.space, args.kind, args.dataset, cache_dir(args.cache))
    print(f"fitting on {len(data.codes)} architectures: {data.source}", file=sys.stderr)
    settings = FitSettings(members=args.members, trees=args.trees, depth=args.depth, holdout=args.holdout,
                           seed=args.seed)

    def progress(name: str, fig: dict) -> None:
        print(f"  {name}: held-out spearman {fig.get('spearman', float('nan')):.3f}, kendall tau "
              f"{fig.get('kendall_tau', float('nan')):.3f}, 90% interval coverage {fig['coverage']['0.9']:.2f}",
              file=sys.stderr)

    model, report = fit(data, settings, progress)
    model.save(out)
    report["file_sha256"] = model.sha256
    paths = write_report(report, out)
    print(f"wrote {out} ({model.sha256[:12]}) and {', '.join(str(p) for p in paths)} in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
