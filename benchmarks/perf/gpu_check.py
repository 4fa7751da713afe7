"""The prepared GPU check (docs/training.md, "The GPU check"): on one GPU, in a few minutes, it trains
through the harness's own code and prints one line per check:

* images/s (bf16 autocast, channels-last) and data wait of the NB201 cell net (C=16, N=5, 32 px) and
  the DARTS evaluation net (C=36, 20 cells, 32 px), the second of two epochs over synthetic images;
* the streamed ImageFolder path at 224 px (generated JPEGs, DataLoader workers) with the DARTS
  ImageNet net (C=48, 14 cells): images/s and the fraction of step time spent waiting for data;
* one epoch of the full-size NB201 supernet (C=16, N=5) for EvNAS and for EDNAS, run as the methods
  themselves under a 1-epoch budget, on synthetic 32 x 32 data (25k train / 5k valid);
* a 2-process DDP run on the one GPU (gloo: nccl refuses two ranks on one device) whose loss curve
  must match one process with accum=2;
* peak GPU memory of each.

    benchmarks/perf/gpu_check.sh              # one GPU
    benchmarks/perf/gpu_check.sh --dry-run    # CPU, tiny sizes (CI: tests/benchmarks/training/test_gpu_check.py)

Exits 1 when a check fails or a curve does not match; the last line is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.spaces.darts import DARTS_V2, DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from benchmarks.training.data.images import Data, Split  # noqa: E402
from benchmarks.training.recipe import preset  # noqa: E402
from benchmarks.training.trainer import Trainer  # noqa: E402
from harness.protocols import SearchData  # noqa: E402

RESNET_CELL = 11472  # NB201's ResNet-like cell
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

# full size (one GPU) and dry-run size (CPU); the dry run keeps every code path, shrinks every number
SIZES: dict[bool, dict[str, Any]] = {
    False: dict(nb201=(16, 5, 32, 256, 40), darts=(36, 20, 32, 96, 40), stream=(48, 14, 224, 128, 16, 12),
                supernet=(16, 5, 32, 25_000, 5_000), ddp=(16, 5, 32, 64, 10), ddp_rel=1e-2,
                evnas={}, ednas={}),
    True: dict(nb201=(4, 1, 8, 16, 3), darts=(4, 2, 8, 8, 3), stream=(4, 2, 16, 8, 2, 1),
               supernet=(4, 1, 8, 64, 32), ddp=(4, 1, 8, 16, 2), ddp_rel=1e-4,
               evnas={"population": 4, "tournament": 2}, ednas={"n_candidates": 4}),
}


def synthetic_images(n: int, side: int, classes: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 noise images and labels: throughput does not depend on what the pixels show."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8, generator=g)
    return x, torch.randint(0, classes, (n,), generator=g)


def synthetic_data(n_train: int, side: int) -> Data:
    x, y = synthetic_images(n_train + 64, side)
    train, held = Split(x[:n_train], y[:n_train]), Split(x[n_train:], y[n_train:])
    return Data("synthetic32", train, held, held, 10, CIFAR_MEAN, CIFAR_STD, crop_pad=side // 8, flip=True)


def nb201_net(C: int, N: int) -> Callable[[], torch.nn.Module]:
    from benchmarks.training.nets.nb201 import NB201Net

    return lambda: NB201Net(NB201Space().from_index(RESNET_CELL), C, N, 10)


def darts_net(C: int, layers: int, classes: int = 10, imagenet: bool = False) -> Callable[[], torch.nn.Module]:
    from benchmarks.training.nets.darts import DartsNet

    return lambda: DartsNet(DartsSpace().parse(DARTS_V2), C, layers, classes, 3, True, imagenet)


def _peak(device: str) -> dict[str, float]:
    if device.startswith("cuda"):
        return {"peak_gib": torch.cuda.max_memory_allocated(device) / 2**30}
    import resource

    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # process-wide


def _reset(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def train_rate(data: Any, build: Callable[[], torch.nn.Module], recipe_name: str, batch: int, device: str,
               compile: bool = False) -> dict[str, float]:
    """The harness trainer for two epochs; the second epoch's images/s and data wait."""
    _reset(device)
    recipe = preset(recipe_name, epochs=2, batch_size=batch, eval_batch_size=max(batch, 256))
    res = Trainer(data, recipe, 0, device=device, compile=compile).fit(build)
    last = res.figures[-1]
    return {"images_per_s": last["images_per_s"], "data_wait": last["data_wait"], "epoch_s": last["epoch_s"],
            "loss": last["loss"], **_peak(device)}


