"""A run's identity: everything that determines its result, in one canonical encoding, and its hash.

A store holds at most one run per (benchmark, dataset, method, seed); resuming or skipping it is
allowed only when the stored identity hash equals this run's. The identity is the task's full
attributes (every benchmark option, the data fingerprint), the benchmark options as resolved, the
method and its resolved config, the budget, the seed, the constraint and the schema version; what
only describes a run (the package version, what it spent, how it ended) is left out.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import PurePath
from typing import Any, Mapping

import numpy as np

from harness.errors import ResumeError

STORE_SCHEMA = 2
# attributes that describe a run but do not determine it
DESCRIPTIVE = frozenset({"package_version", "status", "schema", "schema_version", "run_id", "identity",
                         "digest", "ended", "spent_evals", "spent_cost_s", "spent_epochs",
                         "infeasible_queries", "spent_wall_s", "sim_worker", "sim_submit_s", "sim_workers_used"})


def plain(value: Any) -> Any:
    """JSON-able form of an attribute value: numpy scalars and arrays, tuples, paths and bytes made
    plain; non-finite floats as strings (JSON has none)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most attributes: as they are
        return value
    if kind is float:
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def canonical(value: Any) -> str:
    """The one encoding of identities: sorted-key compact JSON of ``plain(value)``."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def hdf5_attr(value: Any) -> Any:
    """How an attribute is stored in HDF5: containers and None as canonical JSON text, scalars as is."""
    if value is None or isinstance(value, (Mapping, list, tuple, np.ndarray)):
        return canonical(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def identity_of(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The identifying part of a run's attributes (plain values)."""
    return {k: plain(v) for k, v in attrs.items() if k not in DESCRIPTIVE}


def _hash(text: str) -> str:
    return hashlib.sha256(f"{text}|store_schema={STORE_SCHEMA}".encode()).hexdigest()[:24]


def run_id(identity: Mapping[str, Any]) -> str:
    """sha256 of the canonical identity and the store schema, 24 hex digits."""
    return _hash(canonical(identity))


def stamp(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``attrs`` plus ``identity`` (canonical JSON) and ``run_id``, as a run stores them."""
    text = canonical(identity_of(attrs))  # encoded once: it is hashed as it is stored
    return {**attrs, "identity": text, "run_id": _hash(text)}


def stored_identity(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The identity a stored run recorded, or None for runs written before identities existed."""
    text = attrs.get("identity")
    if isinstance(text, bytes):
        text = text.decode()
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def differing(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Keys whose canonical values differ (present on one side only counts)."""
    return sorted(k for k in set(stored) | set(wanted)
                  if canonical(stored.get(k, "<absent>")) != canonical(wanted.get(k, "<absent>")))


def _short(value: Any, width: int = 60) -> str:
    text = canonical(value) if value != "<absent>" else "absent"
    return text if len(text) <= width else text[: width - 3] + "..."


def check_same(where: str, attrs: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
    """ResumeError naming the differing keys unless the stored run at ``where`` is this run."""
    if attrs.get("run_id") == wanted["run_id"]:
        return
    stored = stored_identity(attrs)
    if stored is None:
        raise ResumeError(f"{where} was written by an older nas-harness (no run identity); "
                          "choose another --out or delete it")
    mine = json.loads(wanted["identity"])
    keys = differing(stored, mine) or ["store_schema"]
    shown = "; ".join(f"{k}: stored {_short(stored.get(k, '<absent>'))}, this run {_short(mine.get(k, '<absent>'))}"
                      for k in keys[:3])
    more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
    raise ResumeError(f"{where} holds a different run ({shown}{more}); choose another --out or delete it")
