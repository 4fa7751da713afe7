"""Training throughput (images/s, forward + backward + SGD step) of the NB201 and DARTS networks.

    python benchmarks/perf/train_throughput.py                 # CPU, small and paper sizes
    python benchmarks/perf/train_throughput.py --device cuda   # GPU (bf16 autocast, channels-last)

Prints one line per network; under torchrun each process reports its own rate.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from benchmarks.training.nets.darts import DartsNet  # noqa: E402
from benchmarks.training.nets.nb201 import NB201Net, count_params  # noqa: E402
from benchmarks.training.optim import SGD  # noqa: E402
from benchmarks.spaces.darts import DARTS_V2, DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402

RESNET_CELL = 11472

# name -> (builder, image side, channels, batch)
CASES = {
    "nb201 C=8 N=1 digits 8x8": (lambda: NB201Net(NB201Space().from_index(RESNET_CELL), 8, 1, 10, 1), 8, 1, 32),
    "nb201 C=16 N=5 cifar 32x32": (lambda: NB201Net(NB201Space().from_index(RESNET_CELL), 16, 5, 10), 32, 3, 64),
    "darts-v2 C=16 8 cells cifar 32x32": (lambda: DartsNet(DartsSpace().parse(DARTS_V2), 16, 8, 10), 32, 3, 64),
    "darts-v2 C=36 20 cells cifar 32x32": (lambda: DartsNet(DartsSpace().parse(DARTS_V2), 36, 20, 10), 32, 3, 32),
}


def throughput(build, side: int, channels: int, batch: int, device: torch.device, seconds: float) -> float:
    """Images per second over ``seconds`` of training steps after two warm-up steps."""
    model = build().to(device)
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    opt = SGD(model.parameters(), 0.9, True, 5e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, side, side, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    crit = torch.nn.CrossEntropyLoss()
    model.train()

    def step() -> None:
        opt.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = model(x)
            logits, aux = out if isinstance(out, tuple) else (out, None)
            loss = crit(logits, y) + (0.4 * crit(aux, y) if aux is not None else 0.0)
        loss.backward()
        opt.step(0.01)

    for _ in range(2):
        step()
    if cuda:
        torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += batch
    if cuda:
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds per network")
    p.add_argument("--only", help="substring of the network names to run")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device={device} threads={torch.get_num_threads()} torch={torch.__version__}")
    for name, (build, side, ch, batch) in CASES.items():
        if args.only and args.only not in name:
            continue
        rate = throughput(build, side, ch, batch, device, args.seconds)
        params = count_params(build()) / 1e6
        print(f"{name:38s} params={params:6.3f}M batch={batch:3d} {rate:9.1f} images/s")


if __name__ == "__main__":
    main()
