"""The surrogate Task kind: noise keyed by (run seed, query index), batches equal single queries,
the file round trip, the numpy forest equal to XGBoost, and a noisy study killed and resumed."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.surrogate import make
from benchmarks.surrogates.model import load
from benchmarks.surrogates.noise import query_normals
from benchmarks.surrogates.task import SurrogateTask
from harness.budget import Budget
from harness.errors import DataError, HarnessError
from harness.runner import CompareSpec, compare
from tests.faults.test_run_faults import _every_kill, _runs

xgb = pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")


def test_noise_depends_on_seed_and_query_index_only(tiny_surrogate):
    task = make("cifar10-valid", data=tiny_surrogate, noise="surrogate")
    codes = task.space.sample(np.random.default_rng(0), 6)
    batch = task.evaluate_keyed(codes, 12.0, seed=3, first=10)
    singles = [task.evaluate_keyed(codes[i], 12.0, seed=3, first=10 + i) for i in range(6)]
    assert np.array_equal(batch.val, np.concatenate([s.val for s in singles]))
    assert np.array_equal(batch.cost_s, np.concatenate([s.cost_s for s in singles]))
    other = task.evaluate_keyed(codes, 12.0, seed=4, first=10)
    assert not np.array_equal(other.val, batch.val)
    mean = make("cifar10-valid", data=tiny_surrogate).evaluate_keyed(codes, 12.0, seed=3, first=10)
    assert np.array_equal(mean.val, task.evaluate(codes, 12.0).val)  # deterministic = the mean
    assert not np.array_equal(mean.val, batch.val)
    assert np.array_equal(batch.report_test, mean.report_test)  # reports are noise-free means
    assert np.array_equal(query_normals(3, 12, 1, 2)[0], query_normals(3, 10, 4, 2)[2])


def test_attrs_name_the_surrogate_file_version_and_noise(tiny_surrogate):
    model = load(tiny_surrogate)
    attrs = make("cifar10-valid", data=tiny_surrogate, noise="surrogate").attrs()
    assert attrs["noise"] == "surrogate" and attrs["cost_unit"] == "simulated_s"
    assert attrs["data_sha256"] == model.sha256 and attrs["training_sha256"] == model.manifest["training_sha256"]
    assert "nas-harness-surrogate/1" in attrs["surrogate_version"]
    with pytest.raises(HarnessError, match="noise must be one of"):
        SurrogateTask("x", "d", make("cifar10-valid", data=tiny_surrogate).predictor, noise="loud")
    with pytest.raises(DataError, match="fitted on dataset 'cifar10-valid'"):
        make("cifar100", data=tiny_surrogate)


def test_forest_predictions_equal_xgboost(tiny_surrogate):
    model = load(tiny_surrogate)
    ens = model.targets["val"]
    from benchmarks.surrogates.features import encode

    x = encode("nb201", model_space_sample(500))
    boosters = []
    for blob in ens.raw:
        b = xgb.Booster()
        b.load_model(bytearray(blob))
        boosters.append(b)
    ref = np.stack([b.inplace_predict(x) for b in boosters])
    np.testing.assert_allclose(ens.forest().members(x), ref, rtol=0, atol=1e-3)
    assert ens.forest().members(x[:1]).shape == (2, 1)


def model_space_sample(n: int) -> np.ndarray:
    from benchmarks.spaces.nb201 import NB201Space

    return NB201Space().sample(np.random.default_rng(1), n)


def test_a_file_that_is_not_a_surrogate_is_one_line(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable surrogate file"):
        load(bad)
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "missing.zip")


def _spec(out, model, methods=("random_search", "regularized_evolution"), seeds=(0, 1), evals=None):
    return CompareSpec(benchmark="surrogate", datasets=("cifar10-valid",), methods=methods, seeds=seeds,
                       budget=Budget(max_evals=evals) if evals else Budget(max_cost_s=3000), out=out,
                       data=str(model), workers=1, benchmark_options={"noise": "surrogate"},
                       method_configs={"regularized_evolution": {"population": 3, "sample_size": 2}})


def test_a_noisy_study_killed_at_every_write_resumes_identical(tiny_surrogate, tmp_path):
    spec = lambda out: _spec(out, tiny_surrogate, methods=("regularized_evolution",))  # noqa: E731
    compare(spec(tmp_path / "ref"))
    ref = _runs(tmp_path / "ref")
    assert len(ref) == 2
    from reports.load import load_runs

    prov = load_runs(tmp_path / "ref").provenance()  # the report names the surrogate, its version and noise
    assert prov["noise"] == ["surrogate"] and prov["surrogate_version"] and prov["training_sha256"]
    assert _every_kill(lambda n: spec(tmp_path / f"k{n}"), ref) >= 2


def test_a_durable_noisy_run_replays_its_noise_on_resume(tiny_surrogate, tmp_path, monkeypatch):
    """Runs journaled row by row (costs declared measured): a kill at any write, then the resumed
    run replays the journal and goes on live with the same (seed, query index) noise."""
    attrs = SurrogateTask.attrs
    monkeypatch.setattr(SurrogateTask, "attrs", lambda self: {**attrs(self), "cost_unit": "measured_s"})
    spec = lambda out: _spec(out, tiny_surrogate, methods=("regularized_evolution",), seeds=(0,), evals=5)  # noqa: E731
    compare(spec(tmp_path / "ref"))
    ref = _runs(tmp_path / "ref")
    assert _every_kill(lambda n: spec(tmp_path / f"k{n}"), ref) >= 5 * 2


def test_simulated_workers_draw_the_same_keyed_noise(tiny_surrogate, tmp_path):
    """Under --sim-workers the task is bound to the run (for_run): noisy, and the same twice."""
    def rows(out, noise):
        spec = CompareSpec(benchmark="surrogate", datasets=("cifar10-valid",), methods=("random_search",), seeds=(0,),
                           budget=Budget(max_cost_s=3000), out=out, data=str(tiny_surrogate), workers=1,
                           benchmark_options={"noise": noise}, sim_workers=4)
        compare(spec)
        return _runs(out)
    a, b = rows(tmp_path / "a", "surrogate"), rows(tmp_path / "b", "surrogate")
    assert a == b and a != rows(tmp_path / "d", "deterministic")
