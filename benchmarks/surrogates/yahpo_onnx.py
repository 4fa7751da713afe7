"""YAHPO Gym's ``nb301`` scenario read with onnxruntime: the folder ``nb301/`` holding ``model.onnx``
(two inputs, the integer-encoded categoricals and the continuous values; one output, a column per
target), ``encoding.json`` (per categorical name, value -> integer; ``"#na#"`` for an inactive one)
and ``config_space.json``. Names are NAS-Bench-301's with ``:`` written ``_COLON_``; the
categoricals are the 28 edges (normal 0-13, reduce 0-13) then the 6 ``inputs_node`` choices, the one
continuous value is the epoch fidelity (1-98), the targets are validation accuracy and runtime.

YAHPO's surrogate is deterministic and carries no noise model: only ``noise=deterministic`` is offered.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.darts import DartsSpace
from benchmarks.surrogates.nb301_config import COMPLETION, PREFIX, arch_config
from harness.errors import DataError

COLON = "_COLON_"
CAT_NAMES = tuple([f"{PREFIX}edge_{cell}_{i}" for cell in ("normal", "reduce") for i in range(14)] +
                  [f"{PREFIX}inputs_node_{cell}_{k}" for cell in ("normal", "reduce") for k in (3, 4, 5)])
EPOCHS = tuple(float(e) for e in range(1, 99))
NA = "#na#"


def onnxruntime() -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise DataError("YAHPO surrogates need onnxruntime: pip install -e '.[surrogate]'") from None
    return ort


class YahpoNB301:
    """The ONNX model of YAHPO's nb301 scenario as a predictor over the DARTS space."""

    default_fidelity = 98.0
    fidelities = EPOCHS

    def __init__(self, root: Path, partial_cells: str = "complete") -> None:
        root = Path(root)
        self.partial_cells = partial_cells
        folder = root if (root / "model.onnx").is_file() else root / "nb301"
        model, enc = folder / "model.onnx", folder / "encoding.json"
        if not model.is_file() or not enc.is_file():
            raise DataError(f"no YAHPO nb301 model under {root} (expected nb301/model.onnx and nb301/encoding.json)")
        try:
            self.encoding: dict[str, dict[str, int]] = json.loads(enc.read_text())
        except ValueError as exc:
            raise DataError(f"{enc} is not JSON ({exc})") from None
        missing = [n for n in CAT_NAMES if n.replace(":", COLON) not in self.encoding]
        if missing:
            raise DataError(f"{enc} lacks the encoding of {missing[0].replace(':', COLON)}")
        ort = onnxruntime()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # the same sums everywhere
        self.blob = model.read_bytes()
        self.session = ort.InferenceSession(self.blob, opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name
        self.sha256 = hashlib.sha256(self.blob + enc.read_bytes()).hexdigest()
        self.space = DartsSpace()

    def features(self, codes: np.ndarray, epoch: float) -> tuple[np.ndarray, np.ndarray]:
        """(x_cat int32 (n, 34), x_cont float32 (n, 1)) as YAHPO builds them."""
        rows = []
        for c in np.atleast_2d(np.asarray(codes)):
            conf = arch_config(c, self.partial_cells)
            rows.append([self._code(n, conf.get(n, NA)) for n in CAT_NAMES])
        x_cat = np.asarray(rows, dtype=np.int32)
        return x_cat, np.full((len(x_cat), 1), float(epoch), dtype=np.float32)

    def _code(self, name: str, value: str) -> int:
        table = self.encoding[name.replace(":", COLON)]
        if value not in table:
            raise DataError(f"YAHPO encoding of {name.replace(':', COLON)} has no value {value!r}")
        return int(table[value])

    def _run(self, codes: np.ndarray, epoch: float) -> np.ndarray:
        x_cat, x_cont = self.features(codes, epoch)
        return np.asarray(self.session.run([self.output], {self.inputs[0]: x_cat, self.inputs[1]: x_cont})[0],
                          dtype=np.float64)

    def predict(self, codes: np.ndarray, fidelity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = self._run(codes, fidelity)
        zero = np.zeros(len(out))
        return {"val": (out[:, 0], zero), "cost_s": (out[:, 1], zero)}

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc = self._run(codes, self.default_fidelity)[:, 0]
        return acc, acc

    def describe(self) -> dict[str, Any]:
        return {"surrogate": "YAHPO Gym nb301 (ONNX, onnxruntime)", "surrogate_version": f"onnx sha {self.sha256[:12]}",
                "partial_cells": COMPLETION if self.partial_cells == "complete" else "refused",
                "data_sha256": self.sha256,
                "protocol": "query = YAHPO nb301's predicted validation accuracy at the epoch fidelity (1-98); cost = "
                            "its predicted runtime (s); report = the predicted validation accuracy at epoch 98"}
