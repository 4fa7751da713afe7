"""Surrogates fitted once per session on the real NB201 table (small ensembles, to keep the suite fast)."""
from __future__ import annotations

from pathlib import Path

import pytest


def _fit(nb201_data: Path, harness_cache: Path, out: Path, members: int, trees: int) -> Path:
    from benchmarks.surrogates.fit import FitSettings, fit
    from benchmarks.surrogates.sources import training_data

    data = training_data(nb201_data, "nb201", cache=harness_cache)
    model, _ = fit(data, FitSettings(members=members, trees=trees))
    return model.save(out)


@pytest.fixture(scope="session")
def tiny_surrogate(nb201_data, harness_cache, tmp_path_factory) -> Path:
    """A 2-member, 30-tree surrogate of NB201 cifar10-valid: enough for mechanics, not for quality."""
    pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")
    return _fit(nb201_data, harness_cache, tmp_path_factory.mktemp("sur") / "tiny.zip", 2, 30)


@pytest.fixture(scope="session")
def small_surrogate(nb201_data, harness_cache, tmp_path_factory) -> Path:
    """The regression check's surrogate: 3 members x 100 trees (about 7 s of CPU)."""
    pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")
    return _fit(nb201_data, harness_cache, tmp_path_factory.mktemp("sur") / "small.zip", 3, 100)
