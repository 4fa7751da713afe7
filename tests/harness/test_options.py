"""Typed options (harness/options.py): coercion from text and typed values, bounds, messages, and
every method's Config and benchmark factory declaring options the validator understands."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import pytest

from harness.budget import CEILINGS, Budget, check_limit
from harness.errors import BudgetError, HarnessError, UnknownNameError
from harness.options import (
    Bounds,
    OptionError,
    allowed,
    coerce,
    config_specs,
    factory_specs,
    option,
    validate,
)
from harness.registry import BENCHMARKS, METHODS


@dataclasses.dataclass(frozen=True)
class Toy:
    n: int = option(3, ge=1)
    p: float = option(0.5, ge=0, le=1)
    flag: bool = True
    name: str = option("a", choices=("a", "b"))
    betas: tuple[float, float] = option((0.5, 0.9), ge=0, lt=1)
    picks: tuple[str, ...] = option(("x",), choices=("x", "y", "z"))
    cap: int | None = option(None, ge=1)
    beam: int | Literal["auto"] = option("auto", ge=1)
    plain: float = 1.0


SPECS = config_specs(Toy)


@pytest.mark.parametrize("key,text,expected", [
    ("n", "7", 7), ("p", "1", 1.0), ("p", "0.25", 0.25), ("flag", "false", False), ("flag", "YES", True),
    ("name", "b", "b"), ("betas", "0.1,0.2", (0.1, 0.2)), ("betas", "[0.1, 0.2]", (0.1, 0.2)),
    ("picks", "x,z", ("x", "z")), ("picks", '["y"]', ("y",)), ("cap", "none", None), ("cap", "4", 4),
    ("beam", "auto", "auto"), ("beam", "12", 12), ("plain", "-3e2", -300.0), ("name", '"b"', "b"),
    ("beam", '"auto"', "auto"),
])
def test_text_values_take_their_declared_types(key: str, text: str, expected: object) -> None:
    got = validate(SPECS, {key: text}, "--set toy.{}", text=True)[key]
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("key,text,message", [
    ("n", "abc", "--set toy.n must be an integer >= 1, got 'abc'"),
    ("n", "0", "--set toy.n must be an integer >= 1, got '0'"),
    ("n", "2.5", "--set toy.n must be an integer >= 1, got '2.5'"),
    ("p", "1.5", "--set toy.p must be a finite number in [0, 1], got '1.5'"),
    ("p", "nan", "must be a finite number in [0, 1]"),
    ("plain", "inf", "--set toy.plain must be a finite number, got 'inf'"),
    ("flag", "maybe", "--set toy.flag must be true or false, got 'maybe'"),
    ("name", "c", "--set toy.name must be one of a, b, got 'c'"),
    ("betas", "0.1", "--set toy.betas must be a list of 2 numbers, each in [0, 1)"),
    ("betas", "0.1,1.0", "each in [0, 1)"),
    ("picks", "x,w", "--set toy.picks must be a list of strings, each one of x, y, z, got 'x,w'"),
    ("cap", "0", "--set toy.cap must be an integer >= 1 or none, got '0'"),
    ("beam", "best", "--set toy.beam must be an integer or one of auto (numbers >= 1), got 'best'"),
])
def test_bad_text_values_are_one_line_naming_the_flag_and_what_is_allowed(key: str, text: str, message: str) -> None:
    with pytest.raises(OptionError) as err:
        validate(SPECS, {key: text}, "--set toy.{}", text=True)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_typed_values_are_strict_for_int_and_lenient_for_float() -> None:
    assert validate(SPECS, {"p": 1, "n": 2, "betas": [0, 0.5]}, "{}") == {"p": 1.0, "n": 2, "betas": (0.0, 0.5)}
    for key, value in (("n", 2.0), ("n", True), ("flag", 1), ("name", 3), ("p", "0.5"), ("betas", "0,1")):
        with pytest.raises(OptionError, match=f"study: {key} must be"):
            validate(SPECS, {key: value}, "study: {}")


def test_unknown_keys_name_the_close_match_and_the_options() -> None:
    with pytest.raises(UnknownNameError, match=r"--set toy.nn: unknown option \(did you mean 'n'\?\); options: beam, betas,"):
        validate(SPECS, {"nn": "1"}, "--set toy.{}", text=True)
    assert validate(SPECS, {"other": 1}, "{}", open_ended=True) == {"other": 1}


def test_bounds_describe_themselves() -> None:
    assert Bounds(ge=1).describe() == ">= 1" and Bounds(gt=0).describe() == "> 0"
    assert Bounds(ge=0, lt=1).describe() == "in [0, 1)" and Bounds(le=5).describe() == "<= 5"
    assert Bounds().describe() == "" and allowed(SPECS["plain"]) == "a finite number"


@pytest.mark.parametrize("method", METHODS.names())
def test_every_method_config_validates_its_own_defaults(method: str) -> None:
    cls = METHODS.get(method).Config
    specs = config_specs(cls)
    defaults = {k: s.default for k, s in specs.items()}
    assert validate(specs, defaults, f"{method}.{{}}") == defaults  # in bounds, and the types round-trip
    assert cls(**defaults) == cls()


def test_method_configs_declare_bounds_where_they_mean_something() -> None:
    specs = config_specs(METHODS.get("regularized_evolution").Config)
    assert specs["population"].bounds.ge == 1 and specs["sample_size"].bounds.ge == 1
    lr = config_specs(METHODS.get("reinforce").Config)["learning_rate"]
    assert lr.bounds.gt == 0
    assert config_specs(METHODS.get("predictor_evolution").Config)["predictor"].bounds.choices == ("gnn", "mlp")


@pytest.mark.parametrize("name", BENCHMARKS.names())
def test_every_benchmark_factory_declares_typed_keywords(name: str) -> None:
    specs = factory_specs(BENCHMARKS.get(name))
    assert specs and "data" not in specs and "cache" not in specs
    for spec in specs.values():
        assert spec.default is not dataclasses.MISSING
        assert validate(specs, {spec.name: spec.default}, "{}") == {spec.name: spec.default}


def test_factory_bounds_come_from_annotated() -> None:
    def make(dataset: str, *, data: None = None, C: Annotated[int | None, Bounds(ge=1)] = None,
             mode: Literal["a", "b"] = "a") -> None: ...

    specs = factory_specs(make)
    assert set(specs) == {"C", "mode"} and specs["C"].bounds.ge == 1
    with pytest.raises(OptionError, match="--option C must be an integer >= 1 or none, got '0'"):
        validate(specs, {"C": "0"}, "--option {}", text=True)
    with pytest.raises(OptionError, match="--option mode must be one of a, b"):
        validate(specs, {"mode": "c"}, "--option {}", text=True)


def test_coerce_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError):
        coerce("[1", tuple[int, ...], text=True)
    assert coerce('{"epochs": 2}', dict, text=True) == {"epochs": 2}


@pytest.mark.parametrize("key,value", [("max_cost_s", float("inf")), ("max_cost_s", float("nan")),
                                       ("max_cost_s", 1e308), ("max_evals", 2.5), ("max_evals", True),
                                       ("max_epochs", -1.0), ("max_evals", CEILINGS["max_evals"] + 1)])
def test_budget_limits_are_finite_positive_and_under_the_ceiling(key: str, value: object) -> None:
    with pytest.raises(BudgetError, match=f"budget {key} must be"):
        Budget(**{key: value})
    with pytest.raises(HarnessError, match="--flag must be"):
        check_limit(key, value, "--flag")
    assert Budget(**{key: CEILINGS[key]})  # the ceiling itself is allowed
