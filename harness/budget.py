"""The budget a run may spend, metered by the harness (never by the method)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import BudgetError

# The largest limit accepted on each axis. Far above any study (NB201's paper budget is 12,000 charged
# seconds, ~100 evaluations), yet small enough that a run ends: a limit such as 1e308 is never reached,
# so the search would run and write rows until the disk is full. Raise one here if a study needs it.
CEILINGS: dict[str, float] = {"max_evals": 1_000_000, "max_cost_s": 1e7, "max_epochs": 1e6}

BUDGET_ATTRS = ("budget_max_evals", "budget_max_cost_s", "budget_max_epochs")  # as runs store them


def check_limit(key: str, value: object, what: str | None = None) -> int | float:
    """One budget limit, checked: an integer (evaluations) or a finite number, > 0 and at most its
    ceiling in CEILINGS; ``what`` names it in the error (default ``budget <key>``)."""
    what = what or f"budget {key}"
    ceiling = CEILINGS[key]
    integral = key == "max_evals"
    ok_type = isinstance(value, int) if integral else isinstance(value, (int, float))
    if not ok_type or isinstance(value, bool) or not math.isfinite(value) or not 0 < value <= ceiling:
        kind = "an integer" if integral else "a finite number"
        raise BudgetError(f"{what} must be {kind} in (0, {ceiling:g}], got {value!r}")
    return value


@dataclass(frozen=True)
class Budget:
    """Limits on evaluations, charged seconds and trained epochs; None means no limit on that axis."""

    max_evals: int | None = None
    max_cost_s: float | None = None
    max_epochs: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_evals", "max_cost_s", "max_epochs"):
            value = getattr(self, name)
            if value is not None:
                check_limit(name, value)
        if self.max_evals is None and self.max_cost_s is None and self.max_epochs is None:
            raise BudgetError("a budget needs at least one limit (evaluations, seconds or epochs)")

    def fits(self, evals: int, cost_s: float, epochs: float) -> bool:
        """True when spending up to these totals stays within every limit."""
        return (
            (self.max_evals is None or evals <= self.max_evals)
            and (self.max_cost_s is None or cost_s <= self.max_cost_s)
            and (self.max_epochs is None or epochs <= self.max_epochs)
        )

    def as_attrs(self) -> dict[str, float]:
        """Budget fields for HDF5 attributes (-1 marks 'no limit'), keyed as ``BUDGET_ATTRS``."""
        return {
            "budget_max_evals": -1 if self.max_evals is None else self.max_evals,
            "budget_max_cost_s": -1.0 if self.max_cost_s is None else float(self.max_cost_s),
            "budget_max_epochs": -1.0 if self.max_epochs is None else float(self.max_epochs),
        }


@dataclass
class Spent:
    """What a run has been charged so far."""

    evals: int = 0
    cost_s: float = 0.0
    epochs: float = 0.0
