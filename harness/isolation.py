"""``compare --isolate``: the method runs in a fresh interpreter of its own and talks over a socket.

The task, its tables and the meter stay in the harness process; the child holds the space, its rng,
its config and a ``SealedEvaluator`` whose calls go over the socket to the parent's
``MeteredEvaluator``, which keeps replay/resume, the budget and the recording exactly as in-process
(the same queries give the same trajectory, bit for bit, wall-clock aside).

What the child can reach: nothing of the task's (it never loaded it), no data or cache variables
(removed from its environment), no file under the data, cache or output folders and no HDF5 or
benchmark-factory import (an audit hook refuses them, and a finder first on ``sys.meta_path`` the
imports ``importlib.import_module`` makes without an audit event, so ``benchmarks.nb201.make(...)``
fails even with a guessed path). The audit hook is a tripwire, not a sandbox: code calling the C library
directly (``ctypes``) passes it; only file permissions stop that.

The parent never unpickles what the child sends: messages are JSON plus raw numeric arrays
(``harness.wire``).
"""
from __future__ import annotations

import builtins
import importlib.util
import math
import os
import pickle
import pkgutil
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import errors
from harness.config import CACHE_ENV, DATA_ENV
from harness.constraints import ConstraintError
from harness.errors import BudgetExhausted, HarnessError
from harness.protocols import SearchSpace, TrainingTask
from harness.sealed import SealedEvaluator, SpentSoFar
from harness.wire import QUERY, QUERY_HEAD, VALUE, VALUE_BODY, IsolationError, decode, recv, send

if TYPE_CHECKING:
    from harness.evaluator import MeteredEvaluator

MAX_FRAME = 1 << 26  # bytes the parent accepts in one message from the child
_BOOT = ("import sys; sys.path[:0] = sys.argv[2:]; from harness.isolation import child_main; "
         "child_main(int(sys.argv[1]))")
# modules that read benchmark tables; the registry's benchmark modules are added at run time
_TABLE_MODULES = ("h5py", "benchmarks.tabular")
_ERRORS = {c.__name__: c for c in (*(v for v in vars(errors).values()
                                     if isinstance(v, type) and issubclass(v, BaseException)), ConstraintError)}
_CALLS = ("evaluate", "charge", "submit", "observe", "feasible", "search_data")


# the harness side
def guarded_dirs(path: Path, task_attrs: dict[str, Any] | None = None) -> list[str]:
    """Folders an isolated method may not open files under: the data and cache folders named in the
    environment, the default cache, this (the harness's) process under /proc, and the run's output
    folder (``out/benchmark/dataset/method``; its ``out`` root when the path has that shape)."""
    dirs = [os.environ.get(DATA_ENV), os.environ.get(CACHE_ENV), str(Path.home() / ".cache" / "nas-harness"),
            f"/proc/{os.getpid()}"]  # the harness's own memory and open files
    folder = Path(path).resolve().parent
    dirs.append(str(folder))
    if task_attrs and len(folder.parents) >= 3 and folder.parent.name == str(task_attrs.get("dataset")) \
            and folder.parent.parent.name == str(task_attrs.get("benchmark")):
        dirs.append(str(folder.parents[2]))
    return [d for d in dirs if d]


