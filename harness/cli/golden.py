"""`golden`: write a search-quality reference (final regrets over seeds) as JSON for harness.testing."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.budget import Budget
from harness.cli._args import pairs
from harness.studies import parse_seeds


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("golden", help="write a golden search-quality reference for tests")
    p.add_argument("--method", required=True, help="the method whose reference to write (see `list`)")
    p.add_argument("--benchmark", default="nb201", help="benchmark of the reference")
    p.add_argument("--dataset", default="cifar10-valid", help="dataset of the reference")
    p.add_argument("--seeds", default="1000:1100", help="A:B or a comma list; use other seeds than the tests")
    p.add_argument("--budget-seconds", type=float, default=12000.0, help="charged seconds per run")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="method option")
    p.add_argument("--out", required=True, help="JSON file to write, e.g. tests/quality/golden/<method>.json")
    p.add_argument("--data", help="data directory (else $NAS_HARNESS_DATA)")
    p.add_argument("--cache", help="cache directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.testing import golden

    ref = golden(args.method, args.benchmark, args.dataset, Budget(max_cost_s=args.budget_seconds),
                 parse_seeds(args.seeds), dict(pairs(args.set, "--set")) or None, args.data, args.cache)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"{args.method}: regret {ref['mean']:.3f} ± {ref['std']:.3f} over {len(ref['seeds'])} seeds -> {out}",
          file=sys.stderr)
    return 0
