"""JAHS-Bench-201's ``assembled_surrogates/<task>/<metric>/`` layout on tiny models made here as its
XGBSurrogate.dump writes them: a fitted sklearn Pipeline (one-hot with drop="if_binary", passthrough,
XGBRegressor, MinMax target transforms) and the params dict, joblib-pickled at protocol 0, gzip'd."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from benchmarks.spaces.jahs import HP_NAMES, JahsSpace, jahs_ops, nb201_codes
from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.errors import ArchError, DataError, HarnessError
from harness.runner import CompareSpec, compare

FEATURES = ["N", "W", "Op1", "Op2", "Op3", "Op4", "Op5", "Op6", "Resolution", "TrivialAugment", "Activation",
            "Optimizer", "LearningRate", "WeightDecay", "epoch"]  # the config space's order, then the epoch
CATEGORICAL = ["Op1", "Op2", "Op3", "Op4", "Op5", "Op6", "TrivialAugment", "Activation", "Optimizer"]


class ConfigSpaceStandIn:
    """Pickled where JAHS pickles ConfigSpace's space: the reader must not build it."""

    def __init__(self) -> None:
        self.name = "jahs_bench_config_space"


def _data(rng: np.random.Generator, n: int):
    import pandas as pd

    space = JahsSpace()
    confs = space.configs(space.sample(rng, n))
    for c in confs:
        c.update(N=int(rng.choice([1, 3, 5])), W=int(rng.choice([4, 8, 16])),
                 Resolution=float(rng.choice([0.25, 0.5, 1.0])), epoch=int(rng.integers(1, 201)))
    x = pd.DataFrame(confs)[FEATURES]
    convs = sum((x[f"Op{k}"] == 2).astype(float) + 0.5 * (x[f"Op{k}"] == 3) for k in range(1, 7))
    acc = (40 + 6 * convs + 8 * np.log10(x.LearningRate) * -0.3 + 10 * np.log1p(x.epoch) / np.log(201)
           + 2 * x.TrivialAugment + (x.Activation == "Mish") * 1.5 + rng.normal(0, 0.5, n))
    runtime = x.N * x.W * x.Resolution * x.epoch * (1 + convs / 6) + rng.normal(0, 1, n)
    return x, {"valid-acc": acc, "test-acc": acc - 1.0 + rng.normal(0, 0.3, n), "runtime": runtime}


def _pipeline(metric: str, seed: int):
    import xgboost as xgb
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    prep = ColumnTransformer([("OneHotEncoder", OneHotEncoder(drop="if_binary"), CATEGORICAL)], remainder="passthrough")
    est = xgb.XGBRegressor(n_estimators=25, max_depth=4, learning_rate=0.3, n_jobs=1, random_state=seed)
    if metric == "valid-acc":
        est = TransformedTargetRegressor(transformer=MinMaxScaler(), regressor=est)
    elif metric == "test-acc":  # a chain, as JAHS's "chain" target config builds it
        inner = TransformedTargetRegressor(transformer=MinMaxScaler(), regressor=est)
        est = TransformedTargetRegressor(transformer=MinMaxScaler((0, 2)), regressor=inner)
    return Pipeline([("preprocess", prep), ("estimator", est)])


def _write(folder, x, y, metric: str, seed: int):
    import joblib
    import pandas as pd

    folder.mkdir(parents=True)
    labels = pd.DataFrame({metric: y})
    model = _pipeline(metric, seed).fit(x, labels[metric])
    obj = lambda cols: pd.Index(list(cols), dtype=object)  # noqa: E731  (pandas 1.3's object Index, not Arrow)
    params = {"estimators_per_output": 25, "hyperparams": {"max_depth": 4}, "config_space": ConfigSpaceStandIn(),
              "label_headers": obj(labels.columns), "feature_headers": obj(x.columns), "trained_": True}
    joblib.dump(params, folder / "params.pkl.gz", protocol=0)
    labels.columns.to_series().to_pickle(folder / "label_headers.pkl.gz", protocol=0)
    joblib.dump(model, folder / "model.pkl.gz", protocol=0)
    return model


@pytest.fixture(scope="module")
def jahs_dir(tmp_path_factory):
    pytest.importorskip("xgboost", reason="JAHS surrogates need xgboost (the surrogate extra)")
    pytest.importorskip("sklearn", reason="writing the test models needs scikit-learn")
    pytest.importorskip("pandas", reason="writing the test models needs pandas")
    root = tmp_path_factory.mktemp("jahs") / "jahs_bench_data"
    x, labels = _data(np.random.default_rng(0), 400)
    models = {m: _write(root / "assembled_surrogates" / "cifar10" / m, x, y, m, i)
              for i, (m, y) in enumerate(labels.items())}
    return root, models


