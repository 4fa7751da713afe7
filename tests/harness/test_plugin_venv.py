"""The whole user path, installed for real (NAS_HARNESS_VENV_TEST=1; ~40-60 s, two pip installs): a
venv over the system packages, the harness and a user's package (tests/harness/plugin_package.py)
pip-installed into it; the user's method appears in ``nas-harness list``, runs sealed in
``nas-harness compare`` from a folder with its own ``benchmarks/`` package, and the package's own
pytest suite uses the fixtures of the harness's pytest11 plugin. tests/harness/test_plugins.py
covers the same path without pip (a .dist-info on PYTHONPATH) in every run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store import scan
from tests.harness.plugin_package import write_package

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not os.environ.get("NAS_HARNESS_VENV_TEST"),
                                reason="set NAS_HARNESS_VENV_TEST=1 to pip-install the harness and a plugin "
                                       "package into a temporary venv (~40-60 s)")


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}{r.stderr[-2000:]}"
    return r


def test_a_pip_installed_plugin_is_listed_runs_sealed_and_tested_in_its_own_suite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("NAS_HARNESS_")}
    env["NAS_HARNESS_CACHE"] = str(tmp_path / "cache")
    venv = tmp_path / "venv"
    # without pip: the system pip and setuptools (the ones a venv bundles may be too old to build wheels)
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], tmp_path, env)
    bin_ = venv / "bin"
    # the harness from a copy of this checkout (a build writes egg-info and build/ beside its sources)
    src = tmp_path / "nas-harness"
    for name in ("harness", "methods", "benchmarks", "reports"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "perf"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    pkg = write_package(tmp_path / "toyplug")
    pip = [bin_ / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    _run([*pip, src, pkg], tmp_path, env)
    where = _run([bin_ / "python", "-c", "import harness, toyplug; print(harness.__file__, toyplug.__file__)"],
                 tmp_path, env).stdout.split()
    assert all(str(venv) in w for w in where), where

    project = tmp_path / "project"  # a user's project with a benchmarks/ package of its own
    (project / "benchmarks").mkdir(parents=True)
    (project / "benchmarks" / "__init__.py").write_text("")
    listed = _run([bin_ / "nas-harness", "list"], project, env).stdout
    assert "[plugin toyplug.method]" in listed and "[plugin toyplug.bench]" in listed and "  nb201 " in listed
    _run([bin_ / "nas-harness", "compare", "--benchmark", "toy-bench", "--dataset", "demo", "--methods", "toy_rs",
          "--seeds", "0:2", "--budget-seconds", "1500", "--workers", "1", "--out", project / "runs"], project, env)
    runs = [r for _, rs, _ in scan(project / "runs") for r in rs or ()]
    assert len(runs) == 2
    for run in runs:
        assert run.attrs["isolated"] in (True, 1) and run.attrs["probe_bench_import"] == "refused"
        assert (run.attrs["plugin_distribution"], run.attrs["plugin_version"]) == ("toyplug", "0.3.0")

    _run([bin_ / "nas-harness", "golden", "--method", "toy_rs", "--benchmark", "toy-bench", "--dataset", "demo",
          "--seeds", "100:116", "--budget-seconds", "1500", "--out", pkg / "tests" / "golden_toy_rs.json"], pkg, env)
    # no -p: the harness's pytest11 entry point loads the fixtures
    suite = _run([bin_ / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], pkg, env)
    assert "3 passed" in suite.stdout
