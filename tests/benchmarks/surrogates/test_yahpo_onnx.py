"""YAHPO Gym's nb301 layout (nb301/model.onnx + encoding.json) on a tiny ONNX model built here with
the onnx package in the real interface: int32 categoricals and float32 epoch in, (accuracy, runtime) out."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.spaces.darts import OPS, DartsSpace
from benchmarks.surrogates.yahpo_onnx import CAT_NAMES, COLON, NA
from harness.budget import Budget
from harness.errors import DataError, HarnessError
from harness.runner import CompareSpec, compare

onnx = pytest.importorskip("onnx", reason="building the test model needs onnx")
ort = pytest.importorskip("onnxruntime", reason="YAHPO surrogates need onnxruntime")


def _encoding() -> dict:
    enc = {}
    for name in CAT_NAMES:
        if "edge_" in name:
            values = list(OPS[1:])
        else:
            k = int(name[-1])
            values = [f"{a}_{b}" for a in range(k) for b in range(a + 1, k)]
        enc[name.replace(":", COLON)] = {v: i for i, v in enumerate([NA, *values])}
    return enc


def _model(path, rng) -> tuple[np.ndarray, np.ndarray]:
    from onnx import TensorProto, helper, numpy_helper

    w_cat = rng.normal(0, 0.3, (len(CAT_NAMES), 2)).astype(np.float32)
    w_cont = np.array([[0.02, 30.0]], dtype=np.float32)
    bias = np.array([88.0, 2000.0], dtype=np.float32)
    nodes = [helper.make_node("Cast", ["x_cat"], ["cat_f"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["cat_f", "w_cat"], ["a"]),
             helper.make_node("MatMul", ["x_cont", "w_cont"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["ab"]),
             helper.make_node("Add", ["ab", "bias"], ["y"])]
    graph = helper.make_graph(
        nodes, "yahpo_tiny",
        [helper.make_tensor_value_info("x_cat", TensorProto.INT32, [None, len(CAT_NAMES)]),
         helper.make_tensor_value_info("x_cont", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [numpy_helper.from_array(w_cat, "w_cat"), numpy_helper.from_array(w_cont, "w_cont"),
         numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return w_cat, w_cont


@pytest.fixture
def yahpo_dir(tmp_path):
    folder = tmp_path / "yahpo_data" / "nb301"
    folder.mkdir(parents=True)
    _model(folder / "model.onnx", np.random.default_rng(0))
    (folder / "encoding.json").write_text(json.dumps(_encoding()))
    (folder / "config_space.json").write_text("{}")
    return tmp_path / "yahpo_data"


def test_yahpo_nb301_answers_as_the_onnx_session(yahpo_dir):
    from benchmarks.yahpo_nb301 import make

    task = make("cifar10", data=yahpo_dir)
    codes = DartsSpace().sample(np.random.default_rng(1), 20)
    x_cat, x_cont = task.predictor.features(codes, 50)
    assert x_cat.dtype == np.int32 and x_cat.shape == (20, 34) and (x_cont == 50).all()
    assert ((x_cat[:, :28] == 0).sum(axis=1) == 12).all()  # 8 of 14 edges used per cell: 2 x 6 are "#na#"
    sess = ort.InferenceSession(str(yahpo_dir / "nb301" / "model.onnx"))
    ref = sess.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0]
    out = task.evaluate(codes, 50.0)
    np.testing.assert_allclose(out.val, ref[:, 0], rtol=1e-6)
    np.testing.assert_allclose(out.cost_s, ref[:, 1], rtol=1e-6)
    assert not np.allclose(task.evaluate(codes, 10.0).val, out.val)  # the epoch fidelity matters
    assert task.attrs()["noise"] == "deterministic" and "YAHPO" in task.attrs()["surrogate"]
    with pytest.raises(HarnessError, match="no noise model"):
        make("cifar10", data=yahpo_dir, noise="surrogate")


def test_a_darts_study_runs_on_yahpo_at_a_lower_epoch(yahpo_dir, tmp_path):
    spec = CompareSpec(benchmark="yahpo-nb301", datasets=("cifar10",),
                       methods=("random_search", "regularized_evolution"),
                       seeds=(0,), budget=Budget(max_evals=30), out=tmp_path / "runs", data=str(yahpo_dir),
                       method_configs={"regularized_evolution": {"population": 5, "sample_size": 2}})
    assert len(compare(spec)) == 2


def test_a_missing_model_is_one_line(tmp_path):
    from benchmarks.yahpo_nb301 import make

    with pytest.raises(DataError, match="no YAHPO nb301 model"):
        make("cifar10", data=tmp_path)


def _partial(codes: np.ndarray, nodes: int) -> np.ndarray:
    """Full cells cut to their first ``nodes`` nodes (PNAS's partial cells: trailing nodes all zero)."""
    c = np.array(codes, copy=True).reshape(-1, 2, 4, 4)
    c[:, :, nodes:] = 0
    return DartsSpace.check(c.reshape(-1, 32))


def test_partial_cells_are_completed_as_recorded_or_refused(yahpo_dir, tmp_path):
    from benchmarks.surrogates.nb301_config import complete_partial
    from benchmarks.yahpo_nb301 import make

    full = DartsSpace().sample(np.random.default_rng(3), 6)
    partial = _partial(full, 2)
    done = np.stack([complete_partial(c) for c in partial])
    assert (DartsSpace.n_nodes(done) == 4).all()
    assert np.array_equal(done.reshape(-1, 2, 4, 4)[:, :, :2], full.reshape(-1, 2, 4, 4)[:, :, :2])
    assert np.array_equal(complete_partial(full[0]), full[0])  # a full cell is left as it is
    task = make("cifar10", data=yahpo_dir)
    assert task.attrs()["partial_cells"].startswith("completed")
    np.testing.assert_array_equal(task.evaluate(partial, 98.0).val, task.evaluate(done, 98.0).val)
    strict = make("cifar10", data=yahpo_dir, partial_cells="refuse")
    assert strict.attrs()["partial_cells"] == "refused"
    with pytest.raises(DataError, match="partial_cells=complete"):
        strict.evaluate(partial, 98.0)
    spec = CompareSpec(benchmark="yahpo-nb301", datasets=("cifar10",), methods=("pnas",), seeds=(0,),
                       budget=Budget(max_evals=60), out=tmp_path / "runs", data=str(yahpo_dir),
                       method_configs={"pnas": {"ensemble": 1, "epochs": 3, "embed": 4, "hidden": 8}})
    assert len(compare(spec)) == 1
