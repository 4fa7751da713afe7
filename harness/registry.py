"""Name -> factory registries filled by decorators at import time (write-once, no run state)."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, Iterator, TypeVar

from harness.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Holds factories by name; an unknown name raises with close matches."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def discover(self) -> None:
        """Import every public top-level module of the package once, so their decorators run.

        One rule and no exceptions: registered things are the package's public modules; its
        subpackages (e.g. ``benchmarks/spaces/``) and private modules (``_x``) hold their parts."""
        if self._discovered:
            return
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_") and not info.ispkg:
                importlib.import_module(f"{self.package}.{info.name}")
        self._discovered = True

    def get(self, name: str) -> T:
        self.discover()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError.of(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


METHODS: Registry = Registry("method", "methods")
BENCHMARKS: Registry = Registry("benchmark", "benchmarks")
EXECUTORS: Registry = Registry("executor", "harness.executors")
