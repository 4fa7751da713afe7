"""A tiny task offering search images (sklearn digits), for the weight-sharing method tests."""
from __future__ import annotations

from typing import Any

import numpy as np

from harness.protocols import Outcome, SearchData

TEST_ACC = 77.0  # what the fake table reports; a method must never see it
ALLOWED = {"search_data", "charge", "submit", "spent", "budget"}  # evaluator members a one-shot method uses


def digits_data(n_train: int = 96, n_valid: int = 64) -> SearchData:
    """Train/valid cut of sklearn's 8x8 digits (the test rows are never handed out)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images[:, None] / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    p = np.random.default_rng(0).permutation(len(y))
    tr, va = p[:n_train], p[n_train:n_train + n_valid]
    return SearchData("digits", x[tr], y[tr], x[va], y[va], 10, (0.3,), (0.38,), crop_pad=1, flip=False)


class ImageTask:
    """Stands in for a benchmark that offers search images; queries are refused."""

    fidelities = (12.0,)
    default_fidelity = 12.0

    def __init__(self, space: Any, data: SearchData | None = None) -> None:
        self.space = space
        self.name = f"fake/{space.name}"
        self.data = data or digits_data()
        self.reported: list[np.ndarray] = []
        self.search_data_calls = 0

    def search_data(self) -> SearchData:
        self.search_data_calls += 1
        return self.data

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        raise AssertionError("a one-shot method must not query the table")

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.reported.append(np.array(codes))
        n = len(codes)
        return np.full(n, 70.0), np.full(n, TEST_ACC)

    def attrs(self) -> dict[str, Any]:
        return {"benchmark": "fake", "dataset": "digits", "cost_unit": "measured_s", "data_sha256": "none"}


class Spy:
    """Wraps an evaluator and records which of its attributes the method touched."""

    def __init__(self, evaluator: Any) -> None:
        self._evaluator = evaluator
        self.touched: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.touched.add(name)
        return getattr(self._evaluator, name)


def run_patched(patches: list[tuple[Any, str, Any]], *args: Any, **kwargs: Any) -> tuple[Any, Spy, Any]:
    """``run_method`` with attributes replaced (instrumentation) for its duration only."""
    import pytest

    mp = pytest.MonkeyPatch()
    for obj, name, value in patches:
        mp.setattr(obj, name, value)
    try:
        return run_method(*args, **kwargs)
    finally:
        mp.undo()


def run_method(method: str, space: Any, config: dict[str, Any], path: Any, seed: int = 0,
               task: ImageTask | None = None, max_epochs: float = 1000.0) -> tuple[Any, Spy, Any]:
    """Build and run a registered method as ``run_one`` does, keeping the instance for inspection."""
    import dataclasses

    from harness.budget import Budget
    from harness.evaluator import MeteredEvaluator
    from harness.errors import BudgetExhausted
    from harness.recorder import Recorder
    from harness.registry import METHODS
    from harness.run import make_config
    from harness.seeding import stream

    task = task or ImageTask(space)
    cfg = make_config(method, config)
    recorder = Recorder(path, space.n_dims, {**task.attrs(), "config": dataclasses.asdict(cfg)})
    spy = Spy(MeteredEvaluator(task, Budget(max_epochs=max_epochs), recorder))
    instance = METHODS.get(method)(space, stream(seed, "method", method), cfg)
    try:
        instance.result = instance.search(spy)
    except BudgetExhausted:
        instance.result = None
    recorder.close(complete=True)
    return instance, spy, recorder.trajectory()


class TableAndImageTask(ImageTask):
    """Also answers queries (a made-up table), so tabular and one-shot methods share a study."""

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        idx = self.space.index(codes).astype(float)
        val = 50.0 + (idx % 97) / 3.0
        n = len(idx)
        return Outcome(val=val, cost_s=np.full(n, 100.0), epochs=np.full(n, fidelity),
                       report_valid=val + 1, report_test=np.full(n, TEST_ACC))
