import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args, env_extra=None, cwd=None):
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=300)


@pytest.fixture()
def env(nb201_data, harness_cache):
    return {"NAS_HARNESS_DATA": str(nb201_data), "NAS_HARNESS_CACHE": str(harness_cache)}


def test_compare_writes_packs_of_runs_and_a_table(env, tmp_path):
    from harness.packs import read_pack

    out = tmp_path / "cmp"
    r = cli("compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods",
            "random_search,regularized_evolution", "--seeds", "0:4", "--budget-seconds", "12000",
            "--out", str(out), "--workers", "2", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert not list(out.rglob("seed-*.h5"))  # tabular runs finish before a flush: packs only
    members = [m for p in sorted(out.rglob("pack-*.h5")) for m in read_pack(p)]
    assert len(members) == 8
    assert {(t.attrs["method"], t.attrs["seed"]) for _, t in members} == \
        {(m, s) for m in ("random_search", "regularized_evolution") for s in range(4)}
    assert "| RS |" in r.stdout and "| REA |" in r.stdout
    assert "finished" in r.stderr or "runs" in r.stderr
    attrs = members[0][1].attrs
    assert attrs["status"] == "complete" and attrs["benchmark"] == "nb201"
    assert "data_sha256" in attrs and "package_version" in attrs
    again = cli("compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods",
                "random_search,regularized_evolution", "--seeds", "0:4", "--budget-seconds", "12000",
                "--out", str(out), "--workers", "1", env_extra=env)
    assert again.returncode == 0 and "(0 new)" in again.stderr


@pytest.mark.parametrize("args,message", [
    (["--methods", "random_serch"], "unknown method 'random_serch' (did you mean 'random_search'?)"),
    (["--budget-seconds", "0"], "--budget-seconds must be a finite number in (0, 1e+07], got 0.0"),
    (["--seeds", "x:y"], "--seeds must be A:B"),
    (["--dataset", "cifar10"], "cifar10 has no validation split"),
    (["--benchmark", "nb2O1"], "unknown benchmark 'nb2O1'"),
])
def test_bad_input_is_one_line_on_stderr(env, tmp_path, args, message):
    base = {"--benchmark": "nb201", "--dataset": "cifar10-valid", "--methods": "random_search",
            "--seeds": "0:2", "--budget-seconds": "100", "--out": str(tmp_path / "o")}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    r = cli("compare", *[x for kv in base.items() for x in kv], env_extra=env)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""


def test_missing_data_dir_is_named(tmp_path):
    r = cli("compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods", "random_search",
            "--seeds", "0:1", "--budget-seconds", "100", "--data", str(tmp_path / "none"),
            "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_prepare_and_list(env, tmp_path, nb201_data):
    r = cli("prepare", "nb201", "--source", str(nb201_data), "--out", str(tmp_path / "t.h5"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "t.h5").exists()
    r = cli("list")
    assert "random_search" in r.stdout and "nb201" in r.stdout
    presets = r.stdout.split("presets (compare --preset NAME):\n")[1].splitlines()
    assert any(ln.split()[0] == "default" and "nb201-train on digits" in ln and "5 seeds" in ln for ln in presets)


@pytest.mark.parametrize("argv", [["list"], ["report", "--help"], ["compare", "--help"]])
def test_light_commands_import_neither_scipy_stats_nor_matplotlib(argv):
    """`list` and the help pages start without scipy.stats or matplotlib (they cost ~1 s of CPU)."""
    code = ("import runpy, sys\nsys.argv = ['harness', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('harness', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('scipy.stats', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_compare_flags_a_method_that_returns_early(env, tmp_path):
    """neuro_cell_evolution-tabular stops after its generations, well inside 12,000 s: compare's
    summary marks it under-spent with the fraction of the budget it used; RS is not marked."""
    r = cli("compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods",
            "neuro_cell_evolution-tabular,random_search", "--seeds", "0:3", "--budget-seconds", "12000",
            "--out", str(tmp_path), "--workers", "1", env_extra=env)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("† under-spent"))
    assert "3 of 3 runs of neuro_cell_evolution-tabular" in line
    frac = float(line.split("spending ")[1].split(" %")[0])
    assert 0 < frac < 100
    assert "| RS |" in r.stdout and "| neuro_cell_evolution-tabular † |" in r.stdout
