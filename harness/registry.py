"""Name -> factory registries filled by decorators at import time (write-once, no run state).

What a registry holds comes from three places, all imported by ``discover``: the public top-level
modules of its own package (``methods/``, ``benchmarks/``, ``harness/executors/``), the entry points
of its group that installed distributions declare (``nas_harness.methods``, ``nas_harness.benchmarks``,
``nas_harness.executors``), and modules named with ``--plugin`` (``load_plugins``). A name is a plugin
when its object was not defined inside the registry's own package (``is_plugin``); ``compare`` seals
plugin methods in a process of their own by default (harness/runner.py).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from harness.errors import HarnessError, UnknownNameError

T = TypeVar("T")

# the generic top-level packages the harness installs beside ``harness`` (see check_packages)
OWN_PACKAGES = ("methods", "benchmarks", "reports")


class PluginError(HarnessError):
    """A plugin that cannot be imported or registers a name twice."""


class ShadowedPackageError(HarnessError):
    """One of the harness's top-level packages resolves to another folder of the same name."""


class Registry(Generic[T]):
    """Holds factories by name; an unknown name raises with close matches."""

    def __init__(self, kind: str, package: str, group: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self.group = group  # entry-point group of installed plugins
        self._items: dict[str, T] = {}
        self._origins: dict[str, tuple[str, str]] = {}  # name -> (distribution, version) of its entry point
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                first = getattr(self._items[name], "__module__", "?")
                raise ValueError(f"{self.kind} '{name}' is registered twice (by {first} and by "
                                 f"{getattr(obj, '__module__', '?')})")
            self._items[name] = obj
            return obj

        return deco

    def discover(self) -> None:
        """Import every public top-level module of the package once, so their decorators run, then
        the installed plugins of the registry's entry-point group.

        One rule and no exceptions: registered things are the package's public modules; its
        subpackages (e.g. ``benchmarks/spaces/``) and private modules (``_x``) hold their parts."""
        if self._discovered:
            return
        check_packages([self.package.split(".")[0]])
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_") and not info.ispkg:
                importlib.import_module(f"{self.package}.{info.name}")
        self._discovered = True  # before the entry points: a plugin may look names up as it loads
        if self.group:
            for ep in importlib.metadata.entry_points(group=self.group):
                self._load_entry_point(ep)

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint) -> None:
        """``name = "module"`` registers itself on import; ``name = "module:attr"`` registers attr
        under the entry point's name unless importing the module already did."""
        dist = getattr(ep.dist, "name", None) or "an installed distribution"
        where = f"{self.group} entry point {ep.name!r} ({ep.value}, from {dist})"
        before = set(self._items)
        try:
            obj = ep.load()
            if ep.attr and ep.name not in self._items:
                self.register(ep.name)(obj)
        except ValueError as exc:
            raise PluginError(f"{where}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a broken plugin is one line naming it
            raise PluginError(f"{where} failed to import: {type(exc).__name__}: {exc}") from None
        if ep.dist is not None:
            for name in set(self._items) - before:
                self._origins[name] = (ep.dist.name, ep.dist.version)

    def origin(self, name: str) -> tuple[str, str] | None:
        """(distribution, version) of the installed package whose entry point registered ``name``."""
        self.discover()
        return self._origins.get(name)

    def is_plugin(self, name: str) -> bool:
        """Whether ``name``'s object comes from outside the registry's own package (an entry point
        or a ``--plugin`` module), by where it was defined."""
        module = str(getattr(self.get(name), "__module__", ""))
        return not (module == self.package or module.startswith(self.package + "."))

    def module_of(self, name: str) -> str:
        """The module that defined ``name``'s object."""
        return str(getattr(self.get(name), "__module__", ""))

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


def load_plugins(modules: Iterable[str]) -> list[str]:
    """Import each ``--plugin`` module (a dotted name importable from ``sys.path``) so its
    ``@METHODS.register`` / ``@BENCHMARKS.register`` decorators run; returns the names imported.
    The registries discover their own packages first, so a plugin reusing a built-in name fails
    here, naming both."""
    names = [m.strip() for m in modules if m and m.strip()]
    for registry in (METHODS, BENCHMARKS, EXECUTORS):
        if names:
            registry.discover()
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                raise PluginError(f"--plugin {name}: no module named {exc.name!r} on sys.path "
                                  "(install the plugin's package or add its folder to PYTHONPATH)") from None
            raise PluginError(f"--plugin {name} failed to import: ModuleNotFoundError: {exc}") from None
        except ValueError as exc:  # a name registered twice
            raise PluginError(f"--plugin {name}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a broken plugin is one line naming it
            raise PluginError(f"--plugin {name} failed to import: {type(exc).__name__}: {exc}") from None
    return names


def _harness_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shadowing(packages: Iterable[str] = OWN_PACKAGES) -> dict[str, str]:
    """Each of the harness's top-level ``packages`` that resolves to another folder than the one
    beside ``harness`` -> the folder it resolves to (found without importing it when not yet imported)."""
    root = _harness_root()
    out: dict[str, str] = {}
    for name in packages:
        mod = sys.modules.get(name)
        if mod is not None:
            locations: list[str] = list(getattr(mod, "__path__", []) or [])
            origin = getattr(mod, "__file__", None)
        else:
            spec = importlib.util.find_spec(name)
            if spec is None:
                continue  # absent: importing it fails with Python's own message
            locations = list(spec.submodule_search_locations or [])
            origin = spec.origin
        own = root / name
        if not any(Path(p).resolve() == own for p in locations):
            out[name] = str(Path(origin).parent if origin else (locations[0] if locations else name))
    return out


def check_packages(packages: Iterable[str] = OWN_PACKAGES) -> None:
    """Refuse, in one line naming it, a folder that shadows one of the harness's packages: the
    wheel installs ``methods``, ``benchmarks`` and ``reports`` at the top level, and a user's own
    package of that name earlier on ``sys.path`` (e.g. the current folder under ``python -m``)
    would otherwise make ``list`` show nothing of the harness's."""
    found = shadowing([p for p in packages if p in OWN_PACKAGES])
    if found:
        name, where = next(iter(found.items()))
        raise ShadowedPackageError(
            f"package '{name}' is imported from {where}, which shadows nas-harness's own "
            f"({_harness_root() / name}); rename that package, run from another folder, or use the "
            "`nas-harness` command (it does not put the current folder first on sys.path)")


def unshadow_cwd() -> None:
    """Under ``python -m harness`` the current folder comes first on ``sys.path``; when a package
    there shadows one of the harness's (and none is imported yet), move that entry after the rest,
    as the ``nas-harness`` script has it, so the harness's packages win and the folder's own modules
    (a ``--plugin``) stay importable."""
    if not sys.path or any(name in sys.modules for name in OWN_PACKAGES):
        return
    here = Path(sys.path[0] or ".").resolve()
    if here != _harness_root() and any(Path(where).resolve().parent == here for where in shadowing().values()):
        sys.path.append(sys.path.pop(0))


def describe_plugin(registry: Registry[Any], name: str) -> dict[str, Any]:
    """Run attributes naming where a plugin came from: its module and, when installed, its
    distribution and version (descriptive, not part of a run's identity): the entry point's, else
    a distribution named as the module's top-level package (one lookup, not a scan of them all)."""
    module = registry.module_of(name)
    out: dict[str, Any] = {"plugin_module": module}
    origin = registry.origin(name)
    if origin is None:
        try:
            dist = importlib.metadata.distribution(module.split(".")[0])
            origin = (dist.name, dist.version)
        except importlib.metadata.PackageNotFoundError:
            return out
    out["plugin_distribution"], out["plugin_version"] = origin
    return out


METHODS: Registry = Registry("method", "methods", "nas_harness.methods")
BENCHMARKS: Registry = Registry("benchmark", "benchmarks", "nas_harness.benchmarks")
EXECUTORS: Registry = Registry("executor", "harness.executors", "nas_harness.executors")
