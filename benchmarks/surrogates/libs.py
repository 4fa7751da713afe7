"""The heavy libraries of the ``surrogate`` extra, imported on first use with one line if absent."""
from __future__ import annotations

from typing import Any

from harness.errors import DataError


def xgboost() -> Any:
    """The xgboost module."""
    try:
        import xgboost as xgb
    except ImportError:
        raise DataError("surrogates need xgboost: pip install -e '.[surrogate]'") from None
    return xgb
