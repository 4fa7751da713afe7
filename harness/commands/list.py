"""`list`: registered methods, benchmarks and named studies (presets)."""
from __future__ import annotations

import argparse

from harness.presets import PRESETS
from harness.registry import BENCHMARKS, METHODS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="show registered methods, benchmarks and presets")
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
    print("presets (compare --preset NAME):")
    for name in PRESETS.names():
        print(f"  {name:32s} {describe_preset(PRESETS.get(name))}")
    return 0


def describe_preset(p: dict) -> str:
    """One line: benchmark, datasets, methods, seeds and budget of a named study."""
    datasets = ",".join(p.get("datasets", [])) or "-"
    budget = ", ".join(f"{k}={v:g}" for k, v in p.get("budget", {}).items() if v is not None) or "-"
    return (f"{p.get('benchmark')} on {datasets}: {','.join(p.get('methods', []))}; "
            f"{len(p.get('seeds', ()))} seeds; budget {budget}")
