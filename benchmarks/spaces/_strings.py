"""The argument check every space's ``parse`` shares: one string, or a sequence of strings."""
from __future__ import annotations

from typing import Any

import numpy as np

from harness.errors import ArchError


def strings(s: Any, what: str) -> list[str] | None:
    """None for a single ``str`` (parse it alone), else the items of a list / tuple / array of str.
    Anything else (None, a number, bytes, a dict, a non-str item) is one ArchError naming its type,
    so a bad argument never surfaces as a TypeError from deep inside a parser."""
    if isinstance(s, str):
        return None
    if not isinstance(s, (list, tuple, np.ndarray)):
        raise ArchError(f"{what} must be a str or a list of str, got {type(s).__name__}")
    items = list(np.asarray(s, dtype=object).reshape(-1)) if isinstance(s, np.ndarray) else list(s)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ArchError(f"{what} {i} must be a str, got {type(item).__name__}")
    return items
