"""Reports that scale: the cost of `report` and of `compare`'s summary against the study itself,
and the start-up of `list` / `report --help` against a bare interpreter (issue 13).

Runs `compare` (RS + REA on cifar10-valid, 12,000 simulated s, N seeds) and then `report` on its
output, each as its own process, and prints the ratios:

- report / study: wall seconds of `report DIR` over the seconds `compare` spent in the study;
- summary / study: seconds `compare` spent after the study (table, summary.md), from its own log;
- startup / `python -c pass`: `list`, `report --help` and `compare --help` wall time over the bare
  interpreter's, plus whether each loaded scipy.stats or matplotlib (it should not).

With ``--scale`` it also times `report` on the first half of the seeds, so linearity shows as a
ratio near 2. Usage: python benchmarks/perf/report_perf.py [--seeds 1000] [--workers 2] [--scale]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - t0, proc


def _best(args: list[str], env: dict[str, str], reps: int = 3) -> float:
    return min(_run(args, env)[0] for _ in range(reps))


def _loads_heavy(module_args: list[str], env: dict[str, str]) -> str:
    code = ("import sys, runpy; sys.argv = ['harness', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('harness', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', ','.join(m for m in ('scipy.stats', 'matplotlib') if m in sys.modules) or 'none')")
    _, proc = _run([sys.executable, "-c", code, *module_args], env)
    return re.findall(r"HEAVY (\S+)", proc.stdout)[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", action="store_true", help="also time report on half the seeds")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    py = [sys.executable, "-m", "harness"]

    bare = _best([sys.executable, "-c", "pass"], env)
    print(f"python -c pass: {bare:.3f} s")
    for cmd in (["list"], ["report", "--help"], ["compare", "--help"]):
        t = _best([*py, *cmd], env)
        print(f"{' '.join(cmd):16s} {t:.3f} s = {t / bare:.1f}x python -c pass; "
              f"loads {_loads_heavy(cmd, env)}")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs"
        wall, proc = _run([*py, "compare", "--benchmark", "nb201", "--dataset", "cifar10-valid",
                           "--methods", "random_search,regularized_evolution", "--seeds", f"0:{args.seeds}",
                           "--budget-seconds", "12000", "--out", str(out), "--workers", str(args.workers)], env)
        study = float(re.findall(r"runs \(\d+ new\) in ([0-9.]+) s", proc.stderr)[-1])
        print(f"compare {2 * args.seeds} runs: {wall:.1f} s wall, study {study:.1f} s; "
              f"start-up + summary {wall - study:.1f} s = {(wall - study) / study:.2f}x the study")
        rep, _ = _run([*py, "report", str(out), "--out", str(Path(tmp) / "report")], env)
        print(f"report {2 * args.seeds} runs: {rep:.1f} s = {rep / study:.2f}x the study")
        if args.scale:
            half = Path(tmp) / "half"
            shutil.rmtree(out / "report", ignore_errors=True)
            _run([*py, "compare", "--benchmark", "nb201", "--dataset", "cifar10-valid",
                  "--methods", "random_search,regularized_evolution", "--seeds", f"0:{args.seeds // 2}",
                  "--budget-seconds", "12000", "--out", str(half), "--workers", str(args.workers)], env)
            rep_half, _ = _run([*py, "report", str(half), "--out", str(Path(tmp) / "report-half")], env)
            print(f"report {args.seeds} runs: {rep_half:.1f} s; full / half = {rep / rep_half:.2f} (2 = linear)")


if __name__ == "__main__":
    main()
