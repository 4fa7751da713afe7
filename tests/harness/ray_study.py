"""One Ray case of tests/harness/test_executors.py, run as its own process (``python -m
tests.harness.ray_study CASE OUT DATA CACHE RESULT``) so that this process, not pytest, is Ray's
driver: a Ray driver whose raylet goes away ends its process at once, which would end the whole
suite without a word. It starts a local Ray instance (2 CPUs), runs the case's study and writes what
the test checks to RESULT (json); the stored runs are read by the test from OUT.

Cases: ``same`` (the study on Ray), ``kill`` (one worker SIGKILLed with no retries: the study stops
with one line; then a rerun), ``retry`` (the same kill with one retry: the study completes)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import ray

from harness.errors import HarnessError
from harness.runner import compare, make_executor
from tests.harness.executor_study import KILL_SEED, METHODS, killing, rows, spec


def _case(case: str, out: Path, data: Path, cache: Path) -> dict:
    if case == "same":
        records = compare(spec(out, data, cache, "ray"))
        return {"records": len(records), "skipped": sum(r["skipped"] for r in records)}
    flags = out.parent / f"{out.name}-flags"
    flags.mkdir(parents=True)
    study = spec(out, data, cache, "ray", max_retries=1 if case == "retry" else 0)
    executor, killer = killing(make_executor(study), flags)
    killer.start()
    result: dict = {}
    try:
        result["records"] = len(compare(study, executor=executor))
    except HarnessError as exc:
        result["error"] = str(exc)
    killer.join()
    result["killed"] = (flags / "killed").exists()
    result["kill_error"] = (flags / "error").read_text() if (flags / "error").exists() else None
    if case == "kill":
        result["kept"] = sorted([m, s] for _, _, m, s in rows(out))
        result["kill_slot_kept"] = [METHODS[1], KILL_SEED] in result["kept"]
        rerun = compare(spec(out, data, cache, "ray"))
        result["rerun_skipped"] = sum(r["skipped"] for r in rerun)
    return result


def main(argv: list[str]) -> int:
    case, out, data, cache, result = argv
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        got = _case(case, Path(out), Path(data), Path(cache))
    finally:
        ray.shutdown()
    Path(result).write_text(json.dumps(got))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
