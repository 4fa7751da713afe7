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
from benchmarks.surrogates.forest import Forest
from harness.atomic import atomic_path
from harness.errors import DataError

FORMAT = "nas-harness-surrogate"
FORMAT_VERSION = 1
TARGETS = ("val", "cost_s", "report_valid", "report_test")


@dataclass
class Ensemble:
    """Members of one target (XGBoost's own bytes, and the same trees as numpy arrays) and its calibration."""

    raw: list[bytes]
    scale: float = 1.0
    floor: float = 0.0
    _forest: Forest | None = field(default=None, repr=False)

    def forest(self) -> Forest:
        if self._forest is None:
            self._forest = Forest.from_raw(self.raw)
        return self._forest

    def spread(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, uncalibrated members' std) for inputs ``x``."""
        preds = self.forest().members(x)
        return preds.mean(axis=0), preds.std(axis=0)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, calibrated std)."""
        mean, s = self.spread(x)
        return mean, np.sqrt((self.scale * s) ** 2 + self.floor ** 2)


class SurrogateModel:
    """A fitted surrogate: ``predict(codes)`` -> {target: (mean, std)} over the targets it holds."""

    MEMO_ROWS = 200_000  # predictions kept per architecture (they do not change; noise is added later)

    def __init__(self, manifest: dict[str, Any], targets: dict[str, Ensemble], sha256: str = "") -> None:
        self.manifest, self.targets, self.sha256 = manifest, targets, sha256
        self.space_name: str = manifest["space"]
        self._memo: dict[bytes, np.ndarray] = {}
        self._joint: Forest | None = None  # every target's members in one forest

    @property
    def fidelity(self) -> float:
        return float(self.manifest.get("fidelity", 1.0))

    def predict(self, codes: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        codes = np.atleast_2d(np.asarray(codes))
        keys = [r.tobytes() for r in codes.astype(np.int16)]
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        if todo:
            got = self._predict_all(encode(self.space_name, codes[todo]))  # (targets, 2, rows)
            if len(self._memo) + len(todo) > self.MEMO_ROWS:
                self._memo.clear()
            for j, i in enumerate(todo):
                self._memo[keys[i]] = got[:, :, j]
        table = np.stack([self._memo[k] for k in keys], axis=-1)
        return {name: (table[t, 0], table[t, 1]) for t, name in enumerate(self.targets)}

    def _predict_all(self, x: np.ndarray) -> np.ndarray:
        ens = list(self.targets.values())
        if self._joint is None:
            self._joint = Forest.concat([e.forest() for e in ens])
        preds = self._joint.members(x)
        out, start = [], 0
        for e in ens:
            p = preds[start:start + e.forest().n_members]
            start += e.forest().n_members
            mean, spread = p.mean(axis=0), p.std(axis=0)
            out.append((mean, np.sqrt((e.scale * spread) ** 2 + e.floor ** 2)))
        return np.asarray(out)

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
                arrays = io.BytesIO()
                np.savez(arrays, **ens.forest().arrays())
                z.writestr(zipfile.ZipInfo(f"forest/{name}.npz", (1980, 1, 1, 0, 0, 0)), arrays.getvalue())
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
            targets = {}
            for n, t in manifest["targets"].items():
                forest = None
                if f"forest/{n}.npz" in z.namelist():  # the trees as arrays: no XGBoost needed to predict
                    with np.load(io.BytesIO(z.read(f"forest/{n}.npz"))) as f:
                        forest = Forest.from_arrays({k: f[k] for k in Forest.ARRAYS})
                targets[n] = Ensemble([z.read(f"members/{n}-{k}.ubj") for k in range(int(t["members"]))],
                                      float(t["scale"]), float(t["floor"]), forest)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a readable surrogate file ({type(exc).__name__}: {exc})") from None
    return SurrogateModel(manifest, targets, hashlib.sha256(data).hexdigest())
