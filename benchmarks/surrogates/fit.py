"""Fit a surrogate: a bootstrap ensemble of gradient-boosted trees per target, its spread calibrated
on a split of its own, and held-out figures (Spearman, Kendall tau, interval coverage) measured on a
third split the models and the calibration never saw.

Why this noise model: an ensemble's spread alone is too narrow (members share most of their data),
so the std is ``sqrt((a * spread)^2 + b^2)`` with (a, b) fitted by Gaussian likelihood on the
calibration split; the coverage of the 50/80/90/95 % intervals on the test split says how honest it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.surrogates.features import encode
from benchmarks.surrogates.libs import xgboost
from benchmarks.surrogates.model import Ensemble, SurrogateModel
from harness import __version__
from harness.atomic import array_digest
from harness.errors import DataError

LEVELS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class TrainingData:
    """Architectures and their measured targets (NaN where a target is unknown)."""

    space: str
    codes: np.ndarray                # (n, n_dims)
    targets: dict[str, np.ndarray]   # val and cost_s required; report_valid, report_test optional
    fidelity: float                  # the fidelity ``val`` and ``cost_s`` were measured at
    source: str                      # what they came from, in words
    protocol: str = ""               # what val / cost / report mean
    dataset: str = ""                # the dataset the targets were measured on

    def fingerprint(self) -> str:
        return array_digest({"codes": np.asarray(self.codes, np.int64),
                             **{f"t_{k}": np.asarray(v, np.float64) for k, v in self.targets.items()}})


@dataclass(frozen=True)
class FitSettings:
    members: int = 5
    trees: int = 300
    depth: int = 6
    eta: float = 0.08
    holdout: float = 0.15   # fraction for the test split, and again for the calibration split
    seed: int = 0
    threads: int = 1  # OpenMP threads spin against each other on a shared machine: one is faster there


def _split(n: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = np.random.default_rng([seed, 1]).permutation(n)
    k = max(2, int(round(n * frac)))
    if n - 2 * k < 4:
        raise DataError(f"{n} architectures are too few to fit a surrogate with held-out splits")
    return perm[2 * k:], perm[k:2 * k], perm[:k]  # train, calibration, test


def _members(x: np.ndarray, y: np.ndarray, s: FitSettings, salt: int) -> list[bytes]:
    xgb = xgboost()
    out = []
    for k in range(s.members):
        rng = np.random.default_rng([s.seed, salt, k])
        boot = rng.integers(0, len(x), len(x)) if s.members > 1 else np.arange(len(x))
        params = {"max_depth": s.depth, "eta": s.eta, "subsample": 0.8, "colsample_bytree": 0.8,
                  "min_child_weight": 1.0, "objective": "reg:squarederror", "tree_method": "hist",
                  "seed": int(rng.integers(0, 2**31 - 1)), "nthread": s.threads}
        booster = xgb.train(params, xgb.DMatrix(x[boot], label=y[boot]), num_boost_round=s.trees)
        out.append(bytes(booster.save_raw("ubj")))
    return out


def _calibrate(resid: np.ndarray, spread: np.ndarray) -> tuple[float, float]:
    """(scale, floor) minimising the Gaussian negative log likelihood of the residuals."""
    from scipy.optimize import minimize

    def nll(p: np.ndarray) -> float:
        var = (math.exp(p[0]) * spread) ** 2 + math.exp(p[1]) ** 2
        return float(np.mean(np.log(var) + resid ** 2 / var))

    sd = float(np.std(resid)) or 1e-6
    best = minimize(nll, np.array([0.0, math.log(sd)]), method="Nelder-Mead",
                    options={"xatol": 1e-4, "fatol": 1e-8, "maxiter": 2000})
    return math.exp(best.x[0]), math.exp(best.x[1])


def _figures(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict[str, Any]:
    from scipy.special import ndtri
    from scipy.stats import kendalltau, spearmanr

    out: dict[str, Any] = {"n": int(len(y)), "rmse": float(np.sqrt(np.mean((y - mean) ** 2)))}
    if len(y) > 2 and np.ptp(y) > 0:
        out["spearman"] = float(spearmanr(y, mean).statistic)
        out["kendall_tau"] = float(kendalltau(y, mean).statistic)
    out["coverage"] = {f"{lv:g}": float(np.mean(np.abs(y - mean) <= ndtri(0.5 + lv / 2) * std)) for lv in LEVELS}
    return out


def fit(data: TrainingData, settings: FitSettings = FitSettings(), progress: Any = None) -> tuple[SurrogateModel, dict]:
    """The fitted model and its report (held-out figures per target)."""
    x_all = encode(data.space, data.codes)
    targets: dict[str, Ensemble] = {}
    report: dict[str, Any] = {"source": data.source, "space": data.space, "n_architectures": int(len(x_all)),
                              "fidelity": data.fidelity, "settings": settings.__dict__, "targets": {}}
    for salt, (name, y_all) in enumerate(sorted(data.targets.items())):
        y_all = np.asarray(y_all, np.float64)
        keep = np.flatnonzero(np.isfinite(y_all))
        if len(keep) < 12:
            continue  # too few values of this target to fit and check it
        tr, ca, te = (keep[i] for i in _split(len(keep), settings.holdout, settings.seed))
        ens = Ensemble(_members(x_all[tr], y_all[tr], settings, salt))
        mean_c, spread_c = ens.spread(x_all[ca])
        ens.scale, ens.floor = _calibrate(y_all[ca] - mean_c, spread_c)
        mean_t, std_t = ens.predict(x_all[te])
        report["targets"][name] = {"train": int(len(tr)), "calibration": int(len(ca)),
                                   "scale": ens.scale, "floor": ens.floor, **_figures(y_all[te], mean_t, std_t)}
        targets[name] = ens
        if progress is not None:
            progress(name, report["targets"][name])
    missing = [t for t in ("val", "cost_s") if t not in targets]
    if missing:
        raise DataError(f"{data.source}: too few finite values of {', '.join(missing)} to fit a surrogate")
    manifest = {"space": data.space, "dataset": data.dataset, "fidelity": data.fidelity, "source": data.source,
                "protocol": data.protocol,
                "training_sha256": data.fingerprint(), "package_version": __version__,
                "heldout": {n: {k: v for k, v in t.items() if k in ("spearman", "kendall_tau", "coverage", "rmse", "n")}
                            for n, t in report["targets"].items()}}
    if data.space == "darts":  # PNAS asks partial cells: say whether the model ever saw one
        from benchmarks.spaces.darts import DartsSpace

        manifest["partial_cells"] = bool((DartsSpace.n_nodes(data.codes) < 4).any())
    report["training_sha256"] = manifest["training_sha256"]
    return SurrogateModel(manifest, targets), report
