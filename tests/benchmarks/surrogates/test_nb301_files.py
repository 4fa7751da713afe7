"""NAS-Bench-301 v1.0's file layout read with today's libraries, on tiny models made here in that
layout (the real files cannot be downloaded in CI): members in folders with surrogate_model.model
(a pickled booster), data_config.json, model_config.json, and a configspace.json beside them."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from benchmarks.spaces.darts import OPS, DartsSpace
from benchmarks.surrogates.nb301_config import PREFIX, PROTOCOL, ConfigEncoder, arch_config, codes_from_config
from harness.errors import DataError

xgb = pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")
lgb = pytest.importorskip("lightgbm", reason="NB301's runtime model needs lightgbm")


def _configspace() -> dict:
    """A config space in ConfigSpace's JSON format with NB301's names: the architecture part and
    two of the fixed training hyperparameters (enough to exercise every value kind)."""
    hps = [{"name": "CreateImageDataLoader:batch_size", "type": "uniform_int", "log": True, "lower": 64,
            "upper": 128, "default": 96},
           {"name": PREFIX + "init_channels", "type": "constant", "value": 32},
           {"name": "OptimizerSelector:sgd:learning_rate", "type": "normal_float", "log": True, "mu": 0.025,
            "sigma": 0.05, "default": 0.025}]
    conds = []
    for cell in ("normal", "reduce"):
        for k in (3, 4, 5):
            choices = [f"{a}_{b}" for a in range(k) for b in range(a + 1, k)]
            hps.append({"name": f"{PREFIX}inputs_node_{cell}_{k}", "type": "categorical", "choices": choices})
        for e in range(14):
            hps.append({"name": f"{PREFIX}edge_{cell}_{e}", "type": "categorical", "choices": list(OPS[1:])})
            node = next(n for n, start in enumerate((0, 2, 5, 9, 14)) if start > e) - 1
            if node:
                src = e - (0, 2, 5, 9)[node]
                k = node + 2
                values = [f"{a}_{b}" for a in range(k) for b in range(a + 1, k) if src in (a, b)]
                conds.append({"child": f"{PREFIX}edge_{cell}_{e}", "parent": f"{PREFIX}inputs_node_{cell}_{k}",
                              "type": "IN", "values": values})
    return {"hyperparameters": hps, "conditions": conds, "forbiddens": [], "json_format_version": 0.2}


def _layout(root, encoder_path, n_members=3):
    enc = ConfigEncoder(encoder_path)
    codes = DartsSpace().sample(np.random.default_rng(0), 300)
    x = enc.encode(codes)
    y_acc = 90 + x[:, 5:20].sum(axis=1) * 0.1 + np.random.default_rng(1).normal(0, 0.1, len(x))
    y_rt = 3000 + 100 * (x[:, 10:30] > 3).sum(axis=1)
    for k in range(n_members):
        for name, kind, y in (("xgb_v1.0", "xgb", y_acc), ("lgb_runtime_v1.0", "lgb_time", y_rt)):
            member = root / "nb_models_1.0" / name / f"run_{k}"
            member.mkdir(parents=True)
            if kind == "xgb":
                booster = xgb.train({"max_depth": 3, "seed": k, "subsample": 0.7, "nthread": 1},
                                    xgb.DMatrix(x, label=y), 20)
            else:
                booster = lgb.train({"num_leaves": 7, "seed": k, "bagging_fraction": 0.7, "bagging_freq": 1,
                                     "verbose": -1, "num_threads": 1}, lgb.Dataset(x, label=y), 20)
            (member / "surrogate_model.model").write_bytes(pickle.dumps(booster))
            (member / "model_config.json").write_text(json.dumps({"model": kind}))
            (member / "data_config.json").write_text(json.dumps({"seed": k}))
    return codes


def test_config_conversion_both_ways():
    space = DartsSpace()
    for c in space.sample(np.random.default_rng(2), 40):
        conf = arch_config(c)
        assert np.array_equal(codes_from_config(conf), space.canonical(c))
        assert len([k for k in conf if "edge_normal" in k]) == 8
    v = arch_config(space.parse('{"normal":[["sep_conv_3x3",0],["skip_connect",1],["max_pool_3x3",2],'
                                '["sep_conv_5x5",0],["dil_conv_3x3",1],["avg_pool_3x3",3],["dil_conv_5x5",3],'
                                '["sep_conv_3x3",4]],"reduce":[["sep_conv_3x3",0],["skip_connect",1],'
                                '["max_pool_3x3",2],["sep_conv_5x5",0],["dil_conv_3x3",1],["avg_pool_3x3",3],'
                                '["dil_conv_5x5",3],["sep_conv_3x3",4]]}'))
    assert v[PREFIX + "edge_normal_4"] == "max_pool_3x3" and v[PREFIX + "inputs_node_normal_3"] == "0_2"
    assert v[PREFIX + "edge_normal_13"] == "sep_conv_3x3" and v[PREFIX + "inputs_node_normal_5"] == "3_4"


def test_the_encoder_follows_configspace_order_values_and_inactivity(tmp_path):
    path = tmp_path / "configspace.json"
    path.write_text(json.dumps(_configspace()))
    enc = ConfigEncoder(path)
    code = DartsSpace().sample(np.random.default_rng(3), 1)[0]
    row = enc.encode(code)[0]
    conf = {**PROTOCOL, **arch_config(code)}
    assert row[1] == 0.0 and row[2] == pytest.approx(np.log(0.025))
    assert row[0] == pytest.approx((np.log(96) - np.log(63.50001)) / (np.log(128.49999) - np.log(63.50001)))
    for i, name in enumerate(enc.names):
        if "edge_" in name:
            assert (row[i] == -1) == (name not in conf)
            if name in conf:
                assert row[i] == OPS[1:].index(conf[name])


def test_nb301_ensembles_in_the_v1_layout_answer_as_their_boosters(tmp_path):
    from benchmarks.nb301 import make

    (tmp_path / "nb_models_1.0").mkdir()
    cs = tmp_path / "nb_models_1.0" / "configspace.json"
    cs.write_text(json.dumps(_configspace()))
    codes = _layout(tmp_path, cs)
    task = make("cifar10", data=tmp_path, noise="surrogate")
    x = ConfigEncoder(cs).encode(codes[:50])
    members = sorted((tmp_path / "nb_models_1.0" / "xgb_v1.0").rglob("surrogate_model.model"))
    acc = np.stack([pickle.loads(p.read_bytes()).predict(xgb.DMatrix(x)) for p in members])
    rts = sorted((tmp_path / "nb_models_1.0" / "lgb_runtime_v1.0").rglob("surrogate_model.model"))
    rt = np.stack([pickle.loads(p.read_bytes()).predict(x) for p in rts])
    mean = task.evaluate(codes[:50], 100.0)
    np.testing.assert_allclose(mean.val, acc.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(mean.cost_s, rt.mean(axis=0), rtol=1e-6)
    noisy = task.evaluate_keyed(codes[:50], 100.0, seed=0, first=0)
    z = (noisy.val - acc.mean(axis=0)) / acc.std(axis=0)
    assert 0.5 < z.std() < 1.5 and np.array_equal(noisy.report_valid, mean.report_valid)
    attrs = task.attrs()
    assert attrs["surrogate_version"] == "1.0" and "xgb accuracy x3" in attrs["surrogate"]
    assert attrs["noise"] == "surrogate"


def test_a_pickle_that_is_not_a_booster_is_refused(tmp_path):
    from benchmarks.surrogates.nb301_files import load_member

    bad = tmp_path / "surrogate_model.model"
    bad.write_bytes(pickle.dumps(__import__("os").getcwd))
    with pytest.raises(DataError, match="refused"):
        load_member(bad)


def test_nb301_queries_a_partial_cell_as_its_recorded_completion(tmp_path):
    from benchmarks.nb301 import make
    from benchmarks.surrogates.nb301_config import complete_partial

    (tmp_path / "nb_models_1.0").mkdir()
    cs = tmp_path / "nb_models_1.0" / "configspace.json"
    cs.write_text(json.dumps(_configspace()))
    codes = _layout(tmp_path, cs)[:5].reshape(-1, 2, 4, 4).copy()
    codes[:, :, 1:] = 0  # one node per cell: PNAS's level 1
    partial = DartsSpace.check(codes.reshape(-1, 32))
    task = make("cifar10", data=tmp_path)
    assert task.attrs()["partial_cells"].startswith("completed")
    done = np.stack([complete_partial(c) for c in partial])
    np.testing.assert_array_equal(task.evaluate(partial, 100.0).val, task.evaluate(done, 100.0).val)
    with pytest.raises(DataError, match="full cells only"):
        make("cifar10", data=tmp_path, partial_cells="refuse").evaluate(partial, 100.0)
