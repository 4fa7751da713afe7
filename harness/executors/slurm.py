"""``slurm``: the chunks as one Slurm job array via submitit (one array element per chunk).

Each element rebuilds the tasks from the study's data and cache folders (they must be on the
nodes; submitit's own folder must be shared, as Slurm needs) and sends its result back to the
driver, the store's one writer. ``cluster=local`` runs the array as local processes (submitit's
local mode, used by the tests); ``cluster=debug`` runs it in this process. The elements ask for the
resources the benchmark declares (``ChunkWork.resources`` in harness/runner.py). submitit is
imported only when this executor runs (the ``slurm`` extra).

``tasks_per_run=N`` (a DDP-capable training benchmark only) makes each element one N-task srun job:
submitit gives every task its rank (``TorchDistributedEnvironment``), the tasks run the chunk in
lockstep as torchrun's ranks do (harness/lockstep.py: each training query one DDP job, rank 0
alone answers) and rank 0's result comes back; one GPU per task where the benchmark trains on GPUs.
"""
from __future__ import annotations

import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Annotated, Any, Iterator

from harness.errors import HarnessError
from harness.options import Bounds
from harness.registry import EXECUTORS

Chunk = list[tuple[str, str, int]]


@EXECUTORS.register("slurm")
class SlurmExecutor:
    """The chunks as a Slurm job array via submitit (cluster=local runs it locally)."""

    chunks_per_worker = 1  # an array element's start costs seconds: one chunk per parallel element

    def __init__(self, workers: int, folder: str | None = None, partition: str | None = None,
                 cluster: str | None = None, timeout_min: Annotated[int, Bounds(ge=1)] = 60,
                 poll_s: Annotated[float, Bounds(gt=0)] = 1.0,
                 tasks_per_run: Annotated[int, Bounds(ge=1)] = 1) -> None:
        self.workers, self.folder, self.partition, self.cluster = int(workers), folder, partition, cluster
        self.timeout_min, self.poll_s, self.tasks_per_run = timeout_min, poll_s, int(tasks_per_run)

    def map(self, work: Any, chunks: list[Chunk]) -> Iterator[Any]:
        try:
            import submitit
            from submitit.helpers import as_completed
        except ImportError:
            raise HarnessError("the slurm executor needs submitit: pip install 'nas-harness[slurm]'") from None
        if self.cluster is None and shutil.which("sbatch") is None:  # submitit would fall back to local quietly
            raise HarnessError("the slurm executor found no Slurm here (no sbatch); "
                               "--executor-option cluster=local runs the job array as local processes")
        spec = getattr(work, "spec", None)
        folder = Path(self.folder or (Path(spec.out) / ".submitit" if spec is not None else "submitit"))
        executor = submitit.AutoExecutor(folder=os.fspath(folder / "%j"), cluster=self.cluster)
        need = work.resources() if hasattr(work, "resources") else {"num_cpus": 1.0}
        params: dict[str, Any] = {"timeout_min": self.timeout_min, "cpus_per_task": max(1, int(need["num_cpus"])),
                                  "slurm_array_parallelism": max(1, self.workers)}
        if need.get("num_gpus"):
            params["gpus_per_node"] = int(need["num_gpus"]) * self.tasks_per_run
        if self.partition:
            params["slurm_partition"] = self.partition
        shipped = work.portable(tasks=False) if hasattr(work, "portable") else work
        ports: list[int | None] = [None] * len(chunks)
        if self.tasks_per_run > 1:
            _check_ddp(spec, self.tasks_per_run)
            # one task failing ends the job, not a peer waiting for it (Slurm; local tasks share this box)
            params.update(nodes=1, tasks_per_node=self.tasks_per_run, slurm_srun_args=["--kill-on-bad-exit=1"])
            shipped = _DDPElement(shipped)
            if self.cluster in ("local", "debug"):  # the elements' rendezvous ports, free here and distinct
                ports = _free_ports(len(chunks))
        executor.update_parameters(**params)
        jobs = executor.map_array(shipped, chunks, ports) if self.tasks_per_run > 1 else \
            executor.map_array(shipped, chunks)
        finished = as_completed(jobs, poll_frequency=self.poll_s) if self.tasks_per_run == 1 else \
            _as_completed_or_failed(jobs, self.tasks_per_run, self.poll_s)
        try:
            for job in finished:
                try:
                    result = job.results()[0]  # a multi-task job: task 0 (rank 0) answers
                except Exception as exc:  # submitit's failures: name the job, keep what is stored
                    last = (str(exc).strip().splitlines() or [""])[-1]
                    raise HarnessError(f"slurm job {job.job_id} failed ({type(exc).__name__}: {last}); "
                                       "finished runs are stored, rerun to complete") from None
                yield result
        finally:
            for job in jobs:
                if not job.done():
                    job.cancel(check=False)


def _as_completed_or_failed(jobs: list[Any], tasks: int, poll_s: float) -> Iterator[Any]:
    """Each multi-task job as it finishes, and at once the first job one of whose tasks failed: its
    peers would otherwise wait in a collective for the process group's timeout (30 min) where
    nothing kills them (srun's --kill-on-bad-exit does on Slurm; submitit's local mode has none).
    A task's result file (submitit's ``(outcome, value)`` pickle) appears as that task ends, before
    its job is done."""
    pending, ok = list(jobs), set()
    while pending:
        for job in list(pending):
            if job.done():
                pending.remove(job)
                yield job
                continue
            for k in range(tasks):
                path = job.task(k).paths.result_pickle
                if (job.job_id, k) in ok or not path.exists():
                    continue
                try:
                    with open(path, "rb") as f:
                        outcome, value = pickle.load(f)
                except Exception:  # noqa: BLE001 - still being written: the next poll reads it
                    continue
                if outcome == "success":
                    ok.add((job.job_id, k))
                    continue
                job.cancel(check=False)
                last = (str(value).strip().splitlines() or [""])[-1]
                raise HarnessError(f"slurm job {job.job_id} task {k} failed ({last}); its other tasks were "
                                   "stopped; finished runs are stored, rerun to complete")
        if pending:
            time.sleep(poll_s)


def _check_ddp(spec: Any, tasks: int) -> None:
    """Several tasks per run only where each training query can be one DDP job."""
    from harness.lockstep import is_ddp_capable
    from harness.registry import BENCHMARKS

    if spec is None or not is_ddp_capable(BENCHMARKS.get(spec.benchmark)):
        name = getattr(spec, "benchmark", "this work")
        raise HarnessError(f"tasks_per_run={tasks} needs a benchmark that trains with DDP; {name} does not "
                           "(run it with tasks_per_run=1)")


class _DDPElement:
    """One array element as a multi-task DDP job: every task takes its rank from submitit's
    environment, joins the lockstep and runs the chunk; submitit returns task 0's (rank 0's) result."""

    def __init__(self, work: Any) -> None:
        self.work = work

    def __call__(self, jobs: Chunk, port: int | None = None) -> Any:
        from submitit.helpers import TorchDistributedEnvironment

        from harness.lockstep import Lockstep

        TorchDistributedEnvironment().export(set_cuda_visible_devices=False)  # rank r takes cuda:r itself
        if port is not None:  # submitit's own port comes from the job id and may be taken on a busy box
            os.environ["MASTER_PORT"] = str(port)
        return self.work.in_lockstep(Lockstep.join())(jobs)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on this machine now (each bound at once, so none repeats)."""
    import socket

    held = [socket.socket() for _ in range(n)]
    try:
        for sock in held:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()
