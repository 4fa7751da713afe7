"""The pytest plugin (entry point ``pytest11``, loaded by pytest wherever nas-harness is installed):
fixtures for a user's own suite to test a method, theirs or a plugin's, under the harness.

* ``nas_task``: the task to test on, made once per session. Benchmark, dataset and options come from
  the test's ``@pytest.mark.nas_task("nb201", "cifar10-valid", report_test="same")`` marker, else
  ``--nas-benchmark`` / ``--nas-dataset`` (nb201, cifar10-valid); data and cache from ``--nas-data`` /
  ``--nas-cache``, else ``NAS_HARNESS_DATA`` / ``NAS_HARNESS_CACHE``. Missing data skips the test
  with the loader's one-line reason.
* ``nas_budget``: the run budget, from ``@pytest.mark.nas_budget(max_cost_s=...)``, else
  ``--nas-budget-seconds`` (12000, the NB201 paper's).
* ``assert_search_quality``: ``assert_search_quality(method, reference, seeds=range(20), ...)`` on
  that task and budget (``harness.testing.check_quality``): a golden reference made for another
  method, benchmark, dataset, budget, config or data fails naming the key, a worse method fails
  as worse.

Nothing heavy is imported until a fixture is used, so suites that use none pay nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nas-harness", "nas-harness fixtures (nas_task, nas_budget, assert_search_quality)")
    group.addoption("--nas-benchmark", default="nb201", help="benchmark of the nas_task fixture (default: nb201)")
    group.addoption("--nas-dataset", default="cifar10-valid",
                    help="dataset of the nas_task fixture (default: cifar10-valid)")
    group.addoption("--nas-budget-seconds", type=float, default=12000.0,
                    help="charged seconds of the nas_budget fixture (default: 12000)")
    group.addoption("--nas-data", default=None, help="data folder or file (default: $NAS_HARNESS_DATA)")
    group.addoption("--nas-cache", default=None, help="cache folder (default: $NAS_HARNESS_CACHE)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nas_task(benchmark, dataset, **options): the nas_task fixture's task")
    config.addinivalue_line("markers", "nas_budget(max_evals=, max_cost_s=, max_epochs=): the nas_budget fixture")


@pytest.fixture(scope="session")
def _nas_tasks() -> dict[Any, Any]:
    return {}  # tasks made this session, by (benchmark, dataset, options, data, cache)


@pytest.fixture
def nas_task(request: pytest.FixtureRequest, _nas_tasks: dict[Any, Any]) -> Any:
    """The task named by the test's ``nas_task`` marker or the ``--nas-*`` options (made once per session)."""
    from harness.errors import DataError

    opt = request.config.getoption
    mark = request.node.get_closest_marker("nas_task")
    args, options = (tuple(mark.args), dict(mark.kwargs)) if mark else ((), {})
    benchmark = args[0] if len(args) > 0 else opt("--nas-benchmark")
    dataset = args[1] if len(args) > 1 else opt("--nas-dataset")
    data, cache = opt("--nas-data"), opt("--nas-cache")
    key = (benchmark, dataset, repr(sorted(options.items())), data, cache)  # options may hold dicts
    if key not in _nas_tasks:
        from harness.registry import BENCHMARKS

        try:
            _nas_tasks[key] = BENCHMARKS.get(benchmark)(dataset, data=data, cache=cache, **options)
        except DataError as exc:
            pytest.skip(f"nas_task {benchmark}/{dataset}: {exc}")
    return _nas_tasks[key]


@pytest.fixture
def nas_budget(request: pytest.FixtureRequest) -> Any:
    """The budget named by the test's ``nas_budget`` marker, else ``--nas-budget-seconds``."""
    from harness.budget import Budget

    mark = request.node.get_closest_marker("nas_budget")
    if mark is not None:
        return Budget(**mark.kwargs)
    return Budget(max_cost_s=request.config.getoption("--nas-budget-seconds"))


@pytest.fixture
def assert_search_quality(nas_task: Any, nas_budget: Any) -> Callable[..., float]:
    """``check(method, reference, seeds=range(20), alpha=0.01, config=None, ignore=())`` on this
    test's task and budget; returns the p-value, raises AssertionError naming what is wrong."""
    from harness.testing import check_quality

    def check(method: str, reference: str | Path | dict[str, Any] | Iterable[float],
              seeds: Iterable[int] = range(20), alpha: float = 0.01, config: dict[str, Any] | None = None,
              ignore: Iterable[str] = ()) -> float:
        return check_quality(method, nas_task, nas_budget, seeds, reference, alpha, config, ignore)

    return check
