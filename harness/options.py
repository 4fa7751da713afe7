"""Typed, validated options: method ``Config`` fields and benchmark factory keywords, checked when a
study is built so a bad value is one line naming it, before any worker starts.

Types come from the annotations (``int``, ``float``, ``bool``, ``str``, ``X | None``, ``int | str``,
``tuple[...]``, ``dict``, ``Literal[...]``); ranges and choices are declared next to a Config field
with :func:`option`::

    @dataclass(frozen=True)
    class Config:
        population: int = option(10, ge=1)
        mutation_rate: float = option(0.1, ge=0.0, le=1.0)
        predictor: str = option("gnn", choices=("gnn", "mlp"))

and a benchmark factory's keywords are its ``--option``s, their bounds in ``Annotated``::

    def make(dataset: str, *, data=None, cache=None, C: Annotated[int | None, Bounds(ge=1)] = None): ...

Values arrive either as text (command-line flags: ``"20"``, ``"true"``, ``"none"``, ``"[0.5, 0.9]"``)
or already typed (TOML study files, Python callers). Typed values are taken strictly: a float for an
int field is an error, an int for a float field is fine.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from harness.errors import HarnessError, UnknownNameError

_NONE_WORDS = ("none", "null")
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


class OptionError(HarnessError, ValueError):
    """An option value of the wrong type or outside its allowed range."""


@dataclass(frozen=True)
class Bounds:
    """Allowed values of one option: numeric limits and/or a fixed set of choices."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None

    def allows(self, value: Any) -> bool:
        """True when ``value`` (or each item of a tuple) is within bounds; None is allowed (the type
        says whether None is)."""
        items = value if isinstance(value, tuple) else (value,)
        return all(self._allows_one(v) for v in items)

    def _allows_one(self, value: Any) -> bool:
        if value is None:
            return True
        if self.choices is not None and value not in self.choices:
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                    and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        return True

    def describe(self) -> str:
        """E.g. ``>= 1``, ``in [0, 1]``, ``one of gnn, mlp``; empty when unbounded."""
        parts = []
        if self.choices is not None:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        low = (f"[{_num(self.ge)}" if self.ge is not None else f"({_num(self.gt)}" if self.gt is not None else None)
        high = (f"{_num(self.le)}]" if self.le is not None else f"{_num(self.lt)})" if self.lt is not None else None)
        if low and high:
            parts.append(f"in {low}, {high}")
        elif low:
            parts.append(f"{'>=' if self.ge is not None else '>'} {low[1:]}")
        elif high:
            parts.append(f"{'<=' if self.le is not None else '<'} {high[:-1]}")
        return " and ".join(parts)


def _num(x: float | None) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def option(default: Any = dataclasses.MISSING, *, ge: float | None = None, gt: float | None = None,
           le: float | None = None, lt: float | None = None, choices: tuple[Any, ...] | None = None) -> Any:
    """A dataclass field with its allowed values, so a wrong ``--set`` fails at study build, naming them."""
    return field(default=default, metadata={"bounds": Bounds(ge, gt, le, lt, None if choices is None else tuple(choices))})


@dataclass(frozen=True)
class Spec:
    """One option: its name, annotation, bounds and default (``dataclasses.MISSING`` when required)."""

    name: str
    hint: Any
    bounds: Bounds
    default: Any = dataclasses.MISSING


@functools.cache  # a pure function of the class; it runs for every run, and type hints cost ~0.2 ms
def config_specs(cls: type) -> dict[str, Spec]:
    """The options of a Config dataclass, from its fields' annotations and :func:`option` metadata
    (read-only: the same dict is returned for every call with one class)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        out[f.name] = Spec(f.name, hints.get(f.name, Any), f.metadata.get("bounds", Bounds()), default)
    return out


def factory_specs(factory: Callable[..., Any], skip: tuple[str, ...] = ("data", "cache")) -> dict[str, Spec]:
    """The keyword options of a benchmark factory (after the dataset), from its signature; a keyword
    annotated ``Annotated[T, Bounds(...)]`` has those bounds."""
    fn = inspect.unwrap(factory)
    hints = typing.get_type_hints(fn, include_extras=True)
    params = list(inspect.signature(fn).parameters.values())[1:]  # the first is the dataset
    out = {}
    for p in params:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in skip:
            continue
        default = dataclasses.MISSING if p.default is p.empty else p.default
        hint = hints.get(p.name, Any if default in (dataclasses.MISSING, None) else type(default))
        bounds = Bounds()
        if typing.get_origin(hint) is Annotated:  # ``Annotated[int | None, Bounds(ge=1)]``
            bounds = next((m for m in hint.__metadata__ if isinstance(m, Bounds)), bounds)
            hint = typing.get_args(hint)[0]
        out[p.name] = Spec(p.name, hint, bounds, default)
    return out


def accepts_more(factory: Callable[..., Any]) -> bool:
    """True when the factory takes ``**options`` it checks itself."""
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(inspect.unwrap(factory)).parameters.values())


def validate(specs: Mapping[str, Spec], values: Mapping[str, Any], where: str, *, text: bool = False,
             open_ended: bool = False) -> dict[str, Any]:
    """``values`` coerced to their options' types and checked against their bounds.

    ``where`` is a format string naming one option in errors (``"--set rs.{}"``, ``"--option {}"``);
    ``text`` says the values are command-line strings; ``open_ended`` lets unknown keys through.
    """
    out = {}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            if open_ended:
                out[key] = value
                continue
            close = difflib.get_close_matches(key, list(specs), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = f"options: {', '.join(sorted(specs))}" if specs else "it takes none"
            raise UnknownNameError(f"{where.format(key)}: unknown option{hint}; {known}")
        out[key] = check(spec, value, where.format(key), text=text)
    return out


def check(spec: Spec, value: Any, name: str, *, text: bool = False) -> Any:
    """One value coerced to ``spec``'s type and checked against its bounds; ``name`` heads the error."""
    try:
        got = coerce(value, spec.hint, text=text)
    except ValueError:
        got = dataclasses.MISSING
    if got is dataclasses.MISSING or not spec.bounds.allows(got):
        raise OptionError(f"{name} must be {allowed(spec)}, got {value!r}")
    return got


