"""A user's own package, written into a temporary folder by the plugin tests: a method
(``toy_rs``, registering itself) and a benchmark (``toy-bench``, a seeded synthetic table, so no data
is needed) declared as entry points, and a pytest suite of its own that uses the harness's fixtures."""
from __future__ import annotations

import textwrap
from pathlib import Path

METHOD = '''
"""toy_rs: random search in batches; it also probes what it can reach (reported in its run's attributes)."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from harness.options import option
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    batch: int = option(1, ge=1)  # architectures per step


@METHODS.register("toy_rs")
class ToyRandomSearch:
    """Random search from a user's package (a plugin)."""

    Config = Config

    def __init__(self, space, rng, config):
        self.space, self.rng, self.config = space, rng, config
        self.probe = {}

    def search(self, evaluator):
        try:
            importlib.import_module("toyplug.bench")
            self.probe["bench_import"] = "imported"
        except PermissionError:
            self.probe["bench_import"] = "refused"
        self.probe["sees_env"] = any(k.startswith("NAS_HARNESS_") for k in os.environ)
        while True:
            for codes in self.space.sample(self.rng, self.config.batch):
                evaluator.evaluate(codes)

    def report_attrs(self):
        return {"probe_" + k: v for k, v in self.probe.items()}
'''

BENCH = '''
"""toy-bench: a seeded synthetic table over the NB201 cells (no data needed)."""
from __future__ import annotations

import hashlib

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from harness.protocols import Outcome
from harness.registry import BENCHMARKS


class ToyTable:
    fidelities, default_fidelity = (12.0,), 12.0

    def __init__(self, dataset, seed):
        rng = np.random.default_rng(seed)
        self.dataset, self.name, self.space, self.seed = dataset, f"toy-bench/{dataset}", NB201Space(), seed
        self.valid = 60.0 + 30.0 * rng.random(15625)
        self.test = self.valid + rng.normal(0.0, 1.0, 15625)
        self.seconds = 50.0 + 100.0 * rng.random(15625)
        self.sha256 = hashlib.sha256(self.valid.tobytes() + self.test.tobytes() + self.seconds.tobytes()).hexdigest()

    def evaluate(self, codes, fidelity):
        i = self.space.index(np.atleast_2d(codes))
        return Outcome(val=self.valid[i], cost_s=self.seconds[i], epochs=np.full(len(i), fidelity),
                       report_valid=self.valid[i], report_test=self.test[i], index=i)

    def report(self, codes):
        i = self.space.index(np.atleast_2d(codes))
        return self.valid[i], self.test[i]

    def oracle(self):
        return {"optimal": {"report_test": float(self.test.max())}}

    def attrs(self):
        return {"benchmark": "toy-bench", "dataset": self.dataset, "cost_unit": "simulated_s",
                "data_sha256": self.sha256, "table_seed": self.seed}


@BENCHMARKS.register("toy-bench")
def make(dataset: str, *, data=None, cache=None, table_seed: int = 0) -> ToyTable:
    """A seeded synthetic table over the NB201 cells (a plugin; no data needed)."""
    return ToyTable(dataset, table_seed)


make.datasets = ("demo", "other")
'''

SUITE = '''
"""toyplug's own tests, through the nas-harness pytest plugin's fixtures."""
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden_toy_rs.json"


@pytest.mark.nas_task("toy-bench", "demo")
@pytest.mark.nas_budget(max_cost_s=1500)
def test_quality_holds(nas_task, nas_budget, assert_search_quality):
    assert nas_task.attrs()["benchmark"] == "toy-bench" and nas_budget.max_cost_s == 1500
    assert assert_search_quality("toy_rs", GOLDEN, seeds=range(8)) > 0.01


@pytest.mark.nas_task("toy-bench", "other")
@pytest.mark.nas_budget(max_cost_s=1500)
def test_a_golden_of_another_dataset_is_named(assert_search_quality):
    with pytest.raises(AssertionError, match="dataset: reference 'demo', here 'other'"):
        assert_search_quality("toy_rs", GOLDEN, seeds=range(8))


@pytest.mark.nas_task("toy-bench", "demo")
def test_a_golden_of_another_budget_is_named(assert_search_quality):
    with pytest.raises(AssertionError, match="budget.max_cost_s: reference 1500.0, here 12000.0"):
        assert_search_quality("toy_rs", GOLDEN, seeds=range(8))
'''

PYPROJECT = '''
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "toyplug"
version = "0.3.0"
dependencies = []

[project.entry-points."nas_harness.methods"]
toy_rs = "toyplug.method"

[project.entry-points."nas_harness.benchmarks"]
toy-bench = "toyplug.bench:make"

[tool.setuptools]
packages = ["toyplug"]
'''

ENTRY_POINTS = '''
[nas_harness.benchmarks]
toy-bench = toyplug.bench:make

[nas_harness.methods]
toy_rs = toyplug.method
'''


def write_package(root: Path) -> Path:
    """The package's sources under ``root`` (``toyplug/``, ``tests/``, ``pyproject.toml``); returns ``root``."""
    files = {"toyplug/__init__.py": '"""A user\'s NAS package."""\n', "toyplug/method.py": METHOD,
             "toyplug/bench.py": BENCH, "tests/test_toyplug.py": SUITE, "pyproject.toml": PYPROJECT}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def fake_install(root: Path) -> Path:
    """What ``pip install`` of the package leaves for importlib.metadata, without pip: a
    ``.dist-info`` beside the sources with its entry points (the fast tests put ``root`` on PYTHONPATH)."""
    info = root / "toyplug-0.3.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplug\nVersion: 0.3.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS).lstrip())
    (info / "top_level.txt").write_text("toyplug\n")
    return root
