"""Search-quality regression checks for pytest suites: is a method's final regret worse than its golden run?

Example, in a user's test file::

    from harness.budget import Budget
    from harness.testing import assert_search_quality

    def test_my_method_quality():
        assert_search_quality("my_method", "nb201", "cifar10-valid", Budget(max_cost_s=12000),
                              seeds=range(40), reference="tests/quality/golden/my_method.json")

Make the reference once with ``python -m harness golden --method my_method ...`` (other seeds than the
test's, so the test checks the distribution, not a replay) and commit the JSON. The reference says
which method, benchmark, dataset, budget, config and data made it; a check that differs in any of
them fails naming the key. The pytest plugin (``harness/pytest_plugin.py``) offers the same check as
the ``assert_search_quality`` fixture, on the ``nas_task`` and ``nas_budget`` fixtures.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from scipy.stats import mannwhitneyu

from harness.budget import Budget
from harness.errors import DataError, HarnessError
from harness.protocols import Task
from harness.registry import BENCHMARKS
from harness.run import make_config, run_one

GOLDEN_SCHEMA = "nas-harness-golden"


def make_task(benchmark: str, dataset: str, data: str | None = None, cache: str | None = None) -> Task:
    return BENCHMARKS.get(benchmark)(dataset, data=data, cache=cache)


def optimum(task: Task) -> float:
    """The best final test value the task holds (regret 0); 0 for tasks without an oracle."""
    oracle = getattr(task, "oracle", None)
    return float(oracle()["optimal"]["report_test"]) if oracle else 0.0


def final_regrets(method: str, task: Task, budget: Budget, seeds: Iterable[int],
                  config: dict[str, Any] | None = None) -> np.ndarray:
    """Test regret (optimum - final incumbent's test value) of one harness run per seed."""
    best = optimum(task)
    with tempfile.TemporaryDirectory(prefix="nas-harness-quality-") as tmp:
        out = [best - run_one(method, task, budget, s, Path(tmp) / f"seed-{s}.h5", config)["report_test"]
               for s in seeds]
    return np.asarray(out, dtype=float)


def golden(method: str, benchmark: str, dataset: str, budget: Budget, seeds: Iterable[int],
           config: dict[str, Any] | None = None, data: str | None = None, cache: str | None = None) -> dict[str, Any]:
    """A golden reference: the regrets of ``seeds`` and what produced them."""
    seeds = [int(s) for s in seeds]
    task = make_task(benchmark, dataset, data, cache)
    regrets = final_regrets(method, task, budget, seeds, config)
    return {"schema": GOLDEN_SCHEMA, "method": method, "benchmark": benchmark, "dataset": dataset,
            "budget": asdict(budget), "config": config or {}, "seeds": seeds, "metric": "test regret (%)",
            "optimum": optimum(task), "data_sha256": task.attrs().get("data_sha256"),
            "mean": float(regrets.mean()), "std": float(regrets.std()),
            "regrets": [round(float(r), 6) for r in regrets]}


def read_golden(reference: str | Path | dict[str, Any] | Iterable[float]) -> dict[str, Any] | None:
    """The golden reference as a dict (its file read), or None for a plain sequence of regrets."""
    if isinstance(reference, (str, Path)):
        try:
            reference = json.loads(Path(reference).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"golden reference {reference}: unreadable ({exc})") from None
    if isinstance(reference, dict):
        if reference.get("schema") != GOLDEN_SCHEMA:
            raise DataError(f"not a golden reference (schema {reference.get('schema')!r})")
        return reference
    return None


def load_reference(reference: str | Path | dict[str, Any] | Iterable[float]) -> np.ndarray:
    """Regrets from a golden JSON file, its dict, or a plain sequence."""
    ref = read_golden(reference)
    return np.asarray(list(ref["regrets"] if ref is not None else reference), dtype=float)


GOLDEN_KEYS = ("method", "benchmark", "dataset", "budget", "config", "data_sha256")


def golden_mismatch(ref: dict[str, Any], method: str, task: Task, budget: Budget,
                    config: dict[str, Any] | None, ignore: Iterable[str] = ()) -> list[str]:
    """What differs between the check about to run and the one that made the golden reference, one
    ``key: reference X, here Y`` per key of GOLDEN_KEYS (configs compared as resolved, so an
    override equal to the default is no difference); a key the reference lacks counts as differing."""
    attrs = task.attrs()
    here: dict[str, Any] = {"method": method, "benchmark": attrs.get("benchmark"), "dataset": attrs.get("dataset"),
                            "budget": asdict(budget), "data_sha256": attrs.get("data_sha256")}
    out = []
    for key in GOLDEN_KEYS:
        if key in ignore:
            continue
        if key == "config":
            try:
                theirs = asdict(make_config(method, ref.get("config") or {}))
            except HarnessError as exc:
                out.append(f"config: the reference's does not apply to {method} ({exc})")
                continue
            ours = asdict(make_config(method, config))
            diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            out.extend(f"config.{k}: reference {theirs.get(k)!r}, here {ours.get(k)!r}" for k in diff)
        elif key not in ref:
            out.append(f"{key}: absent from the reference, here {here[key]!r}")
        elif key == "budget" and isinstance(ref[key], dict):
            theirs, ours = ref[key], here[key]
            out.extend(f"budget.{k}: reference {theirs.get(k)!r}, here {ours.get(k)!r}"
                       for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k))
        elif ref[key] != here[key]:
            out.append(f"{key}: reference {ref[key]!r}, here {here[key]!r}")
    return out
