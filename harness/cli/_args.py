"""Flag values the commands share: ``KEY=VALUE`` pairs with JSON values."""
from __future__ import annotations

import json
from typing import Any

from harness.errors import HarnessError


def value(text: str) -> Any:
    """JSON when it parses (numbers, booleans, lists, objects), else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def pairs(items: list[str], what: str) -> list[tuple[str, Any]]:
    """``["a=1", "b=x"]`` -> ``[("a", 1), ("b", "x")]``; ``what`` names the flag in the error."""
    out = []
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"{what} must look like KEY=VALUE, got {item!r}")
        out.append((key, value(val)))
    return out