def check_nets(sizes: dict[str, Any], device: str, compile: bool) -> list[dict[str, Any]]:
    out = []
    for name, recipe, make in (("nb201", "nb201-hp12", nb201_net), ("darts", "darts-eval", darts_net)):
        C, depth, side, batch, steps = sizes[name]
        fig = train_rate(synthetic_data(batch * steps, side), make(C, depth), recipe, batch, device, compile)
        out.append({"check": f"{name} C={C} depth={depth} {side}px batch {batch}", **fig})
    return out


def _jpegs(root: Path, n: int, side: int, classes: int = 10) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("val", max(classes, n // 8))):
        for i in range(count):
            folder = root / "imagenet" / split / f"c{i % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (side, side * 5 // 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:06d}.JPEG", quality=85)


def check_stream(sizes: dict[str, Any], device: str, compile: bool) -> list[dict[str, Any]]:
    from benchmarks.training.data.folders import imagenet

    C, layers, side, batch, steps, workers = sizes["stream"]
    workers = min(workers, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="gpu-check-jpeg-") as tmp:
        t0 = time.perf_counter()
        _jpegs(Path(tmp), batch * steps, side * 8 // 7)
        made = time.perf_counter() - t0
        data = imagenet(Path(tmp), side, workers=workers)
        fig = train_rate(data, darts_net(C, layers, data.num_classes, imagenet=True), "imagenet-250", batch,
                         device, compile)
    return [{"check": f"streamed ImageFolder {side}px, darts C={C} {layers} cells, batch {batch}, "
                      f"{workers} workers", "jpegs_made_s": made, **fig}]


class SyntheticSearch:
    """A task offering only images (``search_data``): the supernet methods train on it. It has no
    held-out answers, so the architecture a method submits is reported as NaN."""

    fidelities, default_fidelity = (1.0,), 1.0

    def __init__(self, data: SearchData) -> None:
        self.space, self.name, self.data = NB201Space(), "gpu-check/synthetic32", data

    def search_data(self) -> SearchData:
        return self.data

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Any:
        raise NotImplementedError("the GPU check's task answers no queries")

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(np.atleast_2d(codes))
        return np.full(n, np.nan), np.full(n, np.nan)

    def attrs(self) -> dict[str, Any]:
        return {"benchmark": "gpu-check", "dataset": self.data.name, "cost_unit": "measured_s"}


def check_supernets(sizes: dict[str, Any], device: str) -> list[dict[str, Any]]:
    from harness.budget import Budget
    from harness.run import run_one

    C, N, side, n_train, n_valid = sizes["supernet"]
    x, y = synthetic_images(n_train + n_valid, side)
    data = SearchData("synthetic32", x[:n_train].numpy(), y[:n_train].numpy(), x[n_train:].numpy(),
                      y[n_train:].numpy(), 10, CIFAR_MEAN, CIFAR_STD, crop_pad=side // 8, flip=True)
    out = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-runs-") as tmp:
        for method, config in (("evnas", {"generations": 1, **sizes["evnas"]}),
                               ("ednas", {"epochs": 1, **sizes["ednas"]})):
            _reset(device)
            t0 = time.perf_counter()
            summary = run_one(method, SyntheticSearch(data), Budget(max_epochs=1), 0, Path(tmp) / f"{method}.h5",
                              {**config, "C": C, "N": N, "device": device})
            out.append({"check": f"{method} NB201 supernet C={C} N={N}, one epoch on {n_train} + {n_valid} "
                                 f"{side}px images", "seconds": time.perf_counter() - t0,
                        "charged_s": float(summary["train_cost_s"]), **_peak(device)})
    return out


def ddp_losses(sizes: dict[str, Any], device: str, accum: int) -> tuple[list[float], dict[str, float]]:
    """This process's share of the DDP check (or all of it with accum=2): NB201 for a few steps at bf16."""
    from harness.distributed import init

    C, N, side, batch, steps = sizes["ddp"]
    _reset(device)
    recipe = preset("nb201-hp12", epochs=1, batch_size=batch)
    trainer = Trainer(synthetic_data(batch * steps, side), recipe, 0, init(), accum=accum, device=device)
    res = trainer.fit(nb201_net(C, N))
    return res.step_loss.tolist(), _peak(device)


def check_ddp(sizes: dict[str, Any], device: str, dry: bool) -> list[dict[str, Any]]:
    one, peak = ddp_losses(sizes, device, accum=2)
    with tempfile.TemporaryDirectory(prefix="gpu-check-ddp-") as tmp:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", __file__,
               "--part", "ddp", "--out", tmp, "--device", device, *(["--dry-run"] if dry else [])]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError("2-process run failed: " + " | ".join((proc.stdout + proc.stderr).splitlines()[-8:]))
        ranks = [json.loads((Path(tmp) / f"rank{r}.json").read_text()) for r in (0, 1)]
    two = np.asarray(ranks[0]["loss"])
    gap = float(np.max(np.abs(two - np.asarray(one)) / np.maximum(np.abs(np.asarray(one)), 1e-12)))
    ok = len(two) == len(one) and gap <= sizes["ddp_rel"]
    return [{"check": f"ddp 2 processes on one device vs 1 process with accum=2 ({len(one)} steps)",
             "max_rel_gap": gap, "tolerance": sizes["ddp_rel"], "ok": ok, "one_process": peak,
             "ranks": [r["peak"] for r in ranks]}]


def _line(r: dict[str, Any]) -> str:
    keys = [k for k in r if k not in ("check", "ok")]
    vals = ", ".join(f"{k} {r[k]:,.4g}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in keys)
    return f"{'ok  ' if r.get('ok', True) else 'FAIL'} {r['check']}: {vals}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: every code path in seconds")
    p.add_argument("--device", default=None, help="default: cuda:0, or cpu with --dry-run")
    p.add_argument("--compile", action="store_true", help="also torch.compile the networks (slower start)")
    p.add_argument("--only", default=None, help="comma-separated checks: nets, stream, supernets, ddp")
    p.add_argument("--part", choices=("ddp",), help=argparse.SUPPRESS)  # a rank of the DDP check
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    dry = args.dry_run
    device = args.device or ("cpu" if dry else "cuda:0")
    sizes = SIZES[dry]
    if dry:
        torch.set_num_threads(1)
    if args.part == "ddp":
        from harness.distributed import from_env, shutdown

        loss, peak = ddp_losses(sizes, device, accum=1)
        Path(args.out, f"rank{from_env().rank}.json").write_text(json.dumps({"loss": loss, "peak": peak}))
        shutdown()
        return 0
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device; run with --dry-run on a machine without a GPU", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"
    print(f"gpu check: device {device} ({name}), torch {torch.__version__}, dry run {dry}", flush=True)
    checks: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "nets": lambda: check_nets(sizes, device, args.compile),
        "stream": lambda: check_stream(sizes, device, args.compile),
        "supernets": lambda: check_supernets(sizes, device),
        "ddp": lambda: check_ddp(sizes, device, dry),
    }
    chosen = args.only.split(",") if args.only else list(checks)
    results: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for key in chosen:
        start = time.perf_counter()
        try:
            rows = checks[key]()
        except Exception as exc:  # noqa: BLE001 - a failed check is reported and makes the exit non-zero
            traceback.print_exc(file=sys.stderr)
            rows = [{"check": key, "ok": False, "error": (str(exc).splitlines() or [type(exc).__name__])[0]}]
        for r in rows:
            r["check_s"] = time.perf_counter() - start
            print(_line(r), flush=True)
        results.extend(rows)
    failed = [r["check"] for r in results if not r.get("ok", True)]
    print(json.dumps({"device": name, "dry_run": dry, "seconds": time.perf_counter() - t0, "failed": failed,
                      "results": results}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
