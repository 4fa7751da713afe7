"""The ``derived/`` CSVs the NB201 loader reads, built from the downloaded originals.

The originals are a pandas-pickled DataFrame (two BayesWatch ``.pd`` files) and HELP's torch
archives of plain pickled lists (``latency/*.pt``, ``str_arch2idx.pt``). The conversions are
lossless and byte-for-byte reproducible: the manifest (``data_manifest.json``) holds the sha256
each output must have, and ``benchmarks/tabular/fetch.py`` checks it. Pickles are only opened after
their download matched its sha256; HELP's are read with an unpickler that refuses every global
(they hold only lists, dicts, numbers and strings), so torch is not needed.
"""
from __future__ import annotations

import csv
import io
import pickle
import zipfile
from pathlib import Path
from typing import Callable

from harness.errors import DataError

N_ARCHS = 15_625


def pandas_pickle_to_csv(sources: list[Path]) -> bytes:
    """A pickled DataFrame as CSV without the index, as pandas writes it (full float precision)."""
    try:
        import pandas as pd
    except ImportError:
        raise DataError("converting the BayesWatch .pd files needs pandas: pip install 'nas-harness[data]'") from None
    (src,) = sources
    try:
        frame = pd.read_pickle(src)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways, all meaning "not that file"
        raise DataError(f"{src} is not a readable pandas pickle ({exc.__class__.__name__}: {exc})") from None
    return frame.to_csv(index=False).encode()


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> None:  # noqa: ARG002 - refusing is the point
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")


def _torch_list(path: Path) -> object:
    """The pickled object in a torch zip archive that has no tensor storages."""
    try:
        with zipfile.ZipFile(path) as z:
            (name,) = [n for n in z.namelist() if n.endswith("/data.pkl")]
            return _PlainUnpickler(io.BytesIO(z.read(name))).load()
    except (zipfile.BadZipFile, ValueError, pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"{path} is not one of HELP's latency archives ({exc})") from None


def help_latency_to_csv(sources: list[Path]) -> bytes:
    """``index, arch_str`` and one column per device (ms), devices in name order, one row per arch."""
    index_file = next((p for p in sources if p.name == "str_arch2idx.pt"), None)
    if index_file is None:
        raise DataError("HELP latency conversion needs str_arch2idx.pt")
    str2idx = _torch_list(index_file)
    if not isinstance(str2idx, dict) or sorted(str2idx.values()) != list(range(N_ARCHS)):
        raise DataError(f"{index_file}: not a map of the {N_ARCHS} arch strings to their indices")
    idx2str = {i: s for s, i in str2idx.items()}
    columns = {}
    for p in sorted((p for p in sources if p is not index_file), key=lambda p: p.stem):
        values = _torch_list(p)
        if not isinstance(values, list) or len(values) != N_ARCHS:
            raise DataError(f"{p}: expected a list of {N_ARCHS} latencies")
        columns[p.stem] = values
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "arch_str", *columns])
    for i in range(N_ARCHS):
        w.writerow([i, idx2str[i], *(col[i] for col in columns.values())])
    return buf.getvalue().encode()


CONVERTERS: dict[str, Callable[[list[Path]], bytes]] = {
    "pandas_pickle_to_csv": pandas_pickle_to_csv,
    "help_latency_to_csv": help_latency_to_csv,
}


def convert(how: str, sources: list[Path]) -> bytes:
    """The bytes converter ``how`` makes from ``sources`` (the caller checks and writes them)."""
    if how not in CONVERTERS:
        raise DataError(f"the manifest names an unknown conversion {how!r}")
    return CONVERTERS[how](sources)
