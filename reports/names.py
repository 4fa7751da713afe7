"""Display names for paper tables and figures, and the order datasets are shown in.

Internal names (``regularized_evolution``) stay in files and CSV; tables and figures show the
paper's abbreviations, which ``report --names`` / ``compare`` callers can override.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.errors import HarnessError

METHOD_NAMES = {
    "random_search": "RS", "regularized_evolution": "REA", "reinforce": "REINFORCE",
    "bohb-nb201": "BOHB", "bohb": "BOHB (multi-fidelity)", "hyperband": "Hyperband",
    "local_search": "Local search", "predictor_evolution": "Predictor evolution", "pnas": "PNAS",
    "rsps": "RSPS", "darts_v1": "DARTS-V1", "darts_v2": "DARTS-V2", "gdas": "GDAS", "setn": "SETN", "enas": "ENAS",
}
DATASET_NAMES = {"cifar10-valid": "CIFAR-10", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
                 "ImageNet16-120": "ImageNet16-120"}
# the NB201 paper's column order; other datasets follow in the order they are first seen
DATASET_ORDER = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


class NamesError(HarnessError):
    """A malformed --names mapping."""


def parse_names(text: str | None) -> dict[str, str]:
    """'random_search=Random,reinforce=RL' -> {'random_search': 'Random', 'reinforce': 'RL'}."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise NamesError(f"--names takes NAME=DISPLAY pairs separated by commas, got {item.strip()!r}")
        out[key.strip()] = val.strip()
    return out


def display(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """The display name of a method or dataset: an override, the paper's name, or ``name``."""
    if overrides and name in overrides:
        return overrides[name]
    return METHOD_NAMES.get(name) or DATASET_NAMES.get(name) or name


def order_datasets(labels: Iterable[str], first: Iterable[str] = ()) -> list[str]:
    """``labels`` (dataset or benchmark/dataset) in a study's order ``first``, then the paper's
    order, then as first seen."""
    labels = list(dict.fromkeys(labels))
    prefs = [*first, *DATASET_ORDER]

    def key(label: str) -> tuple[int, int]:
        ds = label.rsplit("/", 1)[-1]
        return (prefs.index(ds) if ds in prefs else len(prefs), labels.index(label))

    return sorted(labels, key=key)
