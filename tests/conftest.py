"""Shared fixtures: the real NB201 tasks (skipped when the data is absent), built once per session."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from harness.config import DATA_ENV

REPO = Path(__file__).resolve().parents[1]


def nb201_data() -> Path | None:
    """NAS_HARNESS_DATA, else <repo>/../shared/data/nb201; None when neither exists."""
    path = Path(os.environ.get(DATA_ENV) or REPO.parent / "shared" / "data" / "nb201")
    return path if path.exists() else None


@pytest.fixture(scope="session")
def nb201_task(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], object]:
    """``nb201_task(dataset)`` -> NB201Task, cached per dataset for the session."""
    data = nb201_data()
    if data is None:
        pytest.skip("NB201 data not found: set NAS_HARNESS_DATA")
    from benchmarks.nb201 import make

    cache = os.environ.get("NAS_HARNESS_CACHE") or tmp_path_factory.mktemp("nb201-cache")
    tasks: dict[str, object] = {}

    def get(dataset: str) -> object:
        if dataset not in tasks:
            tasks[dataset] = make(dataset, data=data, cache=cache)
        return tasks[dataset]

    return get
