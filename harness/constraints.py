"""Resource constraints any method runs under: the harness answers infeasible archs free, with NaN.

A constraint reads one resource column the task provides (``Task.resource(codes, name)``), e.g.
``params_m<=0.5``, ``flops_m<=100`` or ``latency_ms:pixel3<=12`` (NB201 latency per device).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import HarnessError

_SPEC = re.compile(r"^\s*([A-Za-z_][\w]*(?::[\w.\-]+)?)\s*<=\s*([0-9.eE+\-]+)\s*$")


class ConstraintError(HarnessError, ValueError):
    """A constraint that cannot be parsed or that the task cannot measure."""


@dataclass(frozen=True)
class Constraint:
    """``resource <= limit``; ``resource`` is a name the task's ``resource`` method knows."""

    resource: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        """Parse ``NAME<=VALUE`` (e.g. ``latency_ms:pixel3<=12``)."""
        m = _SPEC.match(text or "")
        if not m:
            raise ConstraintError(f"constraint must look like RESOURCE<=VALUE (e.g. params_m<=0.5), got {text!r}")
        try:
            limit = float(m.group(2))
        except ValueError:
            raise ConstraintError(f"constraint limit must be a number, got {m.group(2)!r}") from None
        return cls(m.group(1), limit)

    def __str__(self) -> str:
        return f"{self.resource}<={self.limit:g}"

    def feasible(self, task: Any, codes: np.ndarray) -> np.ndarray:
        """Boolean per row of ``codes``; a task without resources, or a NaN value, is an error."""
        measure = getattr(task, "resource", None)
        if measure is None:
            raise ConstraintError(f"task {getattr(task, 'name', task)!r} offers no resources to constrain")
        values = np.asarray(measure(np.atleast_2d(codes), self.resource), dtype=float)
        if np.isnan(values).any():
            raise ConstraintError(f"task {task.name!r} has no {self.resource} value for some archs; "
                                  "choose another resource")
        return values <= self.limit


def constraint_from(value: "Constraint | str | None") -> Constraint | None:
    """Accept a Constraint, its text form, or None (no constraint)."""
    if value is None or isinstance(value, Constraint):
        return value
    return Constraint.parse(str(value))
