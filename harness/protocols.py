"""The extension points: a search space, a task (benchmark x dataset), a method and an executor.

A method is a class registered in ``methods/`` with a frozen ``Config`` dataclass; the harness builds
it as ``Method(space, rng, config)`` and calls ``method.search(evaluator)``. The method drives its
own loop and the evaluator raises ``BudgetExhausted`` when the budget is spent. A benchmark is a
factory registered in ``benchmarks/`` that makes a ``Task`` per dataset; an executor is a factory
registered in ``harness/executors/``. docs/extending.md shows one of each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class SearchSpace(Protocol):
    """Architectures as integer code vectors of fixed length ``n_dims``."""

    name: str
    n_dims: int

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...
    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...
    def parse(self, s: str) -> np.ndarray: ...
    def format(self, codes: np.ndarray) -> list[str]: ...
    def index(self, codes: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Outcome:
    """What a task answers for a batch of evaluations; ``report_*`` are for the harness only."""

    val: np.ndarray          # the validation value a method may see
    cost_s: np.ndarray       # seconds charged (simulated or measured)
    epochs: np.ndarray       # epochs charged
    report_valid: np.ndarray # final-protocol validation accuracy (e.g. hp=200), harness only
    report_test: np.ndarray  # final-protocol test accuracy, harness only
    index: np.ndarray | None = None  # the rows' official indices when the task computed them


@dataclass(frozen=True)
class SearchData:
    """Images a weight-sharing method may train and score on: train and validation splits only.

    ``*_x`` are N x C x H x W arrays or tensors (uint8 0..255 or float 0..1), ``*_y`` int labels.
    A task offers them through an optional ``search_data()`` method; the test split never leaves it.
    """

    name: str
    train_x: Any
    train_y: Any
    valid_x: Any
    valid_y: Any
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pad: int = 0
    flip: bool = False

    @property
    def in_channels(self) -> int:
        return int(self.train_x.shape[1])


@dataclass(frozen=True)
class TextData:
    """Token streams a weight-sharing language-model search may train and score on (train and
    validation only; ptb-train's ``search_data`` hands them out, the test stream never leaves it)."""

    name: str
    train: Any       # int64 token ids
    valid: Any
    n_tokens: int    # vocabulary size


@runtime_checkable
class Task(Protocol):
    """One benchmark on one dataset: answers evaluations and says how they are charged.

    A task whose answers depend on the run may also define ``for_run(seed, queries) -> Task``: the
    runner calls it once per run, with the run seed and a callable giving how many queries the run
    has answered so far (replayed ones included), and meters the task it returns
    (``benchmarks/nb201.py`` draws a training seed per query this way). A task with
    ``evaluates_batches = True`` promises that a batch's row i is answered as query ``queries() + i``
    would be alone, so the evaluator may answer a batch in one call (benchmarks/surrogates/task.py).
    """

    name: str
    space: SearchSpace
    fidelities: tuple[float, ...]
    default_fidelity: float

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome: ...
    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def attrs(self) -> dict[str, Any]: ...


@runtime_checkable
class TrainingTask(Task, Protocol):
    """A task whose methods train networks themselves (neuro-cell evolution): it lends the train and
    validation splits and tests the model a method returns, so test data never reach the method."""

    def search_data(self) -> SearchData: ...
    def final_test(self, model: Any, recipe: Any) -> tuple[float, float]: ...


class Method(Protocol):
    """A search method; it sees only the metered evaluator, never the task or test values.

    Optional: ``report_attrs() -> dict``, written to the run's attributes when it ends, and a class
    attribute ``MODEL_QUALITY = {attribute: label}`` naming those attributes that are the Kendall tau
    of the method's own model (``reports/predictor_quality.py`` tabulates them).
    """

    def search(self, evaluator: Any) -> None: ...


class Executor(Protocol):
    """Runs the chunks of a comparison (lists of (dataset, method, seed) jobs) and yields what
    ``work`` returns for each chunk as the chunk finishes, in any order. ``work`` runs one chunk
    and returns plain data (``harness.runner.ChunkResult``: summaries and finished trajectories)
    that the driver, the store's one writer, stores; so an executor only moves chunks and results."""

    def map(self, work: Callable[[list[tuple[str, str, int]]], Any],
            chunks: list[list[tuple[str, str, int]]]) -> Iterator[Any]: ...


@dataclass(frozen=True)
class NoConfig:
    """Config of a method without hyperparameters."""

    extra: dict = field(default_factory=dict)