def coerce(value: Any, hint: Any, *, text: bool = False) -> Any:
    """``value`` as the annotated type; ValueError when it is not one. Text is parsed, typed values
    are taken strictly (bool is no int, a float no int; an int is a fine float)."""
    if hint is Any or hint is object:
        return _json(value) if text else value
    if text and value.strip().startswith('"'):  # a JSON string, e.g. --set m.device='"cpu"'
        unquoted = _json(value.strip())
        if isinstance(unquoted, str):
            value = unquoted
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        if type(None) in args and (value is None or (text and value.strip().lower() in _NONE_WORDS)):
            return None
        for arm in args:
            if arm is not type(None):
                try:
                    return coerce(value, arm, text=text)
                except ValueError:
                    continue
        raise ValueError(value)
    if origin is Literal:
        for choice in args:
            if value == choice or (text and str(choice) == value.strip()):
                return choice
        raise ValueError(value)
    if hint is type(None):
        if value is None or (text and value.strip().lower() in _NONE_WORDS):
            return None
        raise ValueError(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if text and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise ValueError(value)
    if hint is int:
        if text:
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(value)
    if hint is float:
        if text:
            number = float(value.strip())
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ValueError(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    if hint is str:
        if isinstance(value, str):
            return value
        raise ValueError(value)
    if hint is Path or (isinstance(hint, type) and issubclass(hint, Path)):
        if isinstance(value, (str, Path)):
            return Path(value)
        raise ValueError(value)
    if origin is tuple or hint is tuple:
        items = _sequence(value, text)
        if args and args[-1] is not Ellipsis and len(items) != len(args):
            raise ValueError(value)
        arms = [Any] * len(items) if not args else [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        return tuple(coerce(v, a, text=text and isinstance(v, str) and not _parsed(value)) for v, a in zip(items, arms))
    if origin is dict or hint is dict:
        mapping = _json(value) if text else value
        if not isinstance(mapping, dict):
            raise ValueError(value)
        return dict(mapping)
    if origin is list or hint is list:
        return list(_sequence(value, text))
    raise ValueError(f"unsupported option type {hint!r}")


def _parsed(value: Any) -> bool:
    """True when a text value was a JSON list (its items are typed, not text)."""
    return isinstance(value, str) and value.strip().startswith("[")


def _sequence(value: Any, text: bool) -> list[Any]:
    if text:
        stripped = value.strip()
        if stripped.startswith("["):
            parsed = _json(stripped)
            if not isinstance(parsed, list):
                raise ValueError(value)
            return parsed
        return [s.strip() for s in stripped.split(",") if s.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(value)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def allowed(spec: Spec) -> str:
    """What an option accepts, in words: ``an integer >= 1``, ``one of gnn, mlp``,
    ``a list of strings, each one of a, b``, ``an integer or one of auto (numbers >= 1)``."""
    b = spec.bounds
    words = describe(spec.hint)
    origin = typing.get_origin(spec.hint)
    plain = dataclasses.replace(b, choices=None).describe()
    if b.choices is not None:
        listed = ", ".join(str(c) for c in b.choices)
        sequence = origin in (tuple, list) or spec.hint in (tuple, list)
        return f"{words}, each one of {listed}" if sequence else f"one of {listed}"
    if not plain:
        return words
    if origin is typing.Union or origin is types.UnionType:
        arms = [a for a in typing.get_args(spec.hint) if a is not type(None)]
        if len(arms) == 1:  # ``int | None``: an integer >= 1 or none
            return f"{describe(arms[0])} {plain} or none"
        return f"{words} (numbers {plain})"
    if origin in (tuple, list):
        return f"{words}, each {plain}"
    return f"{words} {plain}"


def describe(hint: Any) -> str:
    """A type in words for errors: ``an integer``, ``a number or none``, ``a list of 2 numbers``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        words = [describe(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or none" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin is tuple or hint is tuple or origin is list or hint is list:
        if not args:
            return "a list"
        if args[-1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        if len(set(args)) == 1:
            return f"a list of {len(args)} {_plural(args[0])}"
        return f"a list of ({', '.join(describe(a) for a in args)})"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "a string",
            dict: "a table (JSON object)", type(None): "none"}.get(
        origin or hint, "a path" if hint is Path else getattr(hint, "__name__", str(hint)))


def _plural(hint: Any) -> str:
    return {bool: "booleans", int: "integers", float: "numbers", str: "strings"}.get(hint, describe(hint))
