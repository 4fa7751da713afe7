"""`list`: registered methods and benchmarks."""
from __future__ import annotations

import argparse

from harness.registry import BENCHMARKS, METHODS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="show registered methods and benchmarks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("methods:")
    for name in METHODS.names():
        doc = (METHODS.get(name).__doc__ or "").strip().split("\n")[0]
        print(f"  {name:32s} {doc}")
    print("benchmarks:")
    for name in BENCHMARKS.names():
        doc = (BENCHMARKS.get(name).__doc__ or "").strip().split("\n")[0]
        print(f"  {name:32s} {doc}")
    return 0
