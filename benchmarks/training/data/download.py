"""Fetch and unpack a dataset archive, only when the user asks for it (``--download``)."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

from harness.errors import DataError

log = logging.getLogger(__name__)

# name -> (url, md5 of the archive, folder the archive unpacks to)
ARCHIVES = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py"),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                 "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python"),
}


def md5sum(path: Path) -> str:
    """Hex md5 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def fetch(url: str, root: Path, md5: str | None = None, timeout_s: float = 60.0) -> Path:
    """Download ``url`` into ``root`` (atomically, via a .part file), check md5, unpack a tarball."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / url.rstrip("/").split("/")[-1]
    part = target.with_name(target.name + ".part")
    log.info("downloading %s -> %s", url, target)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(part, "wb") as out:
            shutil.copyfileobj(resp, out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"download of {url} failed: {exc}") from None
    if md5 is not None and md5sum(part) != md5:
        part.unlink()
        raise DataError(f"download of {url} is corrupt: md5 differs from {md5}")
    os.replace(part, target)
    if tarfile.is_tarfile(target):
        with tarfile.open(target) as tar:
            tar.extractall(root, filter="data")
    return target