def compare_regrets(new: np.ndarray, ref: np.ndarray) -> float:
    """One-sided Mann-Whitney U p-value for 'new regrets are stochastically larger than ref'."""
    return float(mannwhitneyu(new, ref, alternative="greater").pvalue)


def assert_search_quality(method: str, benchmark: str, dataset: str, budget: Budget, seeds: Iterable[int],
                          reference: str | Path | dict[str, Any] | Iterable[float], alpha: float = 0.01,
                          config: dict[str, Any] | None = None, data: str | None = None,
                          cache: str | None = None, ignore: Iterable[str] = ()) -> float:
    """Fail when the method's final regrets are significantly worse than the reference; returns the p-value.

    A golden reference (file or dict) must describe this very check: its method, benchmark, dataset,
    budget, resolved config and data checksum are compared first, and a difference fails naming the
    key(s) rather than as "worse" (``ignore`` names keys allowed to differ, e.g. ``("method",)`` to
    hold a variant to another method's reference)."""
    return check_quality(method, make_task(benchmark, dataset, data, cache), budget, seeds, reference, alpha,
                         config, ignore)


def check_quality(method: str, task: Task, budget: Budget, seeds: Iterable[int],
                  reference: str | Path | dict[str, Any] | Iterable[float], alpha: float = 0.01,
                  config: dict[str, Any] | None = None, ignore: Iterable[str] = ()) -> float:
    """``assert_search_quality`` on a task already made (the pytest plugin's ``nas_task``)."""
    golden_ref = read_golden(reference)
    where = f"{method} on {task.attrs().get('benchmark')}/{task.attrs().get('dataset')}"
    if golden_ref is not None:
        diff = golden_mismatch(golden_ref, method, task, budget, config, ignore)
        if diff:
            name = reference if isinstance(reference, (str, Path)) else "the golden reference"
            raise AssertionError(f"{where}: {name} was made for another check ({'; '.join(diff)}); "
                                 "regenerate it with `python -m harness golden` or check what changed")
    ref = load_reference(golden_ref if golden_ref is not None else reference)
    new = final_regrets(method, task, budget, seeds, config)
    p = compare_regrets(new, ref)
    if p < alpha:
        raise AssertionError(
            f"{where}: regret {new.mean():.3f} ± {new.std():.3f} over {len(new)} seeds "
            f"is worse than the reference {ref.mean():.3f} ± {ref.std():.3f} "
            f"(one-sided Mann-Whitney p={p:.2g} < {alpha})")
    return p