def test_predictions_equal_the_pipelines_own(jahs_dir):
    import pandas as pd

    from benchmarks.jahs import make

    root, models = jahs_dir
    task = make("cifar10", data=root, n=3, w=8, resolution=0.5)
    codes = task.space.sample(np.random.default_rng(1), 50)
    frame = pd.DataFrame(task.predictor.rows(codes, 37.0))[FEATURES]
    out = task.evaluate(codes, 37.0)
    np.testing.assert_allclose(out.val, models["valid-acc"].predict(frame), rtol=1e-5)
    np.testing.assert_allclose(out.cost_s, np.maximum(models["runtime"].predict(frame), 0), rtol=1e-5, atol=1e-3)
    rv, rt = task.report(codes)
    final = pd.DataFrame(task.predictor.rows(codes, 200.0))[FEATURES]
    np.testing.assert_allclose(rv, models["valid-acc"].predict(final), rtol=1e-5)
    np.testing.assert_allclose(rt, models["test-acc"].predict(final), rtol=1e-5)
    assert not np.allclose(task.evaluate(codes, 5.0).val, out.val)  # the epoch fidelity matters
    full = make("cifar10", data=root)  # N=5, W=16, Resolution=1: a bigger network costs more
    assert full.evaluate(codes, 37.0).cost_s.mean() > out.cost_s.mean()
    attrs = task.attrs()
    assert attrs["noise"] == "deterministic" and "JAHS-Bench-201 cifar10" in attrs["surrogate"]
    assert "N=3, W=8, Resolution=0.5" in attrs["protocol"] and len(attrs["data_sha256"]) == 64


def test_deterministic_only_and_bad_input_is_one_line(jahs_dir, tmp_path):
    from benchmarks.jahs import make
    from harness.errors import UnknownNameError

    root, _ = jahs_dir
    with pytest.raises(HarnessError, match="no noise model"):
        make("cifar10", data=root, noise="surrogate")
    with pytest.raises(UnknownNameError, match="colorectal_histology"):
        make("svhn", data=root)
    with pytest.raises(DataError, match="no JAHS-Bench-201 surrogate of fashion_mnist"):
        make("fashion_mnist", data=root)
    bad = tmp_path / "cifar10" / "valid-acc"
    bad.mkdir(parents=True)
    (bad / "params.pkl.gz").write_bytes(pickle.dumps({}))
    (bad / "model.pkl.gz").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(DataError, match="model.pkl.gz: cannot read"):
        make("cifar10", data=tmp_path)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_the_unpickler_builds_no_foreign_object(jahs_dir, tmp_path):
    from benchmarks.surrogates.jahs_files import Record, _booster, _names, load_pickle

    root, _ = jahs_dir
    params = load_pickle(root / "assembled_surrogates" / "cifar10" / "valid-acc" / "params.pkl.gz")
    assert isinstance(params["config_space"], Record) and params["config_space"].state["name"].startswith("jahs")
    assert _names(params["feature_headers"]) == FEATURES  # the pandas Index, read as a record
    model = load_pickle(root / "assembled_surrogates" / "cifar10" / "valid-acc" / "model.pkl.gz")
    assert isinstance(model, Record) and model.kind == "Pipeline"  # sklearn is not called to read it
    for proto in (0, 2, 5):
        (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Evil(), protocol=proto))
        with pytest.raises(DataError, match="refused"):
            load_pickle(tmp_path / "evil.pkl")
    booster = type("Booster", (Record,), {"qualname": "xgboost.core.Booster"})()
    booster.__setstate__({"handle": bytearray(b"not a model")})  # the booster is rebuilt after unpickling
    with pytest.raises(DataError, match="cannot read the pickled booster"):
        _booster(booster, "model.pkl.gz")
    import joblib

    joblib.dump({"headers": np.array(["N", _Evil()], dtype=object)}, tmp_path / "evil.pkl.gz", protocol=0)
    with pytest.raises(DataError, match="refused"):  # an object array's nested pickle is checked too
        load_pickle(tmp_path / "evil.pkl.gz")


