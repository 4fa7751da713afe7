"""What a method's ``search`` receives: queries and the budget left, and no path to what is metered.

The harness keeps the ``MeteredEvaluator`` (task, recorder, spent counters) and hands the method a
``SealedEvaluator``. The sealed object holds its calls in a ``functools.cmp_to_key`` wrapper
(comparing two of its keys calls the function): a C object that keeps its function in a slot with no
attribute and refuses to pickle, so no chain of attribute look-ups (``_task``, ``__dict__``,
``vars``, computed ``getattr`` names, ``__self__``, ``__closure__``, ``__globals__``,
``__reduce_ex__``) leads from it to the task, the recorder or the meter. Errors cross it without
their tracebacks (whose frames would hold the meter).

What in-process sealing cannot stop: ``gc.get_referents``/``gc.get_objects``, walking the caller's
frames (``sys._getframe``), and importing the benchmarks to load the table. A run under
``compare --isolate`` (``harness.isolation``) puts the method in a process of its own, where none of
those finds anything.
"""
from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.budget import Budget
from harness.constraints import Constraint
from harness.errors import BudgetExhausted, HarnessError
from harness.protocols import SearchSpace

if TYPE_CHECKING:
    from harness.evaluator import MeteredEvaluator

log = logging.getLogger(__name__)

# the calls a method may make; anything else is refused by name
OPS = ("evaluate", "charge", "submit", "observe", "submit_model", "feasible", "search_data", "spent")


@dataclass(frozen=True)
class SpentSoFar:
    """A read-only copy of what the run has been charged (the meter's own counters stay out of reach)."""

    evals: int
    cost_s: float
    epochs: float


class _Failure:
    """A call's exception, stripped of traceback and context, to be raised on the method's side."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _clean(exc: BaseException) -> BaseException:
    """The same kind of error without frames: user errors and BudgetExhausted keep their class and
    message; an unexpected error keeps its class where it can and carries its traceback as text."""
    args = tuple(a if isinstance(a, (str, int, float, bool, type(None))) else str(a) for a in exc.args)
    expected = isinstance(exc, (HarnessError, BudgetExhausted))
    try:
        new = exc.__class__(*args)
    except Exception:  # noqa: BLE001 - an exception class with its own constructor
        new = HarnessError(f"{exc.__class__.__name__}: {exc}")
    if not expected:
        new.add_note("".join(traceback.format_exception(exc)).rstrip())
    return new


def _hidden(ops: Mapping[str, Callable[..., Any]], out: list[Any]) -> Callable[[Any], Any]:
    """A key function whose comparison runs ``ops[name](*args)`` and leaves the answer (or a
    ``_Failure``) in ``out[0]``; the calls themselves live only inside the C wrapper."""
    table = dict(ops)

    def call(request: Any, _unused: Any) -> int:
        fn = table.get(request[0]) if request.__class__ is tuple and request and request[0].__class__ is str \
            else None
        if fn is None:
            out[0] = _Failure(HarnessError(f"the evaluator offers no call {request!r:.60}"))
            return 0
        try:
            out[0] = fn(*request[1:])
        except BaseException as exc:  # noqa: BLE001 - raised again on the method's side, without frames
            out[0] = _Failure(_clean(exc))
        return 0

    return functools.cmp_to_key(call)


def _hidden_one(fn: Callable[..., Any], out: list[Any]) -> Callable[[Any], Any]:
    """``_hidden`` for one call (``evaluate``, the per-query hot path): no look-up by name."""

    def call(args: Any, _unused: Any) -> int:
        try:
            out[0] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again on the method's side, without frames
            out[0] = _Failure(_clean(exc))
        return 0

    return functools.cmp_to_key(call)


class SealedEvaluator:
    """The method's evaluator: ``evaluate``, ``feasible``, ``charge``, ``observe``, ``submit``,
    ``submit_model``, ``search_data``, the read-only ``space``/``fidelities``/``default_fidelity``/
    ``budget``/``constraint``, and ``spent``/``remaining()``/``fits()`` as copies."""

    __slots__ = ("_ekey", "_ezero", "_key", "_out", "_zero", "budget", "constraint", "default_fidelity",
                 "fidelities", "space")

    def __init__(self, ops: Mapping[str, Callable[..., Any]], space: SearchSpace, fidelities: tuple[float, ...],
                 default_fidelity: float, budget: Budget, constraint: Constraint | None) -> None:
        out: list[Any] = [None]  # the last answer (only ever what the method asked for)
        key, ekey = _hidden(ops, out), _hidden_one(ops["evaluate"], out)
        for name, value in (("_key", key), ("_zero", key(None)), ("_ekey", ekey), ("_ezero", ekey(None)),
                            ("_out", out), ("space", space),
                            ("fidelities", tuple(fidelities)), ("default_fidelity", float(default_fidelity)),
                            ("budget", budget), ("constraint", constraint)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the evaluator is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the evaluator is read-only (cannot delete {name!r})")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("the evaluator cannot be pickled or copied")

    def __repr__(self) -> str:
        return f"<SealedEvaluator {self.space.name} budget={self.budget}>"

    def _call(self, *request: Any) -> Any:
        self._key(request) < self._zero  # noqa: B015 - the comparison makes the call
        out = self._out[0]
        if out.__class__ is _Failure:
            raise out.exc
        return out

    # queries
    def evaluate(self, codes: np.ndarray, fidelity: float | None = None) -> Any:
        """Validation values for a batch of architectures (n, n_dims) or one (n_dims,); raises
        BudgetExhausted, after charging the rows that fit, when a row would overspend."""
        self._ekey((codes, fidelity)) < self._ezero  # noqa: B015 - the hot path: its own key, inlined
        out = self._out[0]
        if out.__class__ is _Failure:
            raise out.exc
        return out

    def feasible(self, codes: np.ndarray) -> np.ndarray:
        """Free check: which rows satisfy the run's constraint (all of them when there is none)."""
        return self._call("feasible", codes)

    def search_data(self) -> Any:
        """Train and validation data for weight-sharing methods, when the task offers them."""
        return self._call("search_data")

    # charges and results
    def charge(self, seconds: float, epochs: float = 0.0) -> None:
        """Charge the method's own training; the charge that overspends ends the search."""
        self._call("charge", seconds, epochs)

    def observe(self, codes: np.ndarray, val: float, seconds: float, epochs: float) -> None:
        """Charge a candidate the method trained itself and record the value it measured."""
        self._call("observe", codes, val, seconds, epochs)

    def submit(self, codes: np.ndarray) -> None:
        """Record the architecture a one-shot method returns (the harness looks up its report)."""
        self._call("submit", codes)

    def submit_model(self, codes: np.ndarray, model: Any, recipe: Any) -> None:
        """Hand over the final model; the task retrains and tests it, the numbers go to the record."""
        self._call("submit_model", codes, model, recipe)

    # the budget, read-only
    @property
    def spent(self) -> SpentSoFar:
        """What has been charged so far (a copy: assigning to it changes nothing)."""
        return self._call("spent")

    def remaining(self) -> SpentSoFar:
        """What is left on each axis (``inf`` where the budget has no limit)."""
        s = self.spent
        b = self.budget
        inf = float("inf")
        return SpentSoFar(
            evals=(b.max_evals - s.evals) if b.max_evals is not None else inf,  # type: ignore[arg-type]
            cost_s=(b.max_cost_s - s.cost_s) if b.max_cost_s is not None else inf,
            epochs=(b.max_epochs - s.epochs) if b.max_epochs is not None else inf)

    def fits(self, seconds: float = 0.0, epochs: float = 0.0, evals: int = 0) -> bool:
        """Whether charging this much more would stay within the budget."""
        s = self.spent
        return self.budget.fits(s.evals + evals, s.cost_s + seconds, s.epochs + epochs)


