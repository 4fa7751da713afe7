"""The portable surrogate file: one zip holding a gradient-boosted ensemble per target, the space,
the fidelity, the training-data fingerprint, the noise calibration, the held-out figures and the
format version (``manifest.json`` plus ``members/<target>-<k>.ubj``, XGBoost's own binary format).

A target's prediction is the ensemble mean; its std is ``sqrt((scale * spread)^2 + floor^2)``, the
members' spread widened by two numbers fitted on a calibration split (benchmarks/surrogates/fit.py),
so intervals cover what they claim on held-out data (the figures are stored with the model).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.surrogates.features import encode
from harness.atomic import atomic_path
from harness.errors import DataError

FORMAT = "nas-harness-surrogate"
FORMAT_VERSION = 1
TARGETS = ("val", "cost_s", "report_valid", "report_test")


def xgboost():  # -> module
    """XGBoost, imported on first use (the ``surrogate`` extra)."""
    try:
        import xgboost as xgb
    except ImportError:
        raise DataError("surrogates need xgboost: pip install -e '.[surrogate]'") from None
    return xgb


@dataclass
class Ensemble:
    """Members of one target and its calibration."""

    raw: list[bytes]
    scale: float = 1.0
    floor: float = 0.0
    _boosters: list[Any] = field(default_factory=list, repr=False)

    def boosters(self) -> list[Any]:
        if not self._boosters:
            xgb = xgboost()
            for blob in self.raw:
                b = xgb.Booster()
                b.load_model(bytearray(blob))
                b.set_param({"nthread": 1})  # predictions in one thread: the same sums everywhere
                self._boosters.append(b)
        return self._boosters

    def spread(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, uncalibrated members' std) for inputs ``x``."""
        preds = np.stack([b.inplace_predict(x) for b in self.boosters()]).astype(np.float64)
        return preds.mean(axis=0), preds.std(axis=0)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, calibrated std)."""
        mean, s = self.spread(x)
        return mean, np.sqrt((self.scale * s) ** 2 + self.floor ** 2)


class SurrogateModel:
    """A fitted surrogate: ``predict(codes)`` -> {target: (mean, std)} over the targets it holds."""

    def __init__(self, manifest: dict[str, Any], targets: dict[str, Ensemble], sha256: str = "") -> None:
        self.manifest, self.targets, self.sha256 = manifest, targets, sha256
        self.space_name: str = manifest["space"]

    @property
    def fidelity(self) -> float:
        return float(self.manifest.get("fidelity", 1.0))

    def predict(self, codes: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        x = encode(self.space_name, codes)
        return {name: ens.predict(x) for name, ens in self.targets.items()}

    def save(self, path: str | Path) -> Path:
        """Write the file whole (temporary name, fsync, rename); returns its path."""
        path = Path(path)
        manifest = {**self.manifest, "format": FORMAT, "format_version": FORMAT_VERSION,
                    "targets": {n: {"members": len(e.raw), "scale": e.scale, "floor": e.floor}
                                for n, e in self.targets.items()}}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo("manifest.json", (1980, 1, 1, 0, 0, 0)),
                       json.dumps(manifest, sort_keys=True, indent=1))
            for name, ens in self.targets.items():
                for k, blob in enumerate(ens.raw):
                    z.writestr(zipfile.ZipInfo(f"members/{name}-{k}.ubj", (1980, 1, 1, 0, 0, 0)), bytes(blob))
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as part:
            part.write_bytes(buf.getvalue())
        self.manifest, self.sha256 = manifest, hashlib.sha256(buf.getvalue()).hexdigest()
        return path


def load(path: str | Path) -> SurrogateModel:
    """Read a surrogate file; a file that is not one is one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"surrogate file {path} does not exist (fit one: python -m harness surrogate fit)")
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = json.loads(z.read("manifest.json"))
            if manifest.get("format") != FORMAT:
                raise DataError(f"{path} is not a nas-harness surrogate file")
            if int(manifest.get("format_version", -1)) > FORMAT_VERSION:
                raise DataError(f"{path} has surrogate format {manifest['format_version']}, newer than this "
                                f"nas-harness reads ({FORMAT_VERSION})")
            targets = {n: Ensemble([z.read(f"members/{n}-{k}.ubj") for k in range(int(t["members"]))],
                                   float(t["scale"]), float(t["floor"]))
                       for n, t in manifest["targets"].items()}
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a readable surrogate file ({type(exc).__name__}: {exc})") from None
    return SurrogateModel(manifest, targets, hashlib.sha256(data).hexdigest())
