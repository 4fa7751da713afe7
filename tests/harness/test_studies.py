"""Studies as TOML files: the built-in ones read and name registered things, a bad file is one line
naming the file and the key, and ``compare --config`` runs a copied study as ``--preset`` runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.registry import BENCHMARKS, METHODS
from harness.run import make_config
from harness.studies import STUDIES, parse_seeds, read_study

REPO = Path(__file__).resolve().parents[2]


def test_builtin_studies_are_the_shipped_files_and_name_registered_things() -> None:
    files = sorted(p.stem for p in (REPO / "benchmarks" / "studies").glob("*.toml"))
    assert STUDIES.names() == files and "default" in files and "nb201-table5" in files
    for name in files:
        study = STUDIES.get(name)
        assert study["benchmark"] in BENCHMARKS, name
        assert study["methods"] and all(m in METHODS for m in study["methods"]), name
        assert study["seeds"] and all(isinstance(s, int) for s in study["seeds"]), name
        for method, config in study.get("method_configs", {}).items():
            make_config(method, config)  # every option is one the method has
    assert STUDIES.get("nb201-table5")["seeds"] == list(range(500))
    assert STUDIES.get("nb201-table5")["budget"] == {"max_cost_s": 12000.0}


@pytest.mark.parametrize("text,message", [
    ('benchmark = "nb201"\nbudjet = 1\n', "unknown study key 'budjet'"),
    ('benchmark = 3\n', "benchmark must be a benchmark name, got 3"),
    ('seeds = "0:x"\n', "seeds must be A:B (0 <= A < B) or a comma list of distinct integers >= 0, got '0:x'"),
    ('seeds = "5:5"\n', "seeds must be A:B (0 <= A < B)"),
    ('seeds = [0, "1"]\n', "seeds must be a non-empty list of integers >= 0"),
    ('seeds = [1, 1]\n', "seeds repeat 1"),
    ('workers = 0\n', "workers must be >= 1"),
    ('[budget]\nmax_evals = 2.5\n', "budget.max_evals must be an integer in (0, 1e+06], got 2.5"),
    ('[budget]\nmax_cost_s = inf\n', "budget.max_cost_s must be a finite number"),
    ('methods = ["random_search"]\n[method_configs.reinforce]\nlearning_rate = 0.1\n',
     "method_configs.reinforce is for a method not in methods"),
    ('[method_configs.regularized_evolution]\npopulation = 2.0\n',
     "method_configs.regularized_evolution.population must be an integer >= 1, got 2.0"),
    ('[method_configs.reinforce]\nlearning_rate = 1\nbeta1 = 1\n', "method_configs.reinforce.beta1 must be"),
    ('benchmark = "nb201"\n[options]\nreport_tset = "same"\n',
     "options.report_tset: unknown option (did you mean 'report_test'?)"),
    ('workers = true\n', "workers must be an integer"),
    ('[budget]\nmax_seconds = 5\n', "unknown budget key(s) max_seconds"),
    ('[method_configs]\nrandom_search = 3\n', "method_configs.random_search must be a table"),
    ('benchmark = "nb201\n', "not valid TOML"),
])
def test_a_bad_study_file_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "study.toml"
    path.write_text(text)
    with pytest.raises(HarnessError) as err:
        read_study(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_preset_and_missing_file() -> None:
    with pytest.raises(HarnessError, match="unknown preset 'nb201-tabel5' \\(did you mean 'nb201-table5'\\?\\)"):
        STUDIES.get("nb201-tabel5")
    with pytest.raises(HarnessError, match="cannot read it"):
        read_study(REPO / "no-such-study.toml")
    assert parse_seeds("3:6") == (3, 4, 5) and parse_seeds("1,4") == (1, 4)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **env}, timeout=300)


def test_compare_config_runs_a_copied_study_like_its_preset(tmp_path: Path, nb201_data: Path,
                                                             harness_cache: Path) -> None:
    env = {"NAS_HARNESS_DATA": str(nb201_data), "NAS_HARNESS_CACHE": str(harness_cache)}
    text = (REPO / "benchmarks" / "studies" / "nb201-table5.toml").read_text()
    copy = tmp_path / "my_table5.toml"
    copy.write_text(text.replace('seeds = "0:500"', 'seeds = "0:3"'))
    by_file = _cli("compare", "--config", str(copy), "--out", str(tmp_path / "a"), env=env)
    by_name = _cli("compare", "--preset", "nb201-table5", "--seeds", "0:3", "--out", str(tmp_path / "b"), env=env)
    assert by_file.returncode == 0 and by_name.returncode == 0, by_file.stderr + by_name.stderr
    assert by_file.stdout == by_name.stdout and "| REA |" in by_file.stdout  # the study's paper-layout table
    both = _cli("compare", "--config", str(copy), "--preset", "default", env=env)
    assert both.returncode == 2 and both.stderr.strip() == "error: give --preset NAME or --config FILE, not both"
    bad = tmp_path / "bad.toml"
    bad.write_text('benchmark = "nb201"\ntable = "nb201-table9"\nmethods = ["random_search"]\n'
                   'datasets = ["cifar10-valid"]\nseeds = [0]\n[budget]\nmax_cost_s = 100\n')
    r = _cli("compare", "--config", str(bad), "--out", str(tmp_path / "c"), env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "nb201-table9" in r.stderr
    assert not (tmp_path / "c").exists()  # refused before any run


def test_a_study_may_give_each_dataset_its_own_budget(tmp_path):
    from harness.cli import build_parser
    from harness.cli.compare import spec_from_args, study_from_args

    study = STUDIES.get("nb201-table5-nats")
    assert study["budget_per_dataset"] == {"cifar100": {"max_cost_s": 40000.0},
                                           "ImageNet16-120": {"max_cost_s": 120000.0}}
    args = build_parser().parse_args(["compare", "--preset", "nb201-table5-nats", "--dataset", "cifar100",
                                      "--out", str(tmp_path / "o")])
    spec = spec_from_args(args, study_from_args(args))
    assert spec.budget_for("cifar100").max_cost_s == 40000.0  # one dataset picked: still its own budget
    args = build_parser().parse_args(["compare", "--preset", "nb201-table5-nats", "--budget-seconds", "5000",
                                      "--out", str(tmp_path / "o")])
    spec = spec_from_args(args, study_from_args(args))  # a flag applies to every dataset
    assert {spec.budget_for(ds).max_cost_s for ds in spec.datasets} == {5000.0}


@pytest.mark.parametrize("text, message", [
    ('[budget_per_dataset.mnist]\nmax_cost_s = 10.0', "budget_per_dataset.mnist is for a dataset not in datasets"),
    ('[budget_per_dataset.cifar100]\nmax_costs = 10.0', "unknown budget key"),
    ('[budget_per_dataset.cifar100]\nmax_cost_s = -1.0', "budget_per_dataset.cifar100.max_cost_s"),
    ('budget_per_dataset = 3', "budget_per_dataset must be a table"),
])
def test_bad_per_dataset_budgets_are_one_line(tmp_path, text, message):
    f = tmp_path / "s.toml"
    f.write_text('benchmark = "nb201"\ndatasets = ["cifar100"]\nmethods = ["random_search"]\nseeds = "0:1"\n'
                 + text + '\n[budget]\nmax_cost_s = 100.0\n')
    with pytest.raises(HarnessError, match=message) as e:
        read_study(f)
    assert "\n" not in str(e.value)
