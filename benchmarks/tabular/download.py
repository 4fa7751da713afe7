"""Download one file whose sha256 and size are known, resumably, so that only a verified file appears.

Bytes stream into ``<name>.download`` beside the target; a later call resumes it with an HTTP
``Range`` request (a server that ignores the range is read again from the start). Once the size is
reached the file's sha256 is checked: a mismatch deletes the partial file and raises a one-line
DataError, and the target is never created; a match is fsynced and renamed onto the target
(``harness/atomic.py``'s directory fsync makes the rename durable). One fetch at a time per folder
is the caller's job (``benchmarks/tabular/fetch.py`` holds a lock).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from harness.atomic import fsync_dir
from harness.errors import DataError

PARTIAL = ".download"
CHUNK = 1 << 16
Progress = Callable[[int], None]  # called with the bytes just written


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + PARTIAL)


def download(url: str, target: Path, sha256: str, size: int, progress: Progress | None = None,
             timeout_s: float = 60.0) -> None:
    """Fetch ``url`` to ``target``, resuming a partial download; raise DataError if it is not the file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(target)
    have = part.stat().st_size if part.exists() else 0
    if have > size:  # not a prefix of this file
        part.unlink()
        have = 0
    if have < size:
        _stream(url, part, have, size, progress, timeout_s)
    got_size = part.stat().st_size
    got = file_sha256(part)
    if got_size != size or got != sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"download of {url} is corrupt: {got_size} bytes with sha256 {got[:16]}…, expected "
                        f"{size} bytes with sha256 {sha256[:16]}…; nothing was written to {target}")
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, target)
    fsync_dir(target.parent)


def _stream(url: str, part: Path, have: int, size: int, progress: Progress | None, timeout_s: float) -> None:
    headers = {"User-Agent": "nas-harness data fetch"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the partial file is checked as it is
            return
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DataError(f"download of {url} failed: {getattr(exc, 'reason', None) or exc}") from None
    with resp:
        resumed = have and resp.status == 206
        mode = "ab" if resumed else "wb"
        written = have if resumed else 0
        if progress and resumed:
            progress(have)
        with open(part, mode) as out:
            while True:
                try:
                    chunk = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:  # a cut connection: keep what arrived
                    raise DataError(f"download of {url} interrupted after {written} of {size} bytes ({exc}); "
                                    "run the same command again to resume") from None
                if not chunk:
                    break
                written += len(chunk)
                if written > size:  # longer than the file it should be: keep one byte too many, it fails the check
                    out.write(chunk[: len(chunk) - (written - size) + 1])
                    break
                out.write(chunk)
                if progress:
                    progress(len(chunk))
    if written < size:  # the server closed early: keep what arrived for the next resume
        raise DataError(f"download of {url} interrupted after {written} of {size} bytes; "
                        "run the same command again to resume")
