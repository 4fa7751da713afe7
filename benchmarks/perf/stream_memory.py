"""Peak memory of streamed training (benchmarks/training/data/folders.py) against the number of images:
a generated ImageFolder of N JPEGs, a small DARTS network trained for a fixed number of steps with
DataLoader workers; each N measured in a fresh process.

    python benchmarks/perf/stream_memory.py --images 1000 10000

Prints, per N: the training process's peak RSS, the largest worker's peak RSS, the bytes of the file
list (the only part that grows with N) and what the images would take decoded in memory.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def make_folder(root: Path, n: int, side: int = 72, classes: int = 10) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (classes, side, side * 5 // 4, 3)).astype(np.int16)
    for split, count in (("train", n), ("val", max(classes, n // 10))):
        for i in range(count):
            folder = root / "imagenet" / split / f"c{i % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            noise = rng.integers(-30, 31, base.shape[1:], dtype=np.int16)
            Image.fromarray(np.clip(base[i % classes] + noise, 0, 255).astype(np.uint8)).save(
                folder / f"{i:06d}.JPEG", quality=85)


def measure(root: Path, steps: int, batch: int, side: int, workers: int) -> dict[str, float]:
    """Train ``steps`` steps (one epoch of ``steps * batch`` images) and read the peaks."""
    import torch

    from benchmarks.spaces.darts import DARTS_V2, DartsSpace
    from benchmarks.training.data import images
    from benchmarks.training.nets.darts import DartsNet
    from benchmarks.training.recipe import preset
    from benchmarks.training.trainer import Trainer

    torch.set_num_threads(1)
    full = images.load("imagenet", root, image_size=side, workers=workers)
    n = len(full.train)
    list_bytes = sum(a.nbytes for a in (full.train.blob, full.train.offsets, full.train.labels, full.train.rows))
    codes = DartsSpace().parse(DARTS_V2)
    recipe = preset("imagenet-250", epochs=2, batch_size=batch, eval_batch_size=64)
    t0 = time.perf_counter()
    trainer = Trainer(_capped(full, steps * batch), recipe, 0, device="cpu")
    trainer.fit(lambda: DartsNet(codes, 8, 2, full.num_classes, 3, True, True), 1)
    return {"images": n, "train_s": time.perf_counter() - t0, "file_list_mb": list_bytes / 2**20,
            "decoded_in_memory_mb": n * 3 * side * side / 2**20,
            "main_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "steps": steps}


def _capped(data, n: int):
    """Only ``n`` images per epoch (the same steps for every N) and 64 to score, over the full file list
    (``take`` keeps every path in memory, as a full run would)."""
    from dataclasses import replace

    return replace(data, train=data.train.take(range(n)), valid=data.valid.take(range(min(64, len(data.valid)))),
                   test=data.test.take(range(min(64, len(data.test)))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--side", type=int, default=64, help="training crop side")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--one", help=argparse.SUPPRESS)  # measure in this process: the folder
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one), args.steps, args.batch, args.side, args.workers)))
        return
    for n in args.images:
        with tempfile.TemporaryDirectory(prefix="stream-mem-") as tmp:
            t0 = time.perf_counter()
            make_folder(Path(tmp), n)
            made = time.perf_counter() - t0
            out = subprocess.run([sys.executable, __file__, "--one", tmp, "--steps", str(args.steps), "--batch",
                                  str(args.batch), "--side", str(args.side), "--workers", str(args.workers)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{n:>7,d} images (made in {made:.1f} s): main peak RSS {r['main_peak_rss_mb']:.0f} MB, largest "
                  f"worker {r['worker_peak_rss_mb']:.0f} MB, file list {r['file_list_mb']:.2f} MB, decoded at "
                  f"{args.side} px would be {r['decoded_in_memory_mb']:.0f} MB; {r['steps']} steps in "
                  f"{r['train_s']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
