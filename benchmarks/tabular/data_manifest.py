"""The committed list of what `data fetch` downloads: each file's pinned URL, sha256 and size.

The manifest (``data_manifest.json`` beside this module) names public GitHub files at fixed commits
(raw.githubusercontent.com URLs), the ``derived/`` conversions built from them with the sha256 the
conversion must reproduce, the prepared table's file name, and the official files that are too large
for this route (where to get them by hand). ``docs/data.md`` explains each entry.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UnknownNameError

MANIFEST = Path(__file__).with_name("data_manifest.json")
RAW_BASE = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Source:
    """One downloaded file: ``path`` is where it goes under the data folder."""

    path: str
    url: str
    sha256: str
    size: int
    license: str

    def url_from(self, mirror: str | None) -> str:
        """The URL, or the same path under ``mirror`` (a server laid out like raw.githubusercontent.com)."""
        if not mirror:
            return self.url
        return mirror.rstrip("/") + self.url.removeprefix(RAW_BASE)


@dataclass(frozen=True)
class Derived:
    """A lossless conversion of downloaded files (``how`` names the converter in nb201_derived.py)."""

    path: str
    sources: tuple[str, ...]
    how: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Official:
    """An official file too large to fetch here: what it is and where to get it."""

    name: str
    size: str
    where: str
    why: str


@dataclass(frozen=True)
class DataSet:
    name: str
    description: str
    files: tuple[Source, ...]
    derived: tuple[Derived, ...]
    table: str | None
    official: tuple[Official, ...]

    @property
    def download_bytes(self) -> int:
        return sum(f.size for f in self.files)


def datasets(path: Path = MANIFEST) -> dict[str, DataSet]:
    """Every data set the manifest names, by name."""
    raw = json.loads(Path(path).read_text())
    out = {}
    for name, d in raw["datasets"].items():
        out[name] = DataSet(
            name, d["description"],
            tuple(Source(f["path"], f["url"], f["sha256"], int(f["size"]), f["license"]) for f in d["files"]),
            tuple(Derived(x["path"], tuple(x["from"]), x["how"], x["sha256"], int(x["size"])) for x in d["derived"]),
            d.get("table"),
            tuple(Official(o["name"], o["size"], o["where"], o["why"]) for o in d["official"]))
    return out


def dataset(name: str) -> DataSet:
    known = datasets()
    if name not in known:
        raise UnknownNameError.of("data set", name, known)
    return known[name]
