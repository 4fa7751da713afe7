"""`list`: registered methods, benchmarks, executors and the built-in studies (``benchmarks/studies/*.toml``)."""
from __future__ import annotations

import argparse

from harness.registry import BENCHMARKS, EXECUTORS, METHODS
from harness.studies import STUDIES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="show registered methods, benchmarks, executors and presets")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for title, registry in (("methods:", METHODS), ("benchmarks:", BENCHMARKS),
                            ("executors (compare --executor NAME):", EXECUTORS)):
        print(title)
        for name in registry.names():
            print(f"  {name:32s} {_first_line(registry.get(name).__doc__)}")
    print("presets (compare --preset NAME):")
    for name in STUDIES.names():
        print(f"  {name:32s} {describe_preset(STUDIES.get(name))}")
    return 0


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def describe_preset(p: dict) -> str:
    """One line: benchmark, datasets, methods, seeds and budget of a study."""
    datasets = ",".join(p.get("datasets", [])) or "-"
    budget = ", ".join(f"{k}={v:g}" for k, v in p.get("budget", {}).items() if v is not None) or "-"
    return (f"{p.get('benchmark')} on {datasets}: {','.join(p.get('methods', []))}; "
            f"{len(p.get('seeds', ()))} seeds; budget {budget}")
