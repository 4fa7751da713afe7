"""`compare`: every chosen method on one benchmark under the same budget; finished runs packed (harness/packs.py)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from harness.budget import Budget
from harness.distributed import from_env
from harness.errors import HarnessError
from harness.presets import PRESETS
from harness.progress import runs
from harness.runner import CompareSpec, compare


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="run methods under identical budgets and print a table")
    p.add_argument("--preset", help="a named study (see `list`); flags given override its values")
    p.add_argument("--benchmark", help="e.g. nb201")
    p.add_argument("--dataset", help="dataset(s), comma-separated, e.g. cifar10-valid")
    p.add_argument("--methods", help="comma-separated method names")
    p.add_argument("--seeds", help="A:B (half-open range) or a comma list, e.g. 0:100")
    p.add_argument("--budget-seconds", type=float, help="charged seconds per run (NB201: 12000)")
    p.add_argument("--budget-evals", type=int, help="evaluations per run")
    p.add_argument("--budget-epochs", type=float, help="trained epochs per run")
    p.add_argument("--set", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method option, e.g. regularized_evolution.population=20")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="benchmark option, e.g. report_test=same")
    p.add_argument("--constraint", help="resource limit for every method, e.g. params_m<=0.5 or "
                   "latency_ms:pixel3<=12 (infeasible archs answer NaN, free)")
    p.add_argument("--out", help="output directory (default: runs/<preset or benchmark>)")
    p.add_argument("--data", help="data directory or file (else $NAS_HARNESS_DATA)")
    p.add_argument("--cache", help="cache directory (else $NAS_HARNESS_CACHE or ~/.cache/nas-harness)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: all cores; 1 under torchrun, where ranks run in lockstep)")
    p.set_defaults(func=run)


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        if ":" in text:
            a, b = text.split(":")
            seeds = tuple(range(int(a), int(b)))
        else:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise HarnessError(f"--seeds must be A:B or a comma list of integers, got {text!r}") from None
    if not seeds:
        raise HarnessError(f"--seeds {text!r} selects no seed")
    return seeds


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], what: str) -> list[tuple[str, Any]]:
    out = []
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"{what} must look like KEY=VALUE, got {item!r}")
        out.append((key, _value(val)))
    return out


def spec_from_args(args: argparse.Namespace) -> CompareSpec:
    preset: dict[str, Any] = {}
    if args.preset or not (args.benchmark or args.methods):
        preset = dict(PRESETS.get(args.preset or "default"))
    budget = dict(preset.get("budget", {}))
    for key, flag in (("max_cost_s", args.budget_seconds), ("max_evals", args.budget_evals),
                      ("max_epochs", args.budget_epochs)):
        if flag is not None:
            budget[key] = flag
    configs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in preset.get("method_configs", {}).items()}
    for key, val in _pairs(args.set, "--set"):
        method, dot, opt = key.partition(".")
        if not dot:
            raise HarnessError(f"--set must look like METHOD.KEY=VALUE, got {key!r}")
        configs.setdefault(method, {})[opt] = val
    options = {**preset.get("options", {}), **dict(_pairs(args.option, "--option"))}
    benchmark = args.benchmark or preset.get("benchmark")
    datasets = args.dataset.split(",") if args.dataset else preset.get("datasets", [])
    methods = args.methods.split(",") if args.methods else preset.get("methods", [])
    seeds = parse_seeds(args.seeds) if args.seeds else tuple(preset.get("seeds", ()))
    for name, value in (("--benchmark", benchmark), ("--dataset", datasets), ("--methods", methods)):
        if not value:
            raise HarnessError(f"compare needs {name} (or a --preset that sets it)")
    import os

    default_workers = 1 if from_env().active else preset.get("workers") or os.cpu_count() or 1
    return CompareSpec(
        benchmark=benchmark, datasets=tuple(datasets), methods=tuple(m.strip() for m in methods), seeds=seeds,
        budget=Budget(**budget), out=Path(args.out or f"runs/{args.preset or benchmark}"),
        method_configs=configs, benchmark_options=options, data=args.data, cache=args.cache,
        workers=args.workers or default_workers,
        flush_s=float(preset.get("flush_s", 1.0)),
        constraint=args.constraint or preset.get("constraint"),
    )


def run(args: argparse.Namespace) -> int:
    from reports.tables import summary_markdown

    spec = spec_from_args(args)
    main = from_env().main
    if not main:  # under torchrun rank 0 alone logs, reports and writes
        logging.getLogger().setLevel(logging.WARNING)
    t0 = time.perf_counter()
    records = compare(spec, progress=lambda it, n: runs(it, n))
    elapsed = time.perf_counter() - t0
    if not main:
        return 0
    table = summary_markdown(records)
    spec.out.mkdir(parents=True, exist_ok=True)
    (spec.out / "summary.md").write_text(table + "\n")
    builder = PRESETS.get(args.preset).get("table") if args.preset else None
    if builder:  # a study's own paper-layout table (reports/table5.py)
        from reports.table5 import TABLES

        table = TABLES[builder](records, spec)
    print(table)
    done = sum(not r["skipped"] for r in records)
    print(f"{len(records)} runs ({done} new) in {elapsed:.1f} s; trajectories under {spec.out}", file=sys.stderr)
    return 0
