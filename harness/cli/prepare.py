"""`prepare nb201`: convert NB201 data (exports folder or official .pth) into one HDF5 table."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness.errors import UnknownNameError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="convert benchmark data into a prepared table")
    p.add_argument("benchmark", help="nb201")
    p.add_argument("--source", required=True, help="folder of public exports, or an official NAS-Bench-201 .pth")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.benchmark != "nb201":
        raise UnknownNameError(f"prepare knows only 'nb201', got {args.benchmark!r}")
    from benchmarks.tabular.nb201_table import prepare

    start = time.perf_counter()
    out = prepare(Path(args.source), Path(args.out))
    print(f"prepared {out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
