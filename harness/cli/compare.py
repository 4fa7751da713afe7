"""`compare`: every chosen method on one benchmark under the same budget; finished runs packed (harness/packs.py)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.budget import Budget, check_limit
from harness.cli._args import names, text_pairs, writable_dir
from harness.config import cache_dir
from harness.distributed import from_env
from harness.errors import HarnessError
from harness.options import accepts_more, config_specs, factory_specs, validate
from harness.progress import runs
from harness.registry import BENCHMARKS, METHODS
from harness.runner import CompareSpec, compare, executor_specs
from harness.studies import STUDIES, parse_seeds, read_study


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="run methods under identical budgets and print a table")
    p.add_argument("--preset", help="a built-in study by name (see `list`); flags given override its values")
    p.add_argument("--config", metavar="FILE", help="a study file (TOML, like benchmarks/studies/*.toml); "
                   "flags given override its values")
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
    p.add_argument("--out", help="output directory (default: runs/<study name or benchmark>)")
    p.add_argument("--data", help="data directory or file (else $NAS_HARNESS_DATA)")
    p.add_argument("--cache", help="cache directory (else $NAS_HARNESS_CACHE or ~/.cache/nas-harness)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: all cores; 1 under torchrun, where ranks run in lockstep)")
    p.add_argument("--executor", default=None, help="where runs execute (see `list`; default: local; docs/scale.md)")
    p.add_argument("--address", help="ray executor: the cluster to join (`auto`: the one `ray start` began here)")
    p.add_argument("--executor-option", action="append", default=[], metavar="KEY=VALUE",
                   help="executor option, e.g. max_retries=0 (ray), cluster=local or partition=gpu (slurm)")
    p.add_argument("--sim-workers", type=int, default=None, metavar="N",
                   help="N asynchronous workers per run on a simulated clock (tables and surrogates; the budget's "
                   "seconds become simulated wall-clock; harness/simclock.py)")
    p.add_argument("--isolate", action="store_true", help="run each method in a process of its own that "
                   "holds no task, table or meter (harness/isolation.py; costs about a pipe round trip per query)")
    p.add_argument("--trust-plugins", action="store_true",
                   help="run plugin methods (entry points, --plugin) in this process, unsealed, instead of "
                        "each in a process of its own as --isolate does; recorded as plugin_trusted in every "
                        "such run")
    p.description = ("Flags left unset take the study's values (--preset, --config, else the default study). "
                     "Plugin methods run sealed, as with --isolate, unless --trust-plugins.")
    p.set_defaults(func=run)


def study_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The study the flags start from: ``--config``, ``--preset``, the default one when neither names
    a benchmark or methods, else none. The study's values are checked as it is read (harness/studies.py)."""
    if args.config and args.preset:
        raise HarnessError("give --preset NAME or --config FILE, not both")
    if args.config:
        return read_study(args.config)
    if args.preset or not (args.benchmark or args.methods):
        return STUDIES.get(args.preset or "default")
    return {}


