"""Where data and caches live: flags first, then environment variables; never a hard-coded path."""
from __future__ import annotations

import os
from pathlib import Path

from harness.errors import DataError

DATA_ENV = "NAS_HARNESS_DATA"
CACHE_ENV = "NAS_HARNESS_CACHE"
FETCH_HINT = "get the NB201 data with `python -m harness data fetch nb201 --dest DIR`"


def data_dir(flag: str | os.PathLike | None, fix: str | None = None) -> Path:
    """The data directory from --data or NAS_HARNESS_DATA; a clear error when neither is set or it
    is missing, ending with ``fix`` (what gets the data, e.g. ``FETCH_HINT``) when given."""
    value = flag if flag is not None else os.environ.get(DATA_ENV)
    hint = f" ({fix})" if fix else ""
    if not value:
        raise DataError(f"no data directory: pass --data DIR or set {DATA_ENV}{hint}")
    path = Path(value).expanduser()
    if not path.exists():
        raise DataError(f"data path {path} does not exist{hint}")
    return path


def cache_dir(flag: str | os.PathLike | None = None, create: bool = True) -> Path:
    """Prepared tables and evaluation caches: --cache, NAS_HARNESS_CACHE, or ~/.cache/nas-harness.
    ``create=False`` for callers that make their folders when they first write (under torchrun only
    rank 0 writes, and the other ranks must leave no trace)."""
    value = flag if flag is not None else os.environ.get(CACHE_ENV)
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "nas-harness"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
