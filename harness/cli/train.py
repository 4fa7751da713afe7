"""`train`: train one architecture with a recipe; runs as-is under ``torchrun --nproc_per_node=N``
(DDP, one process per GPU or gloo on CPU), and rank 0 writes the result JSON."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.errors import HarnessError
from harness.progress import Epochs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one architecture for real (torchrun-ready)")
    p.add_argument("--space", choices=("nb201", "darts"), default="nb201", help="search space of --arch")
    p.add_argument("--arch", required=True, help="NB201 arch string or DARTS genotype (JSON or repr)")
    p.add_argument("--dataset", default="digits", help="digits, synthetic, cifar10-valid, cifar10, cifar100, "
                                                       "ImageNet16-120, imagenet (streamed), imagenet64")
    p.add_argument("--recipe", default=None, help="recipe preset (default: by benchmark and dataset)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a recipe field, e.g. epochs=2")
    p.add_argument("--C", type=int, default=None, help="initial channels")
    p.add_argument("--depth", type=int, default=None, help="NB201: cells per stage; DARTS: cells")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--epochs", type=int, default=None, help="stop after this many epochs of the schedule")
    p.add_argument("--train-images", type=int, default=None, help="train on a fixed subset of this size")
    p.add_argument("--accum", type=int, default=1, help="micro-batches per process and step")
    p.add_argument("--checkpoint", help="checkpoint file: written every epoch, resumed from when present")
    p.add_argument("--device", help="cpu or cuda:N (default: the local GPU when there is one)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--data", help="data directory (else $NAS_HARNESS_DATA)")
    p.add_argument("--download", action="store_true", help="fetch the dataset if it is missing (CIFAR)")
    p.add_argument("--out", help="write the result JSON here (rank 0); stdout otherwise")
    p.add_argument("--image-size", type=int, default=None, help="imagenet: training crop side (default 224)")
    p.add_argument("--workers", type=int, default=4, help="streamed data (imagenet): DataLoader workers per process")
    p.add_argument("--bad-images", choices=("stop", "skip"), default="stop",
                   help="streamed data: stop at an unreadable image, or replace it by the next readable one")
    p.add_argument("--compile", action="store_true", help="torch.compile the network (GPU speed)")
    p.set_defaults(func=run)


def _recipe_changes(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            raise HarnessError(f"--set must look like FIELD=VALUE, got {item!r}")
        out[key] = json.loads(val) if val not in ("cosine", "sgdr", "exp") else val
    return out


def run(args: argparse.Namespace) -> int:
    import torch

    from benchmarks.training.trainer import Trainer
    from harness.distributed import init, shutdown
    from harness.registry import BENCHMARKS

    if args.threads:
        torch.set_num_threads(args.threads)
    dist = init()
    options: dict[str, object] = {"recipe_changes": _recipe_changes(args.set), "download": args.download,
                                  "train_images": args.train_images, "image_size": args.image_size,
                                  "workers": args.workers, "bad_images": args.bad_images, "compile": args.compile}
    if args.recipe:
        options["recipe"] = args.recipe
    if args.C is not None:
        options["C"] = args.C
    if args.depth is not None:
        options["N" if args.space == "nb201" else "layers"] = args.depth
    task = BENCHMARKS.get(f"{args.space}-train")(args.dataset, data=args.data, **options)
    codes = task.space.parse(args.arch)
    data = task.data()
    trainer = Trainer(data, task.recipe, args.seed, dist, accum=args.accum, device=args.device,
                      compile=args.compile, progress=Epochs("train"))
    res = trainer.fit(lambda: task.build_net(codes, data.num_classes, data.in_channels), args.epochs,
                      Path(args.checkpoint) if args.checkpoint else None)
    if dist.main:
        out = {"arch": task.space.format(codes)[0], "dataset": args.dataset, "world": dist.world,
               "accum": args.accum, "epochs": res.epochs, "valid_acc": res.valid_acc, "test_acc": res.test_acc,
               "train_s": res.train_s, "valid_s": res.valid_s, "step_loss": res.step_loss.tolist(),
               "figures": list(res.figures), **res.summary()}
        text = json.dumps(out)
        if args.out:
            Path(args.out).write_text(text + "\n")
        else:
            print(text)
    shutdown()
    return 0
