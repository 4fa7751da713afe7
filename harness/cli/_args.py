"""Flag values the commands share: ``KEY=VALUE`` pairs, comma lists of names, folders to write."""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
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


def text_pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    """``["a=1", "b=x"]`` -> ``[("a", "1"), ("b", "x")]``: the values left as text, for options whose
    declared types say how to read them (harness/options.py)."""
    out = []
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"{what} must look like KEY=VALUE, got {item!r}")
        out.append((key.strip(), val))
    return out


def names(text: str, what: str) -> list[str]:
    """A comma list of names, each given once: ``"rs,rea"`` -> ``["rs", "rea"]``; an empty item or a
    repeated name is an error naming the flag (a repeat would run, and count, the same runs twice)."""
    items = [s.strip() for s in text.split(",")]
    if not text.strip() or not all(items):
        raise HarnessError(f"{what} needs comma-separated names without empty items, got {text!r}")
    dup = sorted(s for s, n in Counter(items).items() if n > 1)
    if dup:
        raise HarnessError(f"{what} names {', '.join(dup)} more than once, got {text!r}")
    return items


def writable_dir(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a folder this process can write, checked before any work: an existing file, a
    parent that is a file or a folder that refuses a new file is an error naming the path. Nothing is
    created but a probe file, removed at once, in the nearest folder that exists."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{what} {path} is a file, not a folder")
    probe_in = path
    while not probe_in.exists():
        if probe_in.parent == probe_in:
            break
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise HarnessError(f"{what} {path}: {probe_in} is a file, not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=".nas-harness-probe-", dir=probe_in)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise HarnessError(f"{what} {path}: cannot write in {probe_in} ({exc.strerror or exc})") from None
    return path
