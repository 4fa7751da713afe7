"""Shared fixtures: the NB201 data from NAS_HARNESS_DATA (fallback <repo>/../shared/data/nb201)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def nb201_data() -> Path:
    path = Path(os.environ.get("NAS_HARNESS_DATA") or REPO.parent / "shared" / "data" / "nb201")
    if not path.exists():
        pytest.skip(f"NB201 data not found at {path}")
    return path


@pytest.fixture(scope="session")
def nb201_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    value = os.environ.get("NAS_HARNESS_CACHE")
    return Path(value) if value else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def nb201_task(nb201_data: Path, nb201_cache: Path):
    from benchmarks.nb201 import make

    return make("cifar10-valid", data=nb201_data, cache=nb201_cache)
