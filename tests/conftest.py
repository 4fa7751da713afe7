"""Shared fixtures: the real NB201 figures (NAS_HARNESS_DATA, else ../shared/data/nb201 beside the
repo, as CI lays it out; without them the data tests skip with that reason) and a per-session cache
so the table is prepared once."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _nb201_dir() -> Path:
    env = os.environ.get("NAS_HARNESS_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "nb201"


@pytest.fixture(scope="session")
def nb201_data() -> Path:
    path = _nb201_dir()
    if not (path / "SOURCES.md").exists() and not path.is_file():
        pytest.skip(f"NB201 data not found at {path} (set NAS_HARNESS_DATA to the NB201 figures)")
    return path


@pytest.fixture(scope="session")
def harness_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def nb201_table_path(nb201_data: Path, harness_cache: Path) -> Path:
    from benchmarks.tabular.nb201_table import ensure_table

    return ensure_table(nb201_data, harness_cache)


@pytest.fixture(scope="session")
def nb201_task(nb201_data: Path, harness_cache: Path, nb201_table_path: Path):
    """Factory: nb201_task('cifar10-valid') -> NB201Task (tables opened once per dataset)."""
    from benchmarks.nb201 import make

    made: dict = {}

    def get(dataset: str = "cifar10-valid", **options):
        key = (dataset, tuple(sorted(options.items())))
        if key not in made:
            made[key] = make(dataset, data=nb201_data, cache=harness_cache, **options)
        return made[key]

    return get
