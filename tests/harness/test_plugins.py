"""Plugins: a user's package found through its entry points (nas_harness.methods / .benchmarks) or
named with ``--plugin``, listed with its origin, run sealed by default (``--trust-plugins`` opts out,
recorded), tested in its own pytest suite through the harness's fixtures; and a user's own
``benchmarks/`` package never hides the harness's. Every command runs in a fresh interpreter, as a
user's would; the package (tests/harness/plugin_package.py) needs no data."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.store import scan
from harness.trajectory import COLUMNS
from tests.harness.plugin_package import fake_install, write_package

REPO = Path(__file__).resolve().parents[2]


def harness(*args: str, path: list[Path], cwd: Path | None = None,
            module: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [*path, REPO]))}
    env.pop("NAS_HARNESS_DATA", None)
    cmd = [sys.executable, *(module or ["-m", "harness"]), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or REPO, env=env, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package with a .dist-info beside it, as pip leaves it (its entry points are found)."""
    return fake_install(write_package(tmp_path_factory.mktemp("site")))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same package, not installed: reachable only with --plugin."""
    return write_package(tmp_path_factory.mktemp("src"))


def _runs(out: Path) -> list:
    return sorted((r for _, runs, _ in scan(out) for r in runs or ()), key=lambda r: r.slot)


def test_installed_plugins_are_listed_with_their_origin_datasets_and_options(installed: Path) -> None:
    r = harness("list", path=[installed])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    method = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["toy_rs"])
    assert "[plugin toyplug.method]" in lines[method] and "batch=1 (an integer >= 1)" in lines[method + 1]
    bench = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["toy-bench"])
    assert "[plugin toyplug.bench]" in lines[bench]
    assert lines[bench + 1].split() == ["datasets:", "demo,", "other"]
    assert "table_seed=0" in lines[bench + 2]
    nb201 = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["nb201"])
    assert "[plugin" not in lines[nb201] and "cifar10-valid, cifar100, ImageNet16-120" in lines[nb201 + 1]


def test_a_plugin_method_runs_sealed_unless_trusted_and_the_choice_is_recorded(installed: Path, tmp_path: Path) -> None:
    base = ["compare", "--benchmark", "toy-bench", "--dataset", "demo", "--methods", "toy_rs",
            "--seeds", "0:2", "--budget-seconds", "1500", "--workers", "1"]
    sealed = harness(*base, "--out", str(tmp_path / "sealed"), path=[installed])
    assert sealed.returncode == 0, sealed.stderr
    trusted = harness(*base, "--out", str(tmp_path / "trusted"), "--trust-plugins", path=[installed])
    assert trusted.returncode == 0, trusted.stderr
    a, b = _runs(tmp_path / "sealed"), _runs(tmp_path / "trusted")
    assert [r.slot for r in a] == [r.slot for r in b] and len(a) == 2
    for x, y in zip(a, b):
        assert x.attrs["isolated"] in (True, 1) and "plugin_trusted" not in x.attrs
        assert x.attrs["probe_bench_import"] == "refused" and x.attrs["probe_sees_env"] in (False, 0)
        assert y.attrs["plugin_trusted"] in (True, 1) and "isolated" not in y.attrs
        assert y.attrs["probe_bench_import"] == "imported"
        for attrs in (x.attrs, y.attrs):
            assert (attrs["plugin_module"], attrs["plugin_distribution"], attrs["plugin_version"]) == \
                ("toyplug.method", "toyplug", "0.3.0")
        assert x.attrs["run_id"] == y.attrs["run_id"]  # how it ran does not change what the run is
        for k in COLUMNS:
            if k != "wall_s":
                np.testing.assert_array_equal(x.trajectory[k], y.trajectory[k], err_msg=k)


def test_plugin_modules_named_by_flag_or_study_file(sources: Path, tmp_path: Path) -> None:
    """Not installed, so found only by name: one with --plugin before the command, one in the study file."""
    study = tmp_path / "study.toml"
    study.write_text('benchmark = "toy-bench"\ndatasets = ["other"]\nmethods = ["toy_rs"]\nseeds = "0:2"\n'
                     'plugins = ["toyplug.bench"]\n[budget]\nmax_cost_s = 800\n')
    r = harness("--plugin", "toyplug.method", "compare", "--config", str(study), "--out", str(tmp_path / "o"),
                "--workers", "1", path=[sources])
    assert r.returncode == 0, r.stderr
    runs = _runs(tmp_path / "o")
    assert len(runs) == 2 and all(x.attrs["isolated"] in (True, 1) for x in runs)
    assert runs[0].attrs["plugin_module"] == "toyplug.method" and "plugin_distribution" not in runs[0].attrs
    r = harness("list", "--brief", "--plugin", "toyplug.nothing", path=[sources])  # after the command
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("error: --plugin toyplug.nothing: no module named 'toyplug.nothing' on sys.path")


def test_a_broken_entry_point_is_one_line_naming_it(tmp_path: Path) -> None:
    site = fake_install(write_package(tmp_path))
    (site / "toyplug" / "method.py").write_text("raise RuntimeError('half-written plugin')\n")
    r = harness("list", path=[site])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "nas_harness.methods entry point 'toy_rs' (toyplug.method, from toyplug) failed to import: " \
           "RuntimeError: half-written plugin" in r.stderr


def test_the_package_s_own_suite_uses_the_harness_fixtures(installed: Path) -> None:
    golden = installed / "tests" / "golden_toy_rs.json"
    r = harness("golden", "--method", "toy_rs", "--benchmark", "toy-bench", "--dataset", "demo", "--seeds", "100:116",
                "--budget-seconds", "1500", "--out", str(golden), path=[installed])
    assert r.returncode == 0, r.stderr
    assert json.loads(golden.read_text())["dataset"] == "demo"
    # -p: this checkout is not pip-installed here; where it is, the pytest11 entry point has the same name
    r = harness("-p", "harness.pytest_plugin", "-p", "no:cacheprovider", "-q", "tests", path=[installed],
                cwd=installed, module=["-m", "pytest"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout


def test_a_users_own_benchmarks_package_does_not_hide_the_harness_s(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "benchmarks").mkdir(parents=True)
    (project / "benchmarks" / "__init__.py").write_text('"""The user\'s own benchmarks."""\n')
    (project / "my_method.py").write_text((Path(__file__).parent / "plugin_package.py").read_text().split(
        "METHOD = '''")[1].split("'''")[0])
    # python -m harness from the project: the current folder goes after the installed packages
    r = harness("--plugin", "my_method", "list", "--brief", path=[], cwd=project)
    assert r.returncode == 0, r.stderr
    assert "  nb201 " in r.stdout and "[plugin my_method]" in r.stdout
    # the user's folder first on PYTHONPATH: refused in one line naming it
    r = harness("list", path=[project], cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"package 'benchmarks' is imported from {project / 'benchmarks'}, which shadows nas-harness's own" \
        in r.stderr


def test_a_plugin_reusing_a_built_in_name_is_refused_naming_both(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.registry import METHODS, PluginError, load_plugins

    (tmp_path / "clash_plugin.py").write_text(
        "from harness.registry import METHODS\n\n@METHODS.register('random_search')\nclass Mine:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    builtin = METHODS.get("random_search")
    with pytest.raises(PluginError, match=r"--plugin clash_plugin: method 'random_search' is registered twice "
                                          r"\(by methods\.random_search and by clash_plugin\)"):
        load_plugins(["clash_plugin"])
    assert METHODS.get("random_search") is builtin  # nothing replaced
