"""One exception tree so the CLI can print any user error as one line and exit 2."""
from __future__ import annotations

import difflib
from typing import Iterable


class HarnessError(Exception):
    """A problem with the user's input or data; the message is one line naming it."""


class UnknownNameError(HarnessError, KeyError):
    """An unknown method, benchmark, dataset or preset name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""

    @classmethod
    def of(cls, kind: str, name: str, known: Iterable[str]) -> "UnknownNameError":
        """``unknown <kind> '<name>' (did you mean '<closest>'?); known: ...``."""
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return cls(f"unknown {kind} '{name}'{hint}; known: {', '.join(known)}")


class ArchError(HarnessError, ValueError):
    """A malformed architecture string or code array."""


class DataError(HarnessError):
    """A data file or directory that is missing, corrupt, or lacks a field."""


class BudgetError(HarnessError, ValueError):
    """A budget that cannot be metered (zero, negative, or no limit at all)."""


class ResumeError(HarnessError):
    """A trajectory file that does not match the run being resumed."""


class BudgetExhausted(Exception):
    """Raised by the evaluator when the next evaluation would overspend; ends a search."""