def test_an_unknown_target_transform_is_one_line(jahs_dir, tmp_path):
    import joblib
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import FunctionTransformer

    from benchmarks.surrogates.jahs_files import MetricModel

    root, models = jahs_dir
    src = root / "assembled_surrogates" / "cifar10" / "runtime"
    pipe = models["runtime"]
    odd = TransformedTargetRegressor(transformer=FunctionTransformer(np.log1p, np.expm1), regressor=pipe.steps[1][1])
    odd.regressor_, odd.transformer_ = pipe.steps[1][1], FunctionTransformer(np.log1p, np.expm1).fit(np.ones((2, 1)))
    pipe2 = type(pipe)([pipe.steps[0], ("estimator", odd)])
    folder = tmp_path / "runtime"
    folder.mkdir()
    (folder / "params.pkl.gz").write_bytes((src / "params.pkl.gz").read_bytes())
    joblib.dump(pipe2, folder / "model.pkl.gz", protocol=0)
    with pytest.raises(DataError, match="unknown inverse target transform"):
        MetricModel(folder)


def test_genotypes_convert_both_ways():
    nb = NB201Space()
    cells = nb.all_codes()
    ops = jahs_ops(cells)
    assert np.array_equal(nb201_codes(ops), cells) and len({r.tobytes() for r in ops.astype(np.int8)}) == len(cells)
    # JAHS's Op1..Op6 = edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) over nodes 1-4; ops Identity, Zero, ConvBN3x3,
    # ConvBN1x1, AvgPool1x1
    cell = nb.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert jahs_ops(cell).tolist() == [2, 1, 4, 0, 3, 1]
    assert np.array_equal(nb201_codes(np.array([2, 1, 4, 0, 3, 1])), cell)
    space = JahsSpace()
    codes = space.sample(np.random.default_rng(3), 200)
    assert np.array_equal(np.stack([space.from_config(c) for c in space.configs(codes)]), codes)
    assert np.array_equal(space.parse(space.format(codes)), codes)
    assert len(set(space.index(codes).tolist())) == len({r.tobytes() for r in codes})
    nb = space.neighbours(codes[0])
    assert len(nb) == 39 and ((nb != codes[0]).sum(axis=1) == 1).all() and len(set(space.index(nb).tolist())) == 39
    with pytest.raises(HarnessError, match="different numbers of choices"):  # reinforce / bohb stop with one line
        space.n_choices
    conf = space.configs(codes[:1])[0]
    assert set(HP_NAMES) < set(conf) and conf["Optimizer"] == "SGD"
    with pytest.raises(ArchError, match="not on the grid"):
        space.from_config({**conf, "LearningRate": 0.123})
    with pytest.raises(ArchError, match="0..4"):
        nb201_codes(np.array([5, 0, 0, 0, 0, 0]))


def test_a_jahs_study_runs_with_the_nb201_command_shape(jahs_dir, tmp_path):
    from reports.load import load_runs

    root, _ = jahs_dir
    methods = ("random_search", "regularized_evolution", "local_search")
    spec = CompareSpec(benchmark="jahs", datasets=("cifar10",), methods=methods, seeds=(0,),
                       budget=Budget(max_evals=30), out=tmp_path / "runs", data=str(root), benchmark_options={"n": 3},
                       method_configs={"regularized_evolution": {"population": 5, "sample_size": 2}})
    assert len(compare(spec)) == 3
    prov = load_runs(tmp_path / "runs").provenance()
    assert prov["noise"] == ["deterministic"] and prov["surrogate_version"][0].startswith("assembled_surrogates sha")
    assert "JAHS-Bench-201" in prov["surrogate"][0] and "N=3" in prov["protocol"][0]


def test_cross_check_against_jahs_bench(jahs_dir):
    jahs_bench = pytest.importorskip("jahs_bench", reason="jahs_bench is not installed (it pins sklearn 1.0, "
                                                          "xgboost 1.5, ConfigSpace 0.4); the cross-check needs it")
    from benchmarks.jahs import make

    root, _ = jahs_dir
    bench = jahs_bench.Benchmark(task="cifar10", kind="surrogate", download=False, save_dir=root)
    task = make("cifar10", data=root)
    codes = task.space.sample(np.random.default_rng(4), 5)
    for row, conf in zip(task.predictor.rows(codes, 200.0), task.space.configs(codes)):
        ours = task.evaluate(task.space.from_config(conf)[None], 200.0).val[0]
        theirs = bench({k: v for k, v in row.items() if k != "epoch"}, nepochs=200)[200]["valid-acc"]
        assert ours == pytest.approx(theirs, rel=1e-5)
