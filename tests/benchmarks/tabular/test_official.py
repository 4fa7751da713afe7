"""Official-format readers through the official packages, on NATS-Bench's own sample files
(fake_torch_dir: archs 0, 11, 284, real records) and on small .pth / .pickle.pbz2 files built here
from them in the official layouts; the paper's one-seed-per-query protocol."""
from __future__ import annotations

import bz2
import pickle
from pathlib import Path

import numpy as np
import pytest

from benchmarks.nb201 import NB201Task, draw_slot
from benchmarks.spaces.nb201 import NB201Space
from benchmarks.tabular.nb201_table import open_table, prepare
from harness.errors import DataError, HarnessError

nats_bench = pytest.importorskip("nats_bench", reason="the NATS-Bench readers need nats_bench (pip install nats_bench)")

ARCHS = [0, 11, 284]
HP12_VALID = [63.364, 63.278, 72.876]          # NATS API, cifar10-valid, hp=12, mean over seeds
HP12_COST = [89.2021, 153.6959, 60.8990]       # train-all-time + valid-per-time, hp=12 (s)


@pytest.fixture(scope="module")
def samples_table(nats_samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("nats") / "t.h5"
    return open_table(prepare(nats_samples / "NATS-tss-v1_0-3ffb9-simple", out))


def _hp12(table):
    val = table.query(ARCHS, "cifar10-valid", "valid_acc", 12)
    cost = 12 * table.query(ARCHS, "cifar10-valid", "train_time_epoch", 12) + \
        table.query(ARCHS, "cifar10-valid", "valid_time_epoch", 12)
    return val, cost


def test_nats_sample_files_give_the_published_figures(samples_table):
    val, cost = _hp12(samples_table)
    np.testing.assert_allclose(val, HP12_VALID, atol=5e-4)
    np.testing.assert_allclose(cost, HP12_COST, atol=5e-5)
    assert samples_table.has_seeds
    assert list(samples_table.seed_count("cifar10-valid", 12)[ARCHS]) == [2, 2, 2]
    assert list(samples_table.seed_count("cifar10-valid", 200)[ARCHS]) == [3, 3, 3]
    # the mean of the per-seed values is the API's seed mean
    per_seed = samples_table.seed_column("cifar10-valid", "valid_acc", 12)[ARCHS]
    np.testing.assert_allclose(np.nanmean(per_seed, axis=1), val, rtol=1e-12)
    assert np.isnan(samples_table.column("cifar10-valid", "valid_acc", 12)[1])  # arch 1 is not in the samples


def test_nats_sample_files_equal_the_exports(samples_table, nb201_table_path):
    exports = open_table(nb201_table_path)
    ours, theirs = _hp12(samples_table), _hp12(exports)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9)  # 12 x per-epoch against the API's all-time sum


def _arch_records(nats_samples: Path) -> tuple[list[str], dict]:
    from nats_bench.api_utils import pickle_load

    folder = nats_samples / "NATS-tss-v1_0-3ffb9-simple"
    meta = pickle_load(str(folder / "meta.pickle.pbz2"))
    return meta["meta_archs"], {i: pickle_load(str(folder / f"{i:06d}.pickle.pbz2")) for i in ARCHS}