def spec_from_args(args: argparse.Namespace, study: dict[str, Any]) -> CompareSpec:
    """The comparison: the study's values, overridden by the flags given, every value checked here
    (types, ranges, names, repeats, writable folders), before any worker starts; errors name the flag."""
    budget = dict(study.get("budget", {}))
    flags = {key: check_limit(key, value, flag) for key, flag, value in (
        ("max_cost_s", "--budget-seconds", args.budget_seconds), ("max_evals", "--budget-evals", args.budget_evals),
        ("max_epochs", "--budget-epochs", args.budget_epochs)) if value is not None}
    budget.update(flags)
    # a study's per-dataset budgets, each overridden on the axes the flags set (the flags apply to every dataset)
    per_dataset = {ds: {**limits, **flags} for ds, limits in study.get("budget_per_dataset", {}).items()}
    benchmark = args.benchmark or study.get("benchmark")
    datasets = names(args.dataset, "--dataset") if args.dataset is not None else study.get("datasets", [])
    methods = names(args.methods, "--methods") if args.methods is not None else study.get("methods", [])
    seeds = parse_seeds(args.seeds) if args.seeds is not None else tuple(study.get("seeds", ()))
    for name, value in (("--benchmark", benchmark), ("--dataset", datasets), ("--methods", methods)):
        if not value:
            raise HarnessError(f"compare needs {name} (or a --preset / --config that sets it)")
    for m in methods:
        METHODS.get(m)  # an unknown name fails before its options are read
    factory = BENCHMARKS.get(benchmark)
    # the study's options for methods the flags dropped go with them; --set for one not run is an error
    configs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in study.get("method_configs", {}).items()
                                          if k in methods}
    for key, text in text_pairs(args.set, "--set"):
        method, dot, opt = key.partition(".")
        if not dot or not method or not opt:
            raise HarnessError(f"--set must look like METHOD.KEY=VALUE, got {key!r}")
        if method not in methods:
            raise HarnessError(f"--set {key}: {method} is not among the methods run ({', '.join(methods)})")
        where = f"--set {method}.{{}}"
        configs.setdefault(method, {}).update(
            validate(config_specs(METHODS.get(method).Config), {opt: text}, where, text=True))
    options = dict(study.get("options", {}))
    options.update(validate(factory_specs(factory), dict(text_pairs(args.option, "--option")), "--option {}",
                            text=True, open_ended=accepts_more(factory)))
    if getattr(args, "sim_workers", None) is not None and args.sim_workers < 1:
        raise HarnessError(f"--sim-workers must be >= 1, got {args.sim_workers}")
    if args.workers is not None and args.workers < 1:
        raise HarnessError(f"--workers must be >= 1, got {args.workers}")
    executor = args.executor or "local"
    executor_options = validate(executor_specs(executor),
                                dict(text_pairs(getattr(args, "executor_option", []), "--executor-option")),
                                "--executor-option {}", text=True)
    if getattr(args, "address", None) is not None:
        if "address" not in executor_specs(executor):
            raise HarnessError(f"--address is an option of the ray executor, not of {executor}")
        executor_options["address"] = args.address
    default_workers = 1 if from_env().active else study.get("workers") or os.cpu_count() or 1
    out = writable_dir(args.out or f"runs/{_study_name(args) or benchmark}", "--out")
    cache = args.cache
    writable_dir(cache_dir(cache, create=False), "--cache" if cache is not None else "cache folder")
    return CompareSpec(
        benchmark=benchmark, datasets=tuple(datasets), methods=tuple(methods), seeds=seeds,
        budget=Budget(**budget), out=out,
        dataset_budgets={ds: Budget(**limits) for ds, limits in per_dataset.items() if ds in datasets},
        method_configs=configs, benchmark_options=options, data=args.data, cache=cache,
        workers=args.workers or default_workers,
        constraint=args.constraint or study.get("constraint"),
        executor=executor,
        executor_options=executor_options,
        sim_workers=getattr(args, "sim_workers", None) or study.get("sim_workers"),
        isolate=bool(getattr(args, "isolate", False)),
        trust_plugins=bool(getattr(args, "trust_plugins", False)),
        plugin_modules=tuple(dict.fromkeys([*(getattr(args, "plugin", None) or []), *study.get("plugins", [])])),
    )


def _study_name(args: argparse.Namespace) -> str | None:
    return Path(args.config).stem if args.config else args.preset


def run(args: argparse.Namespace) -> int:
    from reports.tables import summary_markdown

    study = study_from_args(args)
    spec = spec_from_args(args, study)
    builder = study.get("table")
    if builder:
        from reports.table5 import TABLES

        if builder not in TABLES:
            raise HarnessError(f"unknown study table {builder!r}; known: {', '.join(sorted(TABLES))}")
    main = from_env().main
    if not main:  # under torchrun rank 0 alone logs, reports and writes
        logging.getLogger().setLevel(logging.WARNING)
    t0 = time.perf_counter()
    records = compare(spec, progress=lambda it, n: runs(it, n))
    elapsed = time.perf_counter() - t0
    if not main:
        return 0
    table = summary_markdown(records, order=spec.datasets)  # each record carries its run's budget
    spec.out.mkdir(parents=True, exist_ok=True)
    (spec.out / "summary.md").write_text(table + "\n")
    if builder:  # a study's own paper-layout table (reports/table5.py)
        table = TABLES[builder](records, spec)
    print(table)
    done = sum(not r["skipped"] for r in records)
    print(f"{len(records)} runs ({done} new) in {elapsed:.1f} s; trajectories under {spec.out}", file=sys.stderr)
    return 0
