"""Validated inputs: every malformed flag, --set or --option value of `compare` is one line on stderr
and exit 2 when the study is built, before any run; bad output folders and OS errors likewise."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]
BASE = {"--benchmark": "nb201", "--dataset": "cifar10-valid", "--methods": "random_search,regularized_evolution",
        "--seeds": "0:2", "--budget-evals": "5", "--workers": "1"}


def argv(tmp_path: Path, *extra: str, **flags: str) -> list[str]:
    base = {**BASE, "--out": str(tmp_path / "out"), **flags}
    return ["compare", *[x for kv in base.items() for x in kv], *extra]


@pytest.fixture()
def env(nb201_data: Path, harness_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))


def one_line_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    code = main(args)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


MALFORMED = [
    # --set: wrong type, out of range, unknown key, method not run, malformed pair
    (["--set", "regularized_evolution.population=abc"], "--set regularized_evolution.population must be an integer >= 1, got 'abc'"),
    (["--set", "regularized_evolution.population=0"], "--set regularized_evolution.population must be an integer >= 1, got '0'"),
    (["--set", "regularized_evolution.population=2.5"], "must be an integer >= 1, got '2.5'"),
    (["--set", "regularized_evolution.sample_size=-3"], "--set regularized_evolution.sample_size must be an integer >= 1"),
    (["--set", "regularized_evolution.populaton=5"], "--set regularized_evolution.populaton: unknown option (did you mean 'population'?); options: population, sample_size"),
    (["--set", "reinforce.learning_rate=0.1"], "--set reinforce.learning_rate: reinforce is not among the methods run"),
    (["--set", "random_search.batch=none"], "--set random_search.batch must be an integer >= 1, got 'none'"),
    (["--set", "random_search.batch"], "--set must look like KEY=VALUE"),
    (["--set", "population=3"], "--set must look like METHOD.KEY=VALUE"),
    (["--set", "nosuch.x=1"], "--set nosuch.x: nosuch is not among the methods run"),
    # --option: unknown, wrong choice, wrong type
    (["--option", "report_tset=same"], "--option report_tset: unknown option (did you mean 'report_test'?); options: images, query_seed, report_test, train_images"),
    (["--option", "report_test=exact"], "--option report_test must be one of paper, same, got 'exact'"),
    (["--option", "train_images=many"], "--option train_images must be an integer >= 1 or none, got 'many'"),
    (["--option", "train_images=0"], "--option train_images must be an integer >= 1 or none"),
    # budgets
    (["--budget-seconds", "inf"], "--budget-seconds must be a finite number in (0, 1e+07], got inf"),
    (["--budget-seconds", "nan"], "--budget-seconds must be a finite number"),
    (["--budget-seconds", "1e308"], "--budget-seconds must be a finite number in (0, 1e+07], got 1e+308"),
    (["--budget-evals", "0"], "--budget-evals must be an integer in (0, 1e+06], got 0"),
    (["--budget-epochs", "-2"], "--budget-epochs must be a finite number"),
    (["--budget-evals", "2.5"], "argument --budget-evals: invalid int value: '2.5'"),
    # seeds, methods, datasets, workers
    (["--seeds", "3,3,3"], "--seeds repeat 3: each seed may appear once"),
    (["--seeds=-1:3"], "--seeds must be A:B (0 <= A < B)"),
    (["--seeds", "5:2"], "--seeds must be A:B (0 <= A < B)"),
    (["--seeds", "a:b"], "--seeds must be A:B"),
    (["--seeds", ""], "--seeds must be A:B"),
    (["--seeds", "1,,2"], "--seeds must be A:B"),
    (["--seeds", "0:2:4"], "--seeds must be A:B"),
    (["--methods", "random_search,random_search"], "--methods names random_search more than once"),
    (["--methods", "random_search,"], "--methods needs comma-separated names without empty items"),
    (["--dataset", "cifar10-valid,cifar10-valid"], "--dataset names cifar10-valid more than once"),
    (["--workers", "0"], "--workers must be >= 1, got 0"),
    (["--workers", "-3"], "--workers must be >= 1, got -3"),
    (["--workers", "two"], "argument --workers: invalid int value: 'two'"),
    (["--constraint", "params_m<<1"], "constraint"),
]


@pytest.mark.parametrize("extra,message", MALFORMED, ids=[" ".join(e) for e, _ in MALFORMED])
def test_malformed_values_are_one_line_and_exit_2(env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 extra: list[str], message: str) -> None:
    # the extra flags come last: a repeated plain flag overrides the base value (argparse keeps the last)
    assert message in one_line_error(capsys, argv(tmp_path, *extra))
    assert not (tmp_path / "out").exists()  # refused at build: nothing written


def test_good_values_reach_the_run_typed(env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.packs import read_pack

    code = main(argv(tmp_path, "--set", "regularized_evolution.population=4", "--set",
                     "regularized_evolution.sample_size=2", "--option", "report_test=same", "--seeds", "0"))
    assert code == 0, capsys.readouterr().err
    members = [t for p in sorted((tmp_path / "out").rglob("pack-*.h5")) for _, t in read_pack(p)]
    rea = [t for t in members if t.attrs["method"] == "regularized_evolution"]
    assert len(members) == 2 and len(rea) == 1
    config = rea[0].attrs["config"]
    config = json.loads(config) if isinstance(config, str) else config
    assert config["population"] == 4 and config["sample_size"] == 2


def test_output_folders_are_checked_before_any_work(env: None, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    assert f"--out {a_file} is a file, not a folder" in one_line_error(capsys, argv(tmp_path, **{"--out": str(a_file)}))
    under = a_file / "runs"
    assert f"--out {under}: {a_file} is a file, not a folder" in one_line_error(
        capsys, argv(tmp_path, **{"--out": str(under)}))
    assert f"--cache {a_file} is a file, not a folder" in one_line_error(
        capsys, argv(tmp_path, "--cache", str(a_file)))
    assert a_file.read_text() == "keep me"


def test_a_folder_that_refuses_files_is_named(env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """sysfs refuses new files even to root (a chmod'ed folder does not stop root; see the next test)."""
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        pass
    else:
        os.close(fd)
        os.unlink(name)
        pytest.skip("/sys accepts files here")
    assert "--out /sys/nas-harness-out: cannot write in /sys (" in one_line_error(
        capsys, argv(tmp_path, **{"--out": "/sys/nas-harness-out"}))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_folder_is_named(env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert f"--out {locked / 'runs'}: cannot write in {locked}" in one_line_error(
            capsys, argv(tmp_path, **{"--out": str(locked / "runs")}))
    finally:
        locked.chmod(0o700)


def test_an_os_error_while_running_is_one_line_and_keeps_finished_runs(
        env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk mid-study: one line naming the file, exit 2; the packs already written stay whole."""
    from harness.packs import PackWriter, read_pack

    assert main(argv(tmp_path, "--seeds", "0")) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.h5")}
    assert before

    def full(self: PackWriter, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "pack-new.h5"))

    monkeypatch.setattr(PackWriter, "close", full)
    assert main(argv(tmp_path, "--seeds", "0:3")) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and [ln for ln in err.splitlines() if ln.startswith("error")] == [
        f"error: {tmp_path / 'out' / 'pack-new.h5'}: No space left on device"]  # after the progress lines
    for path, data in before.items():
        assert path.read_bytes() == data and read_pack(path)


def test_a_worker_pool_reports_a_bad_set_as_one_line(nb201_data: Path, harness_cache: Path, tmp_path: Path) -> None:
    """The case that printed a multiprocessing RemoteTraceback: now refused before the pool starts."""
    env = {**os.environ, "NAS_HARNESS_DATA": str(nb201_data), "NAS_HARNESS_CACHE": str(harness_cache)}
    args = argv(tmp_path, "--set", "regularized_evolution.population=abc", **{"--workers": "2", "--seeds": "0:4"})
    r = subprocess.run([sys.executable, "-m", "harness", *args], check=False, capture_output=True, text=True,
                       cwd=REPO, env=env, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == ("error: --set regularized_evolution.population must be an integer >= 1, "
                                "got 'abc'")
