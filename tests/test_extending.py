"""docs/extending.md runs as written: each example file is dropped into its folder (the packages' search
path is extended, as if the file were added to the checkout), then the guide's study runs through
``python -m harness compare --config`` on every new benchmark and executor."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.packs import read_pack

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "extending.md"
BLOCK = re.compile(r"```(?:python|toml)\n# file: (\S+)\n(.*?)```", re.S)
RUN = """
import sys
from pathlib import Path
import benchmarks, harness.executors, methods
root = Path(sys.argv[1])
for pkg, sub in ((methods, "methods"), (benchmarks, "benchmarks"), (harness.executors, "harness/executors")):
    pkg.__path__.append(str(root / sub))
from harness.cli import main
sys.exit(main(sys.argv[2:]))
"""


def examples() -> dict[str, str]:
    return {path: "# file: " + path + "\n" + body for path, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


def test_the_guide_has_one_example_of_each_kind() -> None:
    ex = examples()
    assert set(ex) == {"methods/one_plus_one.py", "benchmarks/toy_table.py", "benchmarks/linear_surrogate.py",
                       "harness/executors/threads.py", "toy_study.toml"}
    for path, text in ex.items():
        code = [ln for ln in text.splitlines()
                if ln.strip() and not ln.lstrip().startswith(("#", "import", "from", '"""'))]
        assert len(code) <= 25, (path, len(code))  # about 20 lines of code: read in one go


def _rows(out: Path) -> dict[tuple[str, str, int], object]:
    return {(t.attrs["benchmark"], t.attrs["method"], int(t.attrs["seed"])): t
            for pack in sorted(out.rglob("pack-*.h5")) for _, t in read_pack(pack)}


@pytest.fixture(scope="module")
def guide_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guide")
    for path, text in examples().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    valid = rng.uniform(10, 90, 15625)
    np.savez(data / "toy_table.npz", valid=valid, test=valid + rng.normal(0, 1, 15625),
             seconds=rng.uniform(20, 40, 15625))
    np.savez(data / "linear_surrogate.npz", valid_weights=rng.normal(0, 2, (6, 5)), valid_intercept=np.array(70.0),
             test_weights=rng.normal(0, 2, (6, 5)), test_intercept=np.array(68.0),
             seconds_weights=rng.uniform(1, 5, (6, 5)), seconds_intercept=np.array(20.0))
    runs = [("threads", "toy-table"), ("local", "toy-table"), ("threads", "linear-surrogate")]
    for executor, benchmark in runs:
        r = subprocess.run([sys.executable, "-c", RUN, str(root), "compare", "--config", str(root / "toy_study.toml"),
                            "--data", str(data), "--executor", executor, "--benchmark", benchmark, "--workers", "2",
                            "--out", str(root / f"{executor}-{benchmark}")],
                           capture_output=True, text=True, cwd=REPO, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "one_plus_one" in r.stdout and "| RS" in r.stdout  # random_search's display name
    listed = subprocess.run([sys.executable, "-c", RUN, str(root), "list"], capture_output=True, text=True, cwd=REPO)
    for name in ("one_plus_one", "toy-table", "linear-surrogate", "threads"):
        assert f"  {name} " in listed.stdout, name
    return root


def test_the_toy_table_answers_from_its_table_within_budget(guide_study: Path) -> None:
    with np.load(guide_study / "data" / "toy_table.npz") as f:
        valid, test, seconds = f["valid"], f["test"], f["seconds"]
    runs = _rows(guide_study / "threads-toy-table")
    assert sorted(runs) == [("toy-table", m, s) for m in ("one_plus_one", "random_search") for s in range(4)]
    for t in runs.values():
        i = t["arch_index"]
        assert np.array_equal(t["val"], valid[i]) and np.array_equal(t["report_test"], test[i])
        assert np.array_equal(t["cost_s"], seconds[i]) and t["cum_cost_s"][-1] <= 600


def test_one_plus_one_keeps_its_better_parent(guide_study: Path) -> None:
    for (_, method, _), t in _rows(guide_study / "threads-toy-table").items():
        if method != "one_plus_one":
            continue
        codes, val = t.codes, t["val"]
        parent, best = codes[0], val[0]
        for c, v in zip(codes[1:], val[1:]):
            assert int((c != parent).sum()) == 1  # each child is one mutation of the current parent
            if v >= best:
                parent, best = c, v


def test_every_executor_gives_the_same_trajectories(guide_study: Path) -> None:
    a, b = _rows(guide_study / "threads-toy-table"), _rows(guide_study / "local-toy-table")
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key].codes, b[key].codes)
        for col in ("val", "cost_s", "report_test"):
            assert np.array_equal(a[key][col], b[key][col]), (key, col)


def test_the_linear_surrogate_predicts_from_its_model(guide_study: Path) -> None:
    with np.load(guide_study / "data" / "linear_surrogate.npz") as f:
        m = {k: f[k] for k in f.files}
    runs = _rows(guide_study / "threads-linear-surrogate")
    assert len(runs) == 8
    for t in runs.values():
        assert t.attrs["noise"] == "deterministic"
        pick = lambda w: w[np.arange(6), t.codes].sum(axis=1)  # noqa: E731
        assert np.allclose(t["val"], m["valid_intercept"] + pick(m["valid_weights"]))
        assert np.allclose(t["cost_s"], m["seconds_intercept"] + pick(m["seconds_weights"]))
        assert np.allclose(t["report_test"], m["test_intercept"] + pick(m["test_weights"]))
