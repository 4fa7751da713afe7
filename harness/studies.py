"""Studies as data: a comparison written as a small TOML file that a user copies, edits and runs with
``python -m harness compare --config FILE``. The built-in studies are such files (``benchmarks/studies/``)
and are run by name with ``--preset NAME``.

A study holds ``benchmark``, ``datasets``, ``methods``, ``seeds`` ("A:B" or a list), a ``[budget]``
table (``max_cost_s``, ``max_evals``, ``max_epochs``) and optionally ``[options]`` (benchmark options),
``[method_configs.<method>]``, ``workers``, ``constraint``, ``table`` (a paper-layout table
of ``reports/table5.py``) and ``description``. Flags given to ``compare`` override its values.
"""
from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, UnknownNameError

# key -> (accepted types, what the error says it must be)
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "description": ((str,), "a string"),
    "benchmark": ((str,), "a benchmark name"),
    "datasets": ((list,), "a list of dataset names"),
    "methods": ((list,), "a list of method names"),
    "seeds": ((str, list), '"A:B" or a list of integers'),
    "budget": ((dict,), "a table"),
    "options": ((dict,), "a table"),
    "method_configs": ((dict,), "a table of tables, one per method"),
    "workers": ((int,), "an integer"),
    "constraint": ((str,), 'a constraint such as "params_m<=0.5"'),
    "table": ((str,), "a table name"),
}
BUDGET_KEYS = ("max_cost_s", "max_evals", "max_epochs")


def parse_seeds(text: str, what: str = "--seeds") -> tuple[int, ...]:
    """``A:B`` (half-open range) or a comma list, e.g. ``0:100`` or ``0,3,7``; ``what`` names the
    input in the error."""
    try:
        if ":" in text:
            a, b = text.split(":")
            seeds = tuple(range(int(a), int(b)))
        else:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise HarnessError(f"{what} must be A:B or a comma list of integers, got {text!r}") from None
    if not seeds:
        raise HarnessError(f"{what} {text!r} selects no seed")
    return seeds


def _check(where: str, study: dict[str, Any]) -> dict[str, Any]:
    """The study with its seeds as a list of ints; one-line errors naming the file and the key."""
    for key, value in study.items():
        if key not in KEYS:
            raise HarnessError(f"{where}: unknown study key {key!r}; known: {', '.join(KEYS)}")
        types, what = KEYS[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise HarnessError(f"{where}: {key} must be {what}, got {value!r}")
    unknown = sorted(set(study.get("budget", {})) - set(BUDGET_KEYS))
    if unknown:
        raise HarnessError(f"{where}: unknown budget key(s) {', '.join(unknown)}; known: {', '.join(BUDGET_KEYS)}")
    for method, config in study.get("method_configs", {}).items():
        if not isinstance(config, dict):
            raise HarnessError(f"{where}: method_configs.{method} must be a table of options, got {config!r}")
    seeds = study.get("seeds")
    if isinstance(seeds, str):
        study["seeds"] = list(parse_seeds(seeds, f"{where}: seeds"))
    elif seeds is not None and not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise HarnessError(f"{where}: seeds must be \"A:B\" or a list of integers, got {seeds!r}")
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
