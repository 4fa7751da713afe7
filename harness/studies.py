"""Studies as data: a comparison written as a small TOML file that a user copies, edits and runs with
``python -m harness compare --config FILE``. The built-in studies are such files (``benchmarks/studies/``)
and are run by name with ``--preset NAME``.

A study holds ``benchmark``, ``datasets``, ``methods``, ``seeds`` ("A:B" or a list), a ``[budget]``
table (``max_cost_s``, ``max_evals``, ``max_epochs``) and optionally ``[budget_per_dataset.<dataset>]``
(the same keys, for a dataset whose budget differs, as NATS-Bench's protocol has it), ``[options]``
(benchmark options),
``[method_configs.<method>]``, ``workers``, ``sim_workers``, ``constraint``, ``table`` (a paper-layout table
of ``reports/table5.py``), ``plugins`` (modules imported first, as ``--plugin``) and
``description``. Flags given to ``compare`` override its values.
"""
from __future__ import annotations

import importlib.resources
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from harness.budget import check_limit
from harness.errors import HarnessError, UnknownNameError
from harness.options import accepts_more, config_specs, factory_specs, validate
from harness.registry import BENCHMARKS, METHODS, PluginError, load_plugins

# key -> (accepted types, what the error says it must be)
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "description": ((str,), "a string"),
    "benchmark": ((str,), "a benchmark name"),
    "datasets": ((list,), "a list of dataset names"),
    "methods": ((list,), "a list of method names"),
    "seeds": ((str, list), '"A:B" or a list of integers'),
    "budget": ((dict,), "a table"),
    "budget_per_dataset": ((dict,), "a table of budget tables, one per dataset"),
    "options": ((dict,), "a table"),
    "method_configs": ((dict,), "a table of tables, one per method"),
    "workers": ((int,), "an integer"),
    "sim_workers": ((int,), "an integer >= 1 (simulated workers per run, docs/scale.md)"),
    "constraint": ((str,), 'a constraint such as "params_m<=0.5"'),
    "table": ((str,), "a table name"),
    "plugins": ((list,), "a list of module names (as --plugin)"),
}
BUDGET_KEYS = ("max_cost_s", "max_evals", "max_epochs")


def parse_seeds(text: str, what: str = "--seeds") -> tuple[int, ...]:
    """``A:B`` (half-open range) or a comma list, e.g. ``0:100`` or ``0,3,7``; seeds are >= 0 and each
    given once (a repeat would run the same run twice). ``what`` names the input in the error."""
    form = f"{what} must be A:B (0 <= A < B) or a comma list of distinct integers >= 0, got {text!r}"
    text = text.strip()
    try:
        if ":" in text:
            a, b = (int(x) for x in text.split(":"))  # a third part fails to unpack: ValueError
            if a < 0 or b <= a:
                raise HarnessError(form)
            return tuple(range(a, b))
        items = [s.strip() for s in text.split(",")]
        if not text or not all(items):
            raise HarnessError(form)
        return check_seeds([int(s) for s in items], what)
    except ValueError:
        raise HarnessError(form) from None


def check_seeds(seeds: list[Any] | tuple[Any, ...], what: str) -> tuple[int, ...]:
    """Seeds as given in a list: non-empty, integers >= 0, each once."""
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise HarnessError(f"{what} must be a non-empty list of integers >= 0, got {list(seeds)!r}")
    dup = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if dup:
        raise HarnessError(f"{what} repeat {', '.join(map(str, dup))}: each seed may appear once")
    return tuple(seeds)


