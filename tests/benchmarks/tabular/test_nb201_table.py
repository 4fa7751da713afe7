import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmarks.spaces.nb201 import NB201Space
from benchmarks.tabular.nb201_table import ensure_table, open_table, prepare
from harness.errors import DataError


@pytest.fixture(scope="module")
def table(nb201_table_path):
    return open_table(nb201_table_path)


def test_real_figures(table):
    resnet = [11472]
    assert table.query(resnet, "cifar10-valid", "valid_acc", 200)[0] == pytest.approx(90.86, abs=0.01)
    assert table.query(resnet, "cifar10", "test_acc", 200)[0] == pytest.approx(93.91, abs=0.01)
    assert np.nanmax(table.column("cifar10", "test_acc", 200)) == pytest.approx(94.3733, abs=1e-3)
    assert np.nanmax(table.column("cifar100", "test_acc", 200)) == pytest.approx(73.5133, abs=1e-3)
    assert np.nanmax(table.column("cifar100", "valid_acc", 200)) == pytest.approx(73.4933, abs=1e-3)
    assert np.nanmax(table.column("ImageNet16-120", "test_acc", 200)) == pytest.approx(47.3111, abs=1e-3)
    # the hp=12 cost of arch 11 reproduces the official API's simulated cost (153.7 s)
    t = table.query([11], "cifar10-valid", "train_time_epoch", 200) * 12 + \
        table.query([11], "cifar10-valid", "valid_time_epoch", 200)
    assert t[0] == pytest.approx(153.70, abs=0.01)
    assert table.params_m[11472] == pytest.approx(0.559386, abs=1e-6)
    assert table.latency("raspi4")[0] == pytest.approx(10.481976820010459)


def test_missing_fields_are_errors_not_nan(table):
    with pytest.raises(DataError, match="none test_loss for cifar10 at hp=12"):
        table.query([0], "cifar10", "test_loss", 12)
    with pytest.raises(DataError, match="only some valid_acc for cifar100 at hp=200"):
        table.query(np.arange(100), "cifar100", "valid_acc", 200)
    with pytest.raises(DataError, match="unknown NB201 dataset"):
        table.query([0], "cifar-10", "valid_acc", 200)
    with pytest.raises(DataError, match="no latency for device"):
        table.latency("abacus")


def test_table_attributes_and_open_time(nb201_table_path):
    with h5py.File(nb201_table_path) as f:
        assert f["metrics"].shape == (15625, 4, 6, 2)
        assert int(f.attrs["schema_version"]) == 3
        assert "cifar10_avg.csv" in f.attrs["sources_sha256"]
        assert "hp=12" in f.attrs["provenance"]
    start = time.perf_counter()
    open_table(nb201_table_path)
    assert time.perf_counter() - start < 5  # generous; the real target is checked in benchmarks/perf


def test_cache_is_reused(nb201_data, harness_cache, nb201_table_path):
    assert ensure_table(nb201_data, harness_cache) == nb201_table_path


def test_corrupt_and_missing_sources(tmp_path, nb201_exports):
    with pytest.raises(DataError, match="does not exist"):
        prepare(tmp_path / "nope.pth", tmp_path / "t.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match="not a readable NB201 table"):
        open_table(bad)
    # an exports folder with a truncated CSV names the file
    src = tmp_path / "exports"
    for p in nb201_exports.rglob("*"):
        if p.is_file():
            (src / p.relative_to(nb201_exports)).parent.mkdir(parents=True, exist_ok=True)
            (src / p.relative_to(nb201_exports)).symlink_to(p)
    victim = src / "gabro8a__NAS-Landscapes/data/accuracy/cifar10_avg.csv"
    victim.unlink()
    victim.write_text(nb201_exports.joinpath("gabro8a__NAS-Landscapes/data/accuracy/cifar10_avg.csv")
                      .read_text()[:50000].rsplit(",", 3)[0])
    with pytest.raises(DataError, match="cifar10_avg.csv is corrupt"):
        prepare(src, tmp_path / "t.h5")
    victim.unlink()
    with pytest.raises(DataError, match="cannot read .*cifar10_avg.csv"):
        prepare(src, tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()


def _official_file(path: Path, space: NB201Space, evaluated: list[int]) -> dict:
    """A small file in the official NAS-Bench-201 .pth structure, built with the package's classes."""
    import torch
    from nas_201_api.api_utils import ArchResults, ResultsCount

    strings = space.format(space.all_codes())
    rng = np.random.default_rng(0)
    arch2infos, expect = {}, {}
    for idx in evaluated:
        infos = {}
        for key, epochs in (("less", 12), ("full", 200)):
            ar = ArchResults(idx, strings[idx])
            for ds, sets in (("cifar10-valid", ("x-valid", "ori-test")), ("cifar100", ("x-valid", "x-test"))):
                for seed in (777, 888):
                    accs = {e: float(rng.uniform(10, 90)) for e in range(epochs)}
                    r = ResultsCount(ds, None, accs, {e: 1.0 for e in range(epochs)}, 0.5 + idx / 1e5, 80.0,
                                     {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": strings[idx],
                                      "class_num": 10}, seed, epochs, None)
                    r.update_train_info(accs, None, {e: 1.0 for e in range(epochs)}, {e: 7.5 for e in range(epochs)})
                    ev = {f"{s}@{e}": float(rng.uniform(10, 90)) for s in sets for e in range(epochs)}
                    r.update_eval(ev, {k: 0.5 for k in ev}, {k: 2.5 for k in ev})
                    ar.update(ds, seed, r)
                    expect.setdefault((idx, key, ds), []).append(ev[f"x-valid@{epochs - 1}"])
            infos[key] = ar.state_dict()
        arch2infos[idx] = infos
    torch.save({"meta_archs": strings, "arch2infos": arch2infos, "evaluated_indexes": evaluated,
                "total_archs": len(strings)}, path)
    return expect


def test_official_pth_reader(tmp_path):
    space = NB201Space()
    expect = _official_file(tmp_path / "NAS-Bench-201-v1_0-mini.pth", space, [0, 11472])
    table = open_table(prepare(tmp_path / "NAS-Bench-201-v1_0-mini.pth", tmp_path / "t.h5"))
    assert table.query([11472], "cifar10-valid", "valid_acc", 200)[0] == pytest.approx(
        np.mean(expect[(11472, "full", "cifar10-valid")]))
    assert table.query([0], "cifar100", "valid_acc", 12)[0] == pytest.approx(np.mean(expect[(0, "less", "cifar100")]))
    assert table.query([0], "cifar10-valid", "train_time_epoch", 12)[0] == pytest.approx(7.5)
    assert table.params_m[11472] == pytest.approx(0.5 + 11472 / 1e5)
    with pytest.raises(DataError, match="only some"):
        table.query([0, 1], "cifar10-valid", "valid_acc", 12)
    (tmp_path / "junk.pth").write_bytes(b"\x00junk")
    with pytest.raises(DataError, match="not a readable NAS-Bench-201 file"):
        prepare(tmp_path / "junk.pth", tmp_path / "j.h5")
