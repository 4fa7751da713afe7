"""`export` and reports.load.to_dataframe: one tidy row per evaluation, run attributes as columns,
the same rows whatever the format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.cli import main
from harness.registry import BENCHMARKS
from harness.runner import CompareSpec, compare
from harness.store import scan
from tests.harness.sealed_probes import ProbeTask

pd = pytest.importorskip("pandas", reason="export needs pandas (the export extra)")


def _probe(dataset: str, *, data: str | None = None, cache: str | None = None) -> ProbeTask:
    return ProbeTask()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        BENCHMARKS.discover()
        mp.setitem(BENCHMARKS._items, "probe", _probe)  # registered for these tests only
        compare(CompareSpec(benchmark="probe", datasets=("toy",), methods=("random_search", "regularized_evolution"),
                            seeds=(0, 1, 2), budget=Budget(max_cost_s=2000), out=out, workers=1,
                            method_configs={"regularized_evolution": {"population": 5, "sample_size": 2}}))
    return out


def test_one_row_per_evaluation_with_the_run_s_attributes(store: Path) -> None:
    from reports.load import to_dataframe

    frame = to_dataframe(store)
    runs = [r for _, rs, _ in scan(store) for r in rs or ()]
    assert len(runs) == 6 and len(frame) == sum(len(r.trajectory) for r in runs)
    assert list(frame.columns[:4]) == ["benchmark", "dataset", "method", "seed"]
    assert "identity" not in frame.columns  # it repeats the other attributes
    for run in runs:
        rows = frame[(frame.method == run.attrs["method"]) & (frame.seed == run.attrs["seed"])]
        assert rows["row"].tolist() == list(range(len(run.trajectory)))
        np.testing.assert_array_equal(rows["report_test"].to_numpy(), run.trajectory["report_test"])
        np.testing.assert_array_equal(rows["arch_index"].to_numpy(), run.trajectory["arch_index"])
        assert rows["codes"].iloc[0] == ",".join(map(str, run.trajectory.codes[0]))
        assert set(rows["run_id"]) == {run.attrs["run_id"]} and set(rows["status"]) == {"complete"}
    rea = frame[frame.method == "regularized_evolution"]
    assert set(rea["config"]) == {'{"population":5,"sample_size":2}'}  # containers as canonical JSON
    assert frame["budget_max_cost_s"].dtype == np.float64 and frame["seed"].dtype == np.int64


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_the_same_table(store: Path, tmp_path: Path, fmt: str,
                                      capsys: pytest.CaptureFixture) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the export extra)")
    from reports.load import to_dataframe

    out = tmp_path / f"e.{fmt}"
    assert main(["export", str(store), "--format", fmt, "--out", str(out)]) == 0
    back = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    want = to_dataframe(store)
    assert back.shape == want.shape and list(back.columns) == list(want.columns)
    for col in ("method", "seed", "row", "codes", "val", "cum_cost_s", "report_test"):
        assert back[col].tolist() == want[col].tolist(), col
    assert f"{len(want)} evaluations of 6 runs -> {out}" in capsys.readouterr().err


def test_export_of_a_folder_without_runs_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["export", str(tmp_path), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no usable trajectory") and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written
