"""A cheating method for tests/harness/test_sealed.py and test_isolation.py (importable, so an
isolated process can build it): every probe of issue 19 item 3, each noting what it reached."""
from __future__ import annotations

import gc
import json
import os
import sys
import types
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.errors import HarnessError
from harness.protocols import Outcome, SearchSpace

COST = 111.0


class ProbeTask:
    """A small NB201-space task whose test values (4000 + index) are easy to spot if they leak."""

    name = "probe/toy"
    fidelities = (12.0,)
    default_fidelity = 12.0

    def __init__(self) -> None:
        self.space = NB201Space()
        self.secret = 4000.0 + np.arange(15625, dtype=float)

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        idx = self.space.index(codes)
        n = len(idx)
        return Outcome(val=50.0 + (idx % 97) / 10.0, cost_s=np.full(n, COST), epochs=np.full(n, fidelity),
                       report_valid=self.secret[idx] - 1000, report_test=self.secret[idx], index=idx)

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.space.index(codes)
        return self.secret[idx] - 1000, self.secret[idx]

    def attrs(self) -> dict:
        return {"benchmark": "probe", "dataset": "toy", "cost_unit": "simulated_s"}


# what counts as a catch: the harness's own objects, found by class name (a cheater knows no ids)
HARNESS_CLASSES = {"MeteredEvaluator", "Recorder", "ShadowRecorder", "Spent", "NB201Task", "NB201Table", "Outcome",
                   "ProbeTask"}
_LEAVES = (str, bytes, int, float, complex, bool, type(None), np.generic)
_SKIP = {"__globals__", "__builtins__", "__subclasses__", "ctypes", "flat", "data", "__array_interface__",
         "__array_struct__"}


def _children(o: Any) -> Iterator[Any]:
    if isinstance(o, np.ndarray):  # an array's only reference is its base (a view of something bigger)
        yield o.base
        return
    if isinstance(o, (list, tuple, set, frozenset, deque)):
        yield from o
    elif isinstance(o, (dict, types.MappingProxyType)):
        yield from o.keys()
        yield from o.values()
    try:
        names = set(dir(o))
    except Exception:  # noqa: BLE001 - an object without dir() has no attributes to follow
        names = set()
    for name in names - _SKIP:
        try:
            with warnings.catch_warnings():  # deprecated attributes of what it passes through (pytest's)
                warnings.simplefilter("ignore")
                value = getattr(o, name)
        except Exception:  # noqa: BLE001, S112 - refusing an attribute is what sealing is for
            continue
        yield value
    if not isinstance(o, type):
        try:
            reduced = o.__reduce_ex__(2)
        except Exception:  # noqa: BLE001 - unpicklable: nothing to follow
            return
        yield reduced


def reachable(root: Any, limit: int = 40_000) -> list[Any]:
    """Everything an attribute walk reaches from ``root``: ``dir`` + ``getattr`` (closures,
    ``__self__``, ``__func__``, ``__wrapped__``, ``__dict__``, slots), container items and
    ``__reduce_ex__`` answers; modules and module namespaces (``__globals__``) are not followed,
    since importing reaches them anyway (the hole ``--isolate`` closes)."""
    seen = {id(root)}
    out = [root]
    queue = deque([root])
    while queue and len(out) < limit:
        for child in _children(queue.popleft()):
            if id(child) in seen or isinstance(child, types.ModuleType):
                continue
            seen.add(id(child))
            out.append(child)
            if not isinstance(child, _LEAVES):
                queue.append(child)
    return out


def _leaked(o: Any) -> str | None:
    name = type(o).__name__
    if name in HARNESS_CLASSES:
        return name
    if type(o) is np.ndarray and o.dtype.kind == "f" and o.size:
        try:
            if o.size == 15625 or float(np.nanmax(o)) >= 4000:
                return "test values"
        except (ValueError, TypeError):
            return None
    return None


def _caught(objs: list[Any]) -> list[str]:
    """The names of the harness objects (or arrays of test values) among ``objs``."""
    return sorted({hit for o in objs if (hit := _leaked(o)) is not None})


@dataclass(frozen=True)
class Config:
    probes: str = "attributes"  # or "all": also gc, frames, imports, files, environment
    data: str = ""              # paths the file probes "guess" (the tests pass the real ones)
    cache: str = ""
    queries: int = 2000


