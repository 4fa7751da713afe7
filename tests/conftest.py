"""Shared fixtures: the real NB201 figures (NAS_HARNESS_DATA, else ../shared/data/nb201 beside the
repo, as CI lays it out), the NATS-Bench sample files (../shared/data/nats-bench-samples) and a
per-session cache so the table is prepared once.

Without the data every test that needs it skips with one reason, the same for all of them, naming
``NAS_HARNESS_DATA`` and ``python -m harness data fetch nb201``. With ``NAS_HARNESS_REQUIRE_DATA=1``
(set by ``.ci/run``, where the data is beside the checkout) the same reason is a failure instead, so
CI cannot pass by skipping.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_ENV = "NAS_HARNESS_REQUIRE_DATA"
# the first export the loader reads (benchmarks/tabular/nb201_sources.py), or the table data fetch builds
_NB201_MARKERS = ("nb201.h5", "gabro8a__NAS-Landscapes/data/accuracy/cifar10_avg.csv")


def _nb201_dir() -> Path:
    env = os.environ.get("NAS_HARNESS_DATA")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data" / "nb201"


def has_nb201_data(path: Path) -> bool:
    """A table or .pth file, or a folder holding a prepared table or the exports (no SOURCES.md needed)."""
    return path.is_file() or any((path / m).is_file() for m in _NB201_MARKERS)


def _nats_dir() -> Path:
    env = os.environ.get("NAS_HARNESS_NATS_SAMPLES")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data" / "nats-bench-samples"


def _has_nats(path: Path) -> bool:
    return (path / "NATS-tss-v1_0-3ffb9-simple" / "meta.pickle.pbz2").is_file()


def missing_data() -> None:
    """Skip (or, under NAS_HARNESS_REQUIRE_DATA=1, fail) with one reason naming every data set that
    is absent and what fixes it; the same text for every test that needs data."""
    absent, fixes = [], []
    if not has_nb201_data(_nb201_dir()):
        absent.append(f"NB201 data at {_nb201_dir()}")
        fixes.append("set NAS_HARNESS_DATA to an NB201 data folder or run `python -m harness data fetch nb201`")
    if not _has_nats(_nats_dir()):
        absent.append(f"NATS-Bench samples at {_nats_dir()}")
        fixes.append("set NAS_HARNESS_NATS_SAMPLES or run `python -m harness data fetch nats-samples`")
    reason = f"test data not found ({'; '.join(absent)}): {'; '.join(fixes)}"
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so missing data is a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def nb201_data() -> Path:
    path = _nb201_dir()
    if not has_nb201_data(path):
        missing_data()
    return path


@pytest.fixture(scope="session")
def nb201_exports(nb201_data: Path) -> Path:
    """The folder of public exports itself (tests that read or copy the raw files)."""
    if not (nb201_data / _NB201_MARKERS[1]).is_file():
        reason = (f"NAS_HARNESS_DATA={nb201_data} is not a folder of the public exports; this test reads them "
                  "(get them with `python -m harness data fetch nb201`)")
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return nb201_data


@pytest.fixture(scope="session")
def nats_samples() -> Path:
    """NATS-Bench's own sample files (fake_torch_dir: 3 archs, official format)."""
    if not _has_nats(_nats_dir()):
        missing_data()
    return _nats_dir()


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
