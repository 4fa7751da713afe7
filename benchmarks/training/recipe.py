"""One training recipe (SGD + cosine / SGDR / exponential decay) and the named presets the method
sheets use (NB201 hp=12 / hp=200, DARTS search and 600-epoch evaluation, ImageNet 250-epoch)."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from harness.errors import HarnessError, UnknownNameError

SCHEDULES = ("cosine", "sgdr", "exp")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides how a network is trained; ``key()`` identifies it in caches."""

    epochs: int = 12
    batch_size: int = 256          # global batch, split over processes and micro-batches
    lr: float = 0.1
    lr_min: float = 0.0
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"       # cosine to lr_min | sgdr (restarts) | exp (lr * gamma**epoch)
    sgdr_t0: int = 10              # first SGDR period in epochs
    sgdr_mult: int = 2             # SGDR period growth
    gamma: float = 0.97            # exp decay per epoch
    warmup_epochs: int = 0         # linear warm-up from lr/10 (large ImageNet batches)
    cutout: int = 0                # side of the cut-out square in pixels (0: off)
    aux_weight: float = 0.0        # auxiliary-head loss weight (DARTS nets)
    drop_path: float = 0.0         # final drop-path probability, ramped linearly over epochs
    label_smoothing: float = 0.0
    grad_clip: float = 0.0         # max global grad norm (0: off)
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise HarnessError(f"recipe schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise HarnessError(f"recipe needs epochs >= 1, batch_size >= 1, lr > 0; got "
                               f"{self.epochs}, {self.batch_size}, {self.lr}")
        if not 0 <= self.drop_path < 1 or not 0 <= self.label_smoothing < 1:
            raise HarnessError("recipe drop_path and label_smoothing must lie in [0, 1)")

    def lr_at(self, epoch: float) -> float:
        """Learning rate at a fractional epoch (updated every step)."""
        if self.warmup_epochs and epoch < self.warmup_epochs:
            return self.lr * (0.1 + 0.9 * epoch / self.warmup_epochs)
        if self.schedule == "exp":
            return self.lr * self.gamma ** math.floor(epoch)
        if self.schedule == "sgdr":
            period, start = float(self.sgdr_t0), 0.0
            while epoch >= start + period:
                start, period = start + period, period * self.sgdr_mult
            frac = (epoch - start) / period
        else:
            frac = min(epoch / self.epochs, 1.0)
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * frac))

    def drop_path_at(self, epoch: int) -> float:
        """DARTS ramps drop-path linearly from 0 to its final value."""
        return self.drop_path * epoch / self.epochs

    def key(self) -> str:
        """Canonical JSON of every field (cache identity)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    def replace(self, **changes: object) -> "Recipe":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise HarnessError(f"unknown recipe field(s) {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


PRESETS: dict[str, Recipe] = {
    # NB201: SGD Nesterov 0.9, lr 0.1 cosine to 0, wd 5e-4, batch 256, crop + flip
    "nb201-hp12": Recipe(epochs=12),
    "nb201-hp200": Recipe(epochs=200),
    # DARTS weight training during search (8-cell network, C=16)
    "darts-search": Recipe(epochs=50, batch_size=64, lr=0.025, lr_min=0.001, nesterov=False,
                           weight_decay=3e-4, grad_clip=5.0),
    # DARTS CIFAR evaluation (20 cells, C=36)
    "darts-eval": Recipe(epochs=600, batch_size=96, lr=0.025, nesterov=False, weight_decay=3e-4,
                         cutout=16, aux_weight=0.4, drop_path=0.2, grad_clip=5.0),
    # DARTS ImageNet mobile setting (14 cells, C=48): lr 0.1 decayed 0.97 per epoch
    "imagenet-250": Recipe(epochs=250, batch_size=128, lr=0.1, nesterov=False, weight_decay=3e-5,
                           schedule="exp", gamma=0.97, aux_weight=0.4, label_smoothing=0.1,
                           grad_clip=5.0),
    # the embedded default study on scikit-learn digits (docs/training.md, "choosing the default")
    "digits-fast": Recipe(epochs=2, batch_size=32, lr=0.1, weight_decay=5e-4),
}


def preset(name: str, **changes: object) -> Recipe:
    """A named recipe, optionally with some fields changed."""
    if name not in PRESETS:
        raise UnknownNameError(f"unknown recipe '{name}'; known: {', '.join(PRESETS)}")
    return PRESETS[name].replace(**changes) if changes else PRESETS[name]