class Cheater:
    """Tries every probe, then asks ``queries`` architectures; ``report_attrs`` tries to overwrite
    the harness's own attributes and reports what each probe got (``probes``, JSON)."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config
        self.found: dict[str, Any] = {}

    def _try(self, name: str, probe: Callable[[], Any]) -> None:
        try:
            self.found[name] = probe()
        except Exception as exc:  # noqa: BLE001 - a refused probe is the expected outcome
            self.found[name] = f"refused: {type(exc).__name__}: {exc}"[:200]

    def search(self, ev: Any) -> None:
        t = self._try
        t("attr _task", lambda: type(ev._task).__name__)
        t("getattr computed", lambda: type(getattr(ev, "_" + "task")).__name__)
        t("vars", lambda: sorted(vars(ev)))
        t("__dict__", lambda: sorted(ev.__dict__))
        t("walk", lambda: _caught(reachable(ev)))
        t("reset spent", lambda: setattr(ev.spent, "cost_s", 0.0))
        t("refund", lambda: ev.charge(-1e6))
        t("raise budget", lambda: object.__setattr__(ev, "budget", Budget(max_cost_s=1e6)))
        if self.config.probes == "all":
            t("gc", lambda: _caught(gc.get_objects()))
            t("frames", self._frames)
            t("make", self._make)
            t("h5py", self._h5py)
            t("open data", lambda: self._open(self.config.data))
            t("open cache", lambda: self._open(self.config.cache))
            t("parent memory", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read(8).hex())  # noqa: SIM115
            t("environment", lambda: sorted(k for k in os.environ if k.startswith("NAS_HARNESS")))
        for _ in range(self.config.queries):
            try:
                ev.evaluate(self.space.sample(self.rng, 1)[0])
            except Exception as exc:
                if type(exc).__name__ == "BudgetExhausted":
                    try:  # a traceback's own frames must not hold the meter either
                        held = [v for tb in _tbs(exc) for v in tb.tb_frame.f_locals.values()]
                        self.found["traceback"] = _caught([o for v in held for o in reachable(v, 2000)])
                    except Exception as inner:  # noqa: BLE001
                        self.found["traceback"] = f"refused: {inner}"
                raise

    @staticmethod
    def _frames() -> list[str]:
        f, objs = sys._getframe(), []
        while f is not None:
            objs += list(f.f_locals.values())
            f = f.f_back
        return _caught([o for v in objs for o in reachable(v, 2000)])

    def _make(self) -> str:
        from benchmarks.nb201 import (
            make,  # the benchmark's own loader, with the real paths
        )

        task = make("cifar10-valid", data=self.config.data, cache=self.config.cache)
        return type(task).__name__

    def _h5py(self) -> str:
        import h5py

        names = sorted(os.listdir(self.config.cache))
        with h5py.File(os.path.join(self.config.cache, names[0]), "r") as f:
            return f"read {len(f)} keys"

    @staticmethod
    def _open(folder: str) -> str:
        for root, _, files in os.walk(folder):
            for name in files:
                with open(os.path.join(root, name), "rb") as fh:
                    return f"read {len(fh.read(64))} bytes"
        return "no file"

    def report_attrs(self) -> dict[str, Any]:
        return {"method": "honest", "spent_cost_s": 71.6, "spent_evals": 1, "status": "running", "ended": "method",
                "seed": 12345, "probes": json.dumps(self.found, default=str)}


def _tbs(exc: BaseException) -> Iterator[Any]:
    tb = exc.__traceback__
    while tb is not None:
        yield tb
        tb = tb.tb_next


@dataclass(frozen=True)
class StopperConfig:
    after: int = 5


class Stopper:
    """Random sampling that, after ``after`` queries, dies (``SEALED_PROBE_FAIL=exit``), raises a
    bug (``raise``) or a user error (``harness``); without the variable it runs to the budget."""

    Config = StopperConfig

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: StopperConfig) -> None:
        self.space, self.rng, self.config = space, rng, config

    def search(self, ev: Any) -> None:
        n = 0
        while True:
            ev.evaluate(self.space.sample(self.rng, 1)[0])
            n += 1
            if n == self.config.after:
                how = os.environ.get("SEALED_PROBE_FAIL")
                if how == "exit":
                    os._exit(3)
                if how == "raise":
                    raise ValueError("boom")
                if how == "harness":
                    raise HarnessError("stopper needs option x")