def test_the_full_nats_archive_and_an_nb201_pth_read_like_the_folder(nats_samples, samples_table, tmp_path):
    """The single .pickle.pbz2 (nats_bench non-fast mode) and a v1_0/v1_1-layout .pth ('less'/'full'
    per arch, read by nas_201_api), both made of the same records, give the same arrays."""
    torch = pytest.importorskip("torch")
    archs, records = _arch_records(nats_samples)
    # what nats_bench.api_utils.pickle_save writes (a bz2-compressed pickle), at a faster compression level
    with bz2.open(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", "wb", compresslevel=1) as out:
        pickle.dump({"meta_archs": archs, "total_archs": len(archs), "evaluated_indexes": ARCHS,
                     "arch2infos": records}, out, protocol=4)
    torch.save({"meta_archs": archs, "total_archs": len(archs), "evaluated_indexes": ARCHS,
                "arch2infos": {i: {"less": r["12"], "full": r["200"]} for i, r in records.items()}},
               tmp_path / "NAS-Bench-201-v1_1-sample.pth")
    for name in ("NATS-tss-v1_0-3ffb9.pickle.pbz2", "NAS-Bench-201-v1_1-sample.pth"):
        table = open_table(prepare(tmp_path / name, tmp_path / f"{name}.h5"))
        np.testing.assert_array_equal(table.metrics, samples_table.metrics)
        np.testing.assert_array_equal(table.seed_metrics, samples_table.seed_metrics)
        np.testing.assert_array_equal(table.seed_ids, samples_table.seed_ids)
    (tmp_path / "bad.pickle.pbz2").write_bytes(b"BZh9 not really")
    with pytest.raises(DataError, match="not a readable NATS-Bench tss archive"):
        prepare(tmp_path / "bad.pickle.pbz2", tmp_path / "bad.h5")
    with pytest.raises(DataError, match="NATS-Bench sss is a different space"):
        prepare(nats_samples / "NATS-sss-v1_0-50262-simple", tmp_path / "sss.h5")


def test_one_training_seed_per_query_drawn_from_the_run(samples_table):
    task = NB201Task(samples_table, "cifar10-valid", query_seed="random")
    codes = NB201Space().from_index(11)
    with pytest.raises(HarnessError, match="answers queries of a run only"):
        task.evaluate_one(codes, 12.0)
    count = {"n": 0}
    run = task.for_run(7, lambda: count["n"])
    seeds = samples_table.seed_column("cifar10-valid", "valid_acc", 12)[11, :2]
    seen = []
    for k in range(40):
        count["n"] = k
        val, cost, *_ = run.evaluate_one(codes, 12.0)
        assert val == seeds[draw_slot(7, k, 2)]
        assert cost == pytest.approx(HP12_COST[1], abs=5e-5)  # both seeds of the samples share their times
        seen.append(val)
    assert set(seen) == set(seeds)  # both seeds are drawn
    count["n"] = 3
    assert run.evaluate(codes[None], 12.0).val[0] == seen[3]  # the batch path draws the same
    assert task.for_run(8, lambda: 3).evaluate_one(codes, 12.0)[0] in seeds
    assert [draw_slot(8, k, 2) for k in range(40)] != [draw_slot(7, k, 2) for k in range(40)]
    attrs = run.attrs()
    assert attrs["query_seed"] == "random" and "one training seed drawn per query" in attrs["protocol"]
    mean = NB201Task(samples_table, "cifar10-valid")
    assert "query_seed" not in mean.attrs() and mean.for_run(7, lambda: 0) is mean
    assert mean.evaluate_one(codes, 12.0)[0] == pytest.approx(HP12_VALID[1], abs=5e-4)


def test_the_seed_protocol_refuses_seed_means(nb201_table_path):
    with pytest.raises(DataError, match="needs per-seed values.*seed means only"):
        NB201Task(open_table(nb201_table_path), "cifar10-valid", query_seed="random")


def test_a_random_seed_study_is_reproducible_and_recorded(nb201_table_path, tmp_path):
    """Every cell given two synthetic seeds around its mean: a run under query_seed=random replays
    bit for bit, records its protocol, and is a different run from the mean protocol's."""
    from benchmarks.tabular.nb201_sources import Filled
    from benchmarks.tabular.nb201_table import write_table
    from harness.budget import Budget
    from harness.recorder import read_trajectory
    from harness.run import run_one

    base = open_table(nb201_table_path)
    f = Filled(metrics=base.metrics.copy(), params_m=base.params_m, flops_m=base.flops_m,
               latency_ms=base.latency_ms, latency_devices=list(base.latency_devices),
               provenance=dict(base.provenance), sources={"synthetic": "0"})
    shift = np.array([-0.5, 0.5])
    f.seed_metrics = np.repeat(base.metrics[..., None], 2, axis=-1)
    f.seed_metrics[:, :, 0] = np.clip(f.seed_metrics[:, :, 0] + shift, 0, 100)
    f.seed_ids = np.where(np.isnan(base.metrics[:, :, 0, :, None]), -1, np.array([777, 888]))
    write_table(f, NB201Space(), tmp_path / "seeds.h5")
    table = open_table(tmp_path / "seeds.h5")
    budget = Budget(max_cost_s=3000)
    trajs = []
    for name, mode in (("a", "random"), ("b", "random"), ("m", "mean")):
        task = NB201Task(table, "cifar10-valid", query_seed=mode)
        run_one("random_search", task, budget, 3, tmp_path / name / "seed-3.h5")
        trajs.append(read_trajectory(tmp_path / name / "seed-3.h5"))
    a, b, m = trajs
    np.testing.assert_array_equal(a["val"], b["val"])
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.attrs["query_seed"] == "random" and "query_seed" not in m.attrs
    assert a.attrs["run_id"] != m.attrs["run_id"]
    means = table.column("cifar10-valid", "valid_acc", 12)[a["arch_index"]]
    offsets = np.round(a["val"] - means, 6)
    assert set(offsets) <= {-0.5, 0.5} and len(set(offsets)) == 2  # every answer is one seed's, both seeds drawn


def test_a_resumed_random_seed_run_replays_the_same_draws(samples_table, tmp_path, monkeypatch):
    """A journaled run killed after 5 queries, then resumed: the replayed queries count, so every
    later query draws the seed a clean run draws."""
    from harness.budget import Budget
    from harness.protocols import NoConfig
    from harness.recorder import read_trajectory
    from harness.run import run_one

    class Killable(NB201Task):  # journaled like real training; the sample table's 3 cells only
        kill_at = None

        def attrs(self):
            return {**super().attrs(), "cost_unit": "measured_s"}

        def evaluate_one(self, codes, fidelity):
            if self.kill_at is not None and self._queries() == self.kill_at:
                raise KeyboardInterrupt
            return super().evaluate_one(codes, fidelity)

    space = NB201Space()

    class Cycle:  # asks the three sample cells in turn
        Config = NoConfig

        def __init__(self, space_, rng, cfg):
            pass

        def search(self, ev):
            for k in range(12):
                ev.evaluate(space.from_index(ARCHS[k % 3]))

    from harness.registry import METHODS

    monkeypatch.setitem(METHODS._items, "cycle3", Cycle)  # registered for this test only
    task = Killable(samples_table, "cifar10-valid", query_seed="random")
    task.fidelities = (12.0,)  # offered for the 3 sample cells (a full file has every cell)
    run_one("cycle3", task, Budget(max_evals=12), 5, tmp_path / "clean" / "seed-5.h5")
    task.kill_at = 5
    with pytest.raises(KeyboardInterrupt):
        run_one("cycle3", task, Budget(max_evals=12), 5, tmp_path / "resumed" / "seed-5.h5")
    assert (tmp_path / "resumed" / "seed-5.journal").exists()
    task.kill_at = None
    run_one("cycle3", task, Budget(max_evals=12), 5, tmp_path / "resumed" / "seed-5.h5")
    clean, resumed = (read_trajectory(tmp_path / d / "seed-5.h5") for d in ("clean", "resumed"))
    np.testing.assert_array_equal(clean["val"], resumed["val"])
    assert len(set(np.round(clean["val"], 6))) > 3  # more than one seed per cell was drawn


def test_a_search_on_the_three_sample_cells_is_one_line_naming_the_fix(nats_samples, samples_table, tmp_path,
                                                                       capsys):
    """The sample folder reads (the figures above) but answers 3 of 15,625 cells: a study on it is
    refused with one line naming the source and what to use, and --out is not made."""
    from benchmarks.nb201 import make
    from harness.cli import main

    with pytest.raises(DataError, match=r"only some of the 15625 cells \(hp=12: 3, hp=200: 3; from official "
                                        r"NATS-tss-v1_0-3ffb9-simple"):
        make("cifar10-valid", data=nats_samples, cache=tmp_path / "cache")
    out = tmp_path / "out"
    assert main(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods", "random_search",
                 "--data", str(nats_samples), "--cache", str(tmp_path / "cache"), "--seeds", "0:2",
                 "--budget-seconds", "12000", "--out", str(out)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: the NB201 data given") and "data fetch nb201" in err[0]
    assert not out.exists()