def _check(where: str, study: dict[str, Any]) -> dict[str, Any]:
    """The study with its seeds as a list of ints and its values checked as the flags are (budget
    limits, workers, method options against each Config, benchmark options against the factory);
    one-line errors naming the file and the key."""
    for key, value in study.items():
        if key not in KEYS:
            raise HarnessError(f"{where}: unknown study key {key!r}; known: {', '.join(KEYS)}")
        types, what = KEYS[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise HarnessError(f"{where}: {key} must be {what}, got {value!r}")
    unknown = sorted(set(study.get("budget", {})) - set(BUDGET_KEYS))
    if unknown:
        raise HarnessError(f"{where}: unknown budget key(s) {', '.join(unknown)}; known: {', '.join(BUDGET_KEYS)}")
    for key, value in study.get("budget", {}).items():
        check_limit(key, value, f"{where}: budget.{key}")
    for ds, limits in study.get("budget_per_dataset", {}).items():
        if not isinstance(limits, dict) or not limits:
            raise HarnessError(f"{where}: budget_per_dataset.{ds} must be a table of limits, got {limits!r}")
        if study.get("datasets") is not None and ds not in study["datasets"]:
            raise HarnessError(f"{where}: budget_per_dataset.{ds} is for a dataset not in datasets "
                               f"({', '.join(study['datasets'])})")
        unknown = sorted(set(limits) - set(BUDGET_KEYS))
        if unknown:
            raise HarnessError(f"{where}: unknown budget key(s) {', '.join(unknown)} in budget_per_dataset.{ds}; "
                               f"known: {', '.join(BUDGET_KEYS)}")
        for key, value in limits.items():
            check_limit(key, value, f"{where}: budget_per_dataset.{ds}.{key}")
    if "sim_workers" in study and study["sim_workers"] < 1:
        raise HarnessError(f"{where}: sim_workers must be >= 1, got {study['sim_workers']!r}")
    if "workers" in study and study["workers"] < 1:
        raise HarnessError(f"{where}: workers must be >= 1, got {study['workers']!r}")
    for key in ("datasets", "methods", "plugins"):
        items = study.get(key, [])
        if not all(isinstance(x, str) and x.strip() for x in items) or len(set(items)) != len(items):
            raise HarnessError(f"{where}: {key} must be distinct non-empty names, got {items!r}")
    try:  # before any name is looked up: the plugins register theirs
        load_plugins(study.get("plugins", []))
    except PluginError as exc:
        raise PluginError(f"{where}: plugins: {exc}") from None
    methods = study.get("methods")
    for method, config in study.get("method_configs", {}).items():
        if not isinstance(config, dict):
            raise HarnessError(f"{where}: method_configs.{method} must be a table of options, got {config!r}")
        if methods is not None and method not in methods:
            raise HarnessError(f"{where}: method_configs.{method} is for a method not in methods "
                               f"({', '.join(methods)})")
        try:
            cls = METHODS.get(method)
        except UnknownNameError as exc:
            raise UnknownNameError(f"{where}: method_configs: {exc}") from None
        validate(config_specs(cls.Config), config, f"{where}: method_configs.{method}.{{}}")
    if study.get("benchmark") and study.get("options"):
        try:
            factory = BENCHMARKS.get(study["benchmark"])
        except UnknownNameError as exc:
            raise UnknownNameError(f"{where}: {exc}") from None
        validate(factory_specs(factory), study["options"], f"{where}: options.{{}}",
                 open_ended=accepts_more(factory))
    seeds = study.get("seeds")
    if isinstance(seeds, str):
        study["seeds"] = list(parse_seeds(seeds, f"{where}: seeds"))
    elif seeds is not None:
        study["seeds"] = list(check_seeds(seeds, f"{where}: seeds"))
    return study


def read_study(path: str | Path) -> dict[str, Any]:
    """A study file, checked; bad TOML or a bad key is a one-line error naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"study file {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        study = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"study file {path}: not valid TOML ({exc})") from None
    return _check(f"study file {path}", study)


class Studies:
    """The named studies: the ``*.toml`` files of one folder inside an installed package."""

    def __init__(self, package: str, folder: str) -> None:
        self.package, self.folder = package, folder

    def _root(self) -> Path:
        return Path(str(importlib.resources.files(self.package) / self.folder))

    def names(self) -> list[str]:
        return sorted(p.stem for p in self._root().glob("*.toml"))

    def path(self, name: str) -> Path:
        path = self._root() / f"{name}.toml"
        if not path.is_file():
            raise UnknownNameError.of("preset", name, self.names())
        return path

    def get(self, name: str) -> dict[str, Any]:
        return read_study(self.path(name))


STUDIES = Studies("benchmarks", "studies")
