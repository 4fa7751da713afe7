"""Faults in the prepared NB201 table and its sources: concurrent prepares on an empty cache, a
damaged cached table (patched, zero-filled, truncated), a damaged table passed directly, nonsense
values, and CSV exports cut at a line boundary or holding a NaN or a negative time."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmarks.tabular.nb201_sources import GABRO_C10
from benchmarks.tabular.nb201_table import ARRAYS, ensure_table, open_table, prepare
from harness.atomic import array_digest
from harness.errors import DataError

REPO = Path(__file__).resolve().parents[2]

PREPARE = """
import sys, time
from pathlib import Path
from benchmarks.tabular.nb201_table import ensure_table
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
print(ensure_table(Path(sys.argv[1]), Path(sys.argv[2])))
"""


def _same_arrays(a: Path, b: Path) -> None:
    ta, tb = open_table(a), open_table(b)
    for name in ("metrics", "params_m", "flops_m", "latency_ms"):
        assert np.array_equal(getattr(ta, name), getattr(tb, name), equal_nan=True), name


def test_two_concurrent_prepares_on_an_empty_cache_give_one_whole_table(tmp_path, nb201_data, nb201_table_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.time() + 3  # both start preparing at the same instant, after their imports
    procs = [subprocess.Popen([sys.executable, "-c", PREPARE, str(nb201_data), str(cache), str(start)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1
    table = Path(paths.pop())
    _same_arrays(table, nb201_table_path)  # nothing poisoned: the values of a clean prepare
    assert sorted(p.name for p in cache.iterdir()) == [table.name]  # no .part, no .corrupt


def _patch(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4096] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _zero_arrays(path: Path) -> None:
    """The poisoned table of the issue: every array zero, every attribute (and digest) intact."""
    with h5py.File(path, "r+") as f:
        for name in ("metrics", "params_m", "flops_m", "latency_ms"):
            f[name][...] = np.zeros(f[name].shape)  # a whole array: h5py broadcasts a scalar slowly


def _truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _zero_file(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


@pytest.mark.parametrize("damage", [_patch, _zero_arrays, _truncate, _zero_file])
def test_a_damaged_cached_table_is_moved_aside_and_rebuilt(tmp_path, nb201_data, nb201_table_path, damage, caplog,
                                                          monkeypatch):
    if damage is not _patch:  # one real rebuild is enough; the others prepare by copying the clean table
        import benchmarks.tabular.nb201_table as nt

        monkeypatch.setattr(nt, "prepare", lambda source, out: Path(shutil.copyfile(nb201_table_path, out)))
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = cache / nb201_table_path.name  # the name ensure_table gives this source's table
    shutil.copyfile(nb201_table_path, cached)
    (cache / f"{cached.name}.999999999-dead.part").write_bytes(b"left by a killed prepare")
    damage(cached)
    with pytest.raises(DataError) as err:
        open_table(cached)
    assert "\n" not in str(err.value) and str(cached) in str(err.value)
    with caplog.at_level(logging.WARNING):
        assert ensure_table(nb201_data, cache) == cached
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and cached.name in warnings[0] and "\n" not in warnings[0]
    _same_arrays(cached, nb201_table_path)
    assert sorted(p.name for p in cache.iterdir()) == [cached.name, cached.name + ".corrupt"]


def _rewrite(path: Path, edit) -> None:
    """Change the arrays and store a matching digest: damage no checksum can see."""
    with h5py.File(path, "r+") as f:
        arrays = {name: f[name][()] for name in ARRAYS}
        edit(arrays)
        for name in ("metrics", "params_m"):
            f[name][...] = arrays[name]
        f.attrs["arrays_sha256"] = array_digest(arrays)


@pytest.mark.parametrize("edit, match", [
    (lambda a: a["metrics"].__setitem__((7, 0, 4, 1), -5.4e305),
     r"column cifar10-valid/train_time_epoch/hp200 row 7 is -5.4e\+305"),
    (lambda a: a["metrics"].__setitem__((3, 2, 0, 0), 101.5), r"column cifar100/valid_acc/hp12 row 3 is 101.5, outside"),
    (lambda a: a["metrics"].__setitem__((9, 0, 5, 1), np.nan),
     r"column cifar10-valid/valid_time_epoch/hp200 row 9 has no value"),
    (lambda a: a["params_m"].__setitem__(2, np.inf), r"column params_m row 2 is inf"),
])
def test_a_table_passed_directly_with_nonsense_values_is_one_line(tmp_path, nb201_table_path, edit, match):
    bad = tmp_path / "nb201.h5"
    shutil.copyfile(nb201_table_path, bad)
    _rewrite(bad, edit)
    assert ensure_table(bad, tmp_path / "cache") == bad  # a table given directly is never replaced
    with pytest.raises(DataError, match=match) as err:
        open_table(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def _exports_with(tmp_path: Path, nb201_data: Path, rel: str, text: str) -> Path:
    src = tmp_path / "exports"
    for p in nb201_data.rglob("*"):
        if p.is_file():
            (src / p.relative_to(nb201_data)).parent.mkdir(parents=True, exist_ok=True)
            (src / p.relative_to(nb201_data)).symlink_to(p)
    (src / rel).unlink()
    (src / rel).write_text(text)
    return src


def _edit_row(text: str, row: int, column: str, value: str) -> str:
    lines = text.splitlines()
    col = lines[0].split(",").index(column)
    cells = lines[row].split(",")  # no quoted commas in this export
    cells[col] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("change, match", [
    (lambda t: "\n".join(t.splitlines()[:9001]) + "\n", r"cifar10_avg.csv has 9000 rows, expected 15625"),
    (lambda t: _edit_row(t, 42, "valid-accuracy", "nan"), r"cifar10_avg.csv: column 'valid-accuracy' row 42 has no value"),
    (lambda t: _edit_row(t, 43, "train-per-time", "-3.5"),
     r"cifar10_avg.csv: column 'train-per-time' row 43 is -3.5, not a finite non-negative number"),
    (lambda t: _edit_row(t, 44, "test-accuracy", ""), r"cifar10_avg.csv: column 'test-accuracy' row 44 has no value"),
])
def test_bad_exports_are_one_line_naming_file_column_row(tmp_path, nb201_exports, change, match):
    src = _exports_with(tmp_path, nb201_exports, GABRO_C10, change((nb201_exports / GABRO_C10).read_text()))
    with pytest.raises(DataError, match=match) as err:
        prepare(src, tmp_path / "t.h5")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "t.h5").exists() and not list(tmp_path.glob("*.part"))


def test_prepare_to_an_unusable_out_is_one_line_and_exit_2(tmp_path, nb201_data, capsys):
    from harness.cli import main

    (tmp_path / "file").write_text("x")
    for out in (tmp_path, tmp_path / "file" / "t.h5"):
        assert main(["prepare", "nb201", "--source", str(nb201_data), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and str(out) in err and "Traceback" not in err
