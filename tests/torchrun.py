"""Launch a module under torchrun with 2 gloo CPU processes, failing with the workers' own error lines
(torchrun's summary alone only says which rank died and with what signal)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
_CLUES = ("Error", "error:", "what():", "terminate called", "Traceback", "Fatal Python")


def torchrun(args: list[str], cwd: Path, nproc: int = 2, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m torch.distributed.run --standalone ... <args>``; assert it exits 0 and return it."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise _failure("torchrun", proc)
    return proc


def _failure(who: str, proc: subprocess.CompletedProcess) -> AssertionError:
    """A failed launch as one error: its exit code, the lines that look like the cause, its tail."""
    lines = (proc.stdout + proc.stderr).splitlines()
    clues = [ln for ln in lines if any(c in ln for c in _CLUES)][:20]
    return AssertionError(f"{who} exited {proc.returncode}\n" + "\n".join(clues)
                          + "\n--- tail ---\n" + "\n".join(lines[-25:]))


def ranks_and_one(worker: str, tmp: Path) -> tuple[list[dict], dict]:
    """Run ``worker`` under torchrun (2 ranks) and as one process; each writes ``<out>.<rank>.json``.
    Returns (the two ranks' results, the one-process result)."""
    import json

    torchrun(["-m", worker, str(tmp / "ddp")], cwd=tmp)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", worker, str(tmp / "one")], cwd=tmp, env=env, check=True, timeout=300)
    ranks = [json.loads((tmp / f"ddp.{r}.json").read_text()) for r in (0, 1)]
    return ranks, json.loads((tmp / "one.0.json").read_text())


def worker_main(averaging_gap: Callable[[], float], searches: dict[str, Callable[[Path], dict]]) -> None:
    """The ``__main__`` of a data-parallel test worker: join the group (or stay one process), measure
    the exact-step gap when there are ranks, run each named search into ``<out>.<name>.<rank>.h5`` and
    write everything to ``<out>.<rank>.json`` (``sys.argv[1]`` is ``<out>``)."""
    import json

    import torch

    from harness.distributed import init

    torch.set_num_threads(1)
    d = init()
    out = Path(sys.argv[1])
    result: dict = {"world": d.world, "rank": d.rank}
    if d.active:
        result["averaging_gap"] = averaging_gap()
    for name, search in searches.items():
        result[name] = search(out.parent / f"{out.name}.{name}.{d.rank}.h5")
    Path(f"{out}.{d.rank}.json").write_text(json.dumps(result))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun_nodes(args: list[str], cwds: list[Path], timeout: int = 300) -> list[subprocess.CompletedProcess]:
    """``args`` as a multi-node job on this machine: one torchrun launch per folder in ``cwds`` (a
    "node" of 1 gloo process each, ``--node-rank`` k), meeting by c10d rendezvous on 127.0.0.1;
    launch 0 hosts the rendezvous store. Asserts every launch exits 0."""
    port, n = free_port(), len(cwds)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", f"--nnodes={n}", "--nproc-per-node=1", f"--node-rank={k}",
         "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=nas-harness-test",
         f"--rdzv-conf=is_host={int(k == 0)}", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k, cwd in enumerate(cwds)]
    done = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for k, proc in enumerate(done):
        if proc.returncode != 0:
            raise _failure(f"node {k}: torchrun", proc)
    return done
