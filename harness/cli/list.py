"""`list`: registered methods, benchmarks (with their datasets), executors and the built-in studies
(``benchmarks/studies/*.toml``), each method's and benchmark's options with their defaults."""
from __future__ import annotations

import argparse
import dataclasses
import textwrap
from typing import Any

from harness.options import Spec, allowed, config_specs, factory_specs
from harness.registry import BENCHMARKS, EXECUTORS, METHODS, Registry
from harness.studies import STUDIES

WIDTH = 110


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="show registered methods, benchmarks, executors and presets, with options")
    p.add_argument("--brief", action="store_true", help="names and first doc lines only, no datasets or options")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    brief = bool(getattr(args, "brief", False))
    for title, registry, details in (
            ("methods (compare --set METHOD.KEY=VALUE):", METHODS, _method_details),
            ("benchmarks (compare --option KEY=VALUE):", BENCHMARKS, _benchmark_details),
            ("executors (compare --executor NAME):", EXECUTORS, None)):
        print(title)
        for name in registry.names():
            print(f"  {name:32s} {_first_line(registry.get(name).__doc__)}{_origin(registry, name)}")
            if details is not None and not brief:
                for label, text in details(registry.get(name)):
                    print(textwrap.fill(text, WIDTH, initial_indent=f"      {label}: ",
                                        subsequent_indent=" " * (8 + len(label))))
    print("presets (compare --preset NAME):")
    for name in STUDIES.names():
        print(f"  {name:32s} {describe_preset(STUDIES.get(name))}")
    return 0


def _origin(registry: Registry[Any], name: str) -> str:
    return f" [plugin {registry.module_of(name)}]" if registry.is_plugin(name) else ""


def _method_details(cls: Any) -> list[tuple[str, str]]:
    config = getattr(cls, "Config", None)
    specs = config_specs(config) if dataclasses.is_dataclass(config) else {}
    return [("options", _options(specs))]


def _benchmark_details(factory: Any) -> list[tuple[str, str]]:
    datasets = getattr(factory, "datasets", None)
    return [("datasets", ", ".join(datasets) if datasets else "(not declared)"),
            ("options", _options(factory_specs(factory)))]


def _options(specs: dict[str, Spec]) -> str:
    """``name=default (what it accepts)``, comma-separated; ``none`` when there are no options."""
    if not specs:
        return "none"
    return "; ".join(f"{s.name}={_default(s)} ({allowed(s)})" for s in specs.values())


def _default(spec: Spec) -> str:
    if spec.default is dataclasses.MISSING:
        return "<required>"
    if spec.default is None:
        return "none"
    if isinstance(spec.default, bool):
        return str(spec.default).lower()
    if isinstance(spec.default, tuple):
        return "[" + ", ".join(map(str, spec.default)) + "]"
    return str(spec.default)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def describe_preset(p: dict) -> str:
    """One line: benchmark, datasets, methods, seeds and budget of a study."""
    datasets = ",".join(p.get("datasets", [])) or "-"
    budget = ", ".join(f"{k}={v:g}" for k, v in p.get("budget", {}).items() if v is not None) or "-"
    return (f"{p.get('benchmark')} on {datasets}: {','.join(p.get('methods', []))}; "
            f"{len(p.get('seeds', ()))} seeds; budget {budget}")