def _registry_modules(package: str) -> list[str]:
    """The public top-level modules of a registry's package (they build tasks), found without importing them."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(spec.submodule_search_locations)
            if not m.ispkg and not m.name.startswith("_")]


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NAS_HARNESS_")}


def run_isolated(cls: type, task: Any, rng: np.random.Generator, config: Any, meter: MeteredEvaluator,
                 guard: list[str], name: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """Run ``cls(space, rng, config).search(...)`` in a fresh interpreter against ``meter``; returns
    (``ended``, the method's ``report_attrs()`` answer or None). A child that fails or dies raises
    one-line IsolationError; what it was charged is recorded, so the run stays resumable."""
    from harness.registry import BENCHMARKS

    name = name or getattr(cls, "__name__", str(cls))
    if isinstance(task, TrainingTask):
        raise IsolationError(f"--isolate cannot hand {name}'s trained model back across processes "
                             f"({task.name} tests returned models); run it without --isolate "
                             "(a plugin method: with --trust-plugins)")
    if getattr(cls, "__module__", "__main__") == "__main__":
        raise IsolationError(f"--isolate needs {name} in an importable module (it is defined in __main__)")
    try:
        boot = pickle.dumps({"cls": cls, "space": task.space, "rng": rng, "config": config, "budget": meter.budget,
                             "fidelities": tuple(meter.fidelities), "default_fidelity": meter.default_fidelity,
                             "constraint": meter.constraint})
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise IsolationError(f"--isolate cannot send {name}, its space or its config to another process "
                             f"({exc})") from None
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(theirs.fileno()), *sys.path],
                                pass_fds=(theirs.fileno(),), env=_child_env(), stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    try:
        plugins = {BENCHMARKS.module_of(b) for b in BENCHMARKS.names() if BENCHMARKS.is_plugin(b)}
        plugins.discard(getattr(cls, "__module__", ""))  # a plugin module holding the method and a benchmark
        send(conn, {"guard": guard, "modules": [*_TABLE_MODULES, *_registry_modules(BENCHMARKS.package),
                                                *sorted(plugins)]})
        conn.send_bytes(boot)
        return _serve(conn, meter, name, proc)
    finally:
        conn.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _int_dtype(code: bytes) -> np.dtype:
    dtype = np.dtype(code.rstrip(b"\0").decode("ascii"))
    if dtype.kind not in "iu":
        raise IsolationError(f"refused {dtype} codes from the other process")
    return dtype


def _end(proc: subprocess.Popen) -> int:
    """The child's exit code, killing it if it has not ended within a few seconds."""
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _serve(conn: Connection, meter: MeteredEvaluator, name: str,
           proc: subprocess.Popen) -> tuple[str, dict[str, Any] | None]:
    """Answer the child's calls until it says it is done."""
    calls: dict[str, Callable[..., Any]] = {c: getattr(meter, c) for c in _CALLS}
    spent = meter.spent
    forwarded: BaseException | None = None  # the last error handed to the method, raised again if it ends it
    evaluate = meter.evaluate
    while True:
        try:
            frame = memoryview(conn.recv_bytes(MAX_FRAME))
        except (EOFError, OSError):
            rc = _end(proc)
            raise IsolationError(f"{name}'s isolated process died (exit code {rc}) after {spent.evals} "
                                 "evaluation(s); what it was charged is recorded and the run resumes "
                                 "when compare runs again") from None
        if frame[:1] == QUERY:  # the hot path: one row
            try:
                fid, dtype = QUERY_HEAD.unpack_from(frame, 1)
                codes = np.frombuffer(frame[1 + QUERY_HEAD.size:], dtype=_int_dtype(dtype)).copy()
                value = evaluate(codes, None if math.isnan(fid) else fid)
            except Exception as exc:  # noqa: BLE001 - handed to the method, as in-process
                forwarded = exc
                send(conn, {"raise": exc.__class__.__name__, "msg": str(exc),
                             "spent": [spent.evals, spent.cost_s, spent.epochs]})
                continue
            conn.send_bytes(VALUE + VALUE_BODY.pack(value, spent.evals, spent.cost_s, spent.epochs))
            continue
        try:
            msg = decode(frame)
        except (IsolationError, ValueError, TypeError, KeyError) as exc:
            _end(proc)
            raise IsolationError(f"{name}'s isolated process sent a malformed message ({exc})") from None
        op = msg.get("op")
        if op == "done":
            ended = msg.get("ended")
            return ("budget" if ended == "budget" else "method"), msg.get("attrs")
        if op == "failed":
            kind, text = str(msg.get("kind")), str(msg.get("msg"))
            if forwarded is not None and forwarded.__class__.__name__ == kind and str(forwarded) == text:
                raise forwarded
            if _ERRORS.get(kind) is not None and issubclass(_ERRORS[kind], HarnessError):
                raise IsolationError(text)
            raise IsolationError(f"{name} raised {kind} in its isolated process: {text} (traceback above)")
        fn = calls.get(op) if isinstance(op, str) else None
        try:
            if fn is None:
                raise IsolationError(f"the evaluator offers no call {op!r}")
            args = msg.get("args", [])
            value = fn(*(args if isinstance(args, list) else []))
            reply = {"ok": value}
        except Exception as exc:  # noqa: BLE001 - handed to the method, as in-process
            forwarded = exc
            reply = {"raise": exc.__class__.__name__, "msg": str(exc)}
        reply["spent"] = [spent.evals, spent.cost_s, spent.epochs]
        send(conn, reply)


# the method's side
def _guard(dirs: list[str], modules: list[str]) -> None:
    """Refuse, for the rest of this process, opening files under ``dirs`` and importing ``modules``."""
    roots = tuple(os.path.join(os.path.realpath(d), "") for d in dirs)
    mods = tuple(modules)
    prefixes = tuple(m + "." for m in modules)

    def refused(mod: object) -> bool:
        return isinstance(mod, str) and (mod in mods or mod.startswith(prefixes))

    class _RefuseImports:
        """First on sys.meta_path: ``importlib.import_module`` raises no ``import`` audit event
        (only the ``import`` statement does), but every import of a new module asks the finders."""

        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> None:
            if refused(name):
                raise PermissionError(f"an isolated method may not import {name} (it reads benchmark data)")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            target = args[0]
            if isinstance(target, (str, bytes, os.PathLike)):
                p = os.path.join(os.path.realpath(os.fsdecode(target)), "")
                if p.startswith(roots):
                    raise PermissionError(f"an isolated method may not open {os.fsdecode(target)}")
        elif event == "import":
            if refused(args[0]):
                raise PermissionError(f"an isolated method may not import {args[0]} (it reads benchmark data)")

    sys.meta_path.insert(0, _RefuseImports())  # type: ignore[arg-type]
    sys.addaudithook(hook)


def _error(kind: str, text: str) -> BaseException:
    """The parent's error as the method would have met it in-process: same class where it is one of
    the harness's or a built-in one, else a HarnessError naming it."""
    cls = _ERRORS.get(kind) or getattr(builtins, kind, None)
    if cls is BudgetExhausted:
        return BudgetExhausted()
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__init__ is BaseException.__init__ \
            or cls in _ERRORS.values():
        return cls(text)
    return HarnessError(f"{kind}: {text}")


def _remote(conn: Connection, boot: dict[str, Any]) -> SealedEvaluator:
    """A sealed evaluator whose calls go to the parent; the parent's every reply carries the totals."""
    state = {"spent": SpentSoFar(0, 0.0, 0.0)}

    def query(codes: Any, fidelity: Any = None) -> Any:
        if not (isinstance(codes, np.ndarray) and codes.ndim == 1 and codes.dtype.kind in "iu"
                and (fidelity is None or (isinstance(fidelity, (int, float)) and not math.isnan(fidelity)))):
            return general(codes, fidelity)
        fid = float("nan") if fidelity is None else float(fidelity)
        conn.send_bytes(b"".join([QUERY, QUERY_HEAD.pack(fid, codes.dtype.str.encode()), codes.tobytes()]))
        frame = memoryview(conn.recv_bytes())
        if frame[:1] != VALUE:
            return answer(decode(frame))
        value, e, c, ep = VALUE_BODY.unpack_from(frame, 1)
        state["spent"] = SpentSoFar(e, c, ep)
        return np.float64(value)

    def answer(reply: dict[str, Any]) -> Any:
        e, c, ep = reply["spent"]
        state["spent"] = SpentSoFar(int(e), float(c), float(ep))
        if "raise" in reply:
            raise _error(str(reply["raise"]), str(reply["msg"]))
        return reply["ok"]

    def forward(op: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            send(conn, {"op": op, "args": list(args)})
            return answer(recv(conn))
        return call

    general = forward("evaluate")

    def refuse(*args: Any) -> None:
        raise IsolationError("submit_model cannot cross processes; run without --isolate")

    ops: dict[str, Callable[..., Any]] = {op: forward(op) for op in _CALLS}
    ops["evaluate"] = query
    ops["submit_model"] = refuse
    ops["spent"] = lambda: state["spent"]
    return SealedEvaluator(ops, boot["space"], boot["fidelities"], boot["default_fidelity"], boot["budget"],
                           boot["constraint"])


def child_main(fd: int) -> None:
    """The isolated process: guard itself, build the method, search, report how it ended."""
    conn = Connection(fd)
    first = recv(conn)
    _guard(list(first["guard"]), list(first["modules"]))
    ended, attrs = "method", None
    try:
        boot = pickle.loads(conn.recv_bytes())  # the parent's own message (it holds no task or table)
        space: SearchSpace = boot["space"]
        method = boot["cls"](space, boot["rng"], boot["config"])
        evaluator = _remote(conn, boot)
        del boot, first
        try:
            method.search(evaluator)
        except BudgetExhausted:
            ended = "budget"
        hook = getattr(method, "report_attrs", None)
        attrs = hook() if callable(hook) else None
        send(conn, {"op": "done", "ended": ended, "attrs": attrs})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent in one line, traceback here
        if not isinstance(exc, HarnessError):
            traceback.print_exc()
        try:
            send(conn, {"op": "failed", "kind": exc.__class__.__name__, "msg": str(exc)})
        except OSError:
            pass
    finally:
        conn.close()

