#!/usr/bin/env bash
# The prepared GPU check (docs/training.md, "The GPU check"): on a machine with one GPU, under 8 minutes;
#   benchmarks/perf/gpu_check.sh            # one GPU (cuda:0)
#   benchmarks/perf/gpu_check.sh --dry-run  # CPU, tiny sizes (CI)
# Extra flags go to benchmarks/perf/gpu_check.py (--only nets,stream,supernets,ddp; --compile).
# Exits non-zero when a check fails, a loss curve does not match, or it runs past 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec timeout --signal=TERM --kill-after=10 480 python benchmarks/perf/gpu_check.py "$@"
