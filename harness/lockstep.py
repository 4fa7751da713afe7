"""Lockstep: under torchrun every rank runs the same study, so each training query is one DDP job.

Anything that decides control flow (which runs are done, what a resumed run replays, train-cache
hits, the measured seconds charged to the budget) is decided on rank 0 and broadcast, so every
rank spends its budget identically and meets every collective. Only rank 0 writes files.
Torch is imported only by ``harness.distributed`` and only when there is more than one process.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from harness.distributed import Dist, broadcast_object, from_env, init
from harness.errors import HarnessError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Lockstep:
    """Agreement on rank 0's answers; for one process every call is a plain call."""

    dist: Dist = field(default_factory=Dist)

    @classmethod
    def join(cls) -> "Lockstep":
        """The job torchrun launched (joining its process group), or a single process."""
        d = from_env()
        return cls(init() if d.active else d)

    @property
    def main(self) -> bool:
        return self.dist.main

    @property
    def active(self) -> bool:
        return self.dist.active

    def share(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 only and hand its result to every rank. An exception on rank 0 is
        raised on every rank (others get a HarnessError naming it), so no rank waits forever."""
        if not self.dist.active:
            return fn()
        payload: Any = None
        error: BaseException | None = None
        if self.dist.main:
            try:
                payload = ("ok", fn())
            except BaseException as exc:  # noqa: BLE001 - re-raised below, on every rank
                error, payload = exc, ("error", f"{exc.__class__.__name__}: {exc}")
        kind, value = broadcast_object(payload, self.dist)
        if kind == "error":
            if error is not None:
                raise error
            raise HarnessError(f"rank 0 failed: {value}")
        return value

    def floats(self, *values: float) -> tuple[float, ...]:
        """Rank 0's numbers on every rank (e.g. the measured seconds a query is charged)."""
        return tuple(float(v) for v in self.share(lambda: values))


def ddp_capable(factory: F) -> F:
    """Mark a benchmark factory whose tasks answer queries collectively under torchrun (DDP training,
    rank-0 cache decisions); `compare` runs every other benchmark on rank 0 alone."""
    factory.lockstep = True  # type: ignore[attr-defined]
    return factory


def is_ddp_capable(factory: Any) -> bool:
    return bool(getattr(factory, "lockstep", False))