def seal(meter: MeteredEvaluator) -> SealedEvaluator:
    """The sealed view of a harness-side evaluator, for one run in this process."""
    spent = meter.spent

    def snapshot() -> SpentSoFar:
        return SpentSoFar(spent.evals, spent.cost_s, spent.epochs)

    ops: dict[str, Callable[..., Any]] = {name: getattr(meter, name) for name in OPS if name != "spent"}
    ops["spent"] = snapshot
    return SealedEvaluator(ops, meter.space, meter.fidelities, meter.default_fidelity, meter.budget,
                           meter.constraint)


# attributes the harness writes about a run; a method's report_attrs() may add keys, never these
RESERVED_ATTRS = frozenset({"schema", "schema_version", "status", "ended", "spent_evals", "spent_cost_s",
                            "spent_epochs", "infeasible_queries", "isolated", "spent_wall_s", "sim_worker",
                            "sim_submit_s", "sim_workers_used"})


def method_attrs(own: Mapping[str, Any], reported: Any, method: str) -> dict[str, Any]:
    """The keys of a method's ``report_attrs()`` answer that may be written next to ``own`` (the
    harness's attributes): a key the harness writes is dropped with a warning naming it, because
    the run itself is sound and only the method's extra description clashes."""
    if reported is None:
        return {}
    if not isinstance(reported, Mapping):
        log.warning("%s.report_attrs() returned %s, not a dict; ignored", method, type(reported).__name__)
        return {}
    out: dict[str, Any] = {}
    for key, value in reported.items():
        if not isinstance(key, str) or not key:
            log.warning("%s.report_attrs(): key %r is not a name; dropped", method, key)
        elif key in own or key in RESERVED_ATTRS:
            log.warning("%s.report_attrs(): %r is the harness's own attribute; dropped", method, key)
        else:
            out[key] = value
    return out
