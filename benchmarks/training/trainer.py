"""Train one network with a Recipe on one or many processes (DDP under torchrun), checkpointing
every epoch so a killed run resumes where it stopped. Imports torch.

Every random draw comes from generators seeded by (seed, epoch), so a resumed run and an N-process
run repeat the 1-process run: the global batch is cut into ``world * accum`` equal chunks and
process r trains chunks r*accum .. r*accum+accum-1, accumulating their gradients.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from benchmarks.training import augment
from benchmarks.training.checkpoint import load_matching, save_on_main
from benchmarks.training.data.images import Data, Split
from benchmarks.training.recipe import Recipe
from benchmarks.training.optim import SGD
from harness.distributed import Dist, all_reduce_sum, barrier, broadcast_buffers, broadcast_object
from harness.errors import HarnessError
from harness.seeding import torch_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Loss curve (global mean per step), accuracies in percent, measured seconds."""

    step_loss: np.ndarray
    valid_acc: float
    test_acc: float
    epochs: int
    train_s: float   # measured training seconds over all (resumed) segments
    valid_s: float   # measured seconds of the validation pass


def _logits(out: torch.Tensor | tuple) -> tuple[torch.Tensor, torch.Tensor | None]:
    return out if isinstance(out, tuple) else (out, None)


def build_model(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Initialise the network from its own seed without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed, "init"))
        return build()


class Trainer:
    """Trains one architecture; ``fit`` returns a TrainResult on every process."""

    def __init__(self, data: Data, recipe: Recipe, seed: int, dist: Dist | None = None,
                 accum: int = 1, device: str | None = None) -> None:
        self.data, self.recipe, self.seed = data, recipe, seed
        self.dist = dist or Dist()
        self.accum = accum
        cuda = torch.cuda.is_available() and device != "cpu"
        self.device = torch.device(device or (f"cuda:{self.dist.local_rank}" if cuda else "cpu"))
        self.cuda = self.device.type == "cuda"
        self.mean = torch.tensor(data.mean, device=self.device)
        self.std = torch.tensor(data.std, device=self.device)

    # ------------------------------------------------------------------ training
    def fit(self, build: Callable[[], nn.Module], epochs: int | None = None,
            checkpoint: Path | None = None, on_epoch: Callable[[int], None] | None = None,
            checkpoint_min_s: float = 0.0) -> TrainResult:
        """Train to ``epochs`` of the recipe's schedule, resuming from ``checkpoint``; save after every
        epoch (or, with ``checkpoint_min_s``, only once that long has passed) and where it stops."""
        r, d = self.recipe, self.dist
        epochs = r.epochs if epochs is None else int(epochs)
        if not 1 <= epochs <= r.epochs:
            raise HarnessError(f"epochs must lie in 1..{r.epochs} for this recipe, got {epochs}")
        model = build_model(build, self.seed).to(self.device)
        if self.cuda:
            model = model.to(memory_format=torch.channels_last)
        opt = SGD(model.parameters(), r.momentum, r.nesterov, r.weight_decay)
        start, losses, train_s = self._resume(checkpoint, model, opt, epochs)
        # unused parameters are common: NB201 ops behind a dead node, a DARTS auxiliary head at weight 0
        net = nn.parallel.DistributedDataParallel(model, device_ids=[self.device] if self.cuda else None,
                                                  find_unused_parameters=True) if d.active else model
        last_save = time.perf_counter()
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            losses.extend(self._epoch(net, model, opt, epoch))
            train_s += time.perf_counter() - t0
            due = time.perf_counter() - last_save >= checkpoint_min_s or epoch + 1 == epochs
            due = broadcast_object(due, d)  # clocks differ per rank; _save's barrier must be met by all
            if due and epoch + 1 < r.epochs:  # the last stop is kept so a longer run can continue
                self._save(checkpoint, model, opt, epoch + 1, losses, train_s)
                last_save = time.perf_counter()
            if on_epoch is not None:
                on_epoch(epoch)
        broadcast_buffers(model, d)
        t0 = time.perf_counter()
        valid = self.accuracy(model, self.data.valid)
        valid_s = time.perf_counter() - t0
        test = self.accuracy(model, self.data.test)
        if checkpoint is not None and epochs == r.epochs:
            if d.main:
                checkpoint.unlink(missing_ok=True)  # fully trained: nothing left to continue
            barrier(d)  # no rank looks at the folder before rank 0 is done with it
        return TrainResult(np.asarray(losses[: epochs * self.steps()]), valid, test, epochs, train_s, valid_s)

    def steps(self) -> int:
        return max(1, len(self.data.train) // self.batch())

    def batch(self) -> int:
        return min(self.recipe.batch_size, len(self.data.train))

    def _epoch(self, net: nn.Module, model: nn.Module, opt: SGD, epoch: int) -> list[float]:
        """One epoch; modules that draw from torch's global generator (``nn.Dropout``) draw from one
        seeded by (seed, epoch, rank) and put back after, so a run does not depend on what ran
        before it in the process."""
        with torch.random.fork_rng(devices=[self.device] if self.cuda else []):
            torch.manual_seed(torch_seed(self.seed, "global", str(epoch), str(self.dist.rank)))
            return self._steps(net, model, opt, epoch)

    def _steps(self, net: nn.Module, model: nn.Module, opt: SGD, epoch: int) -> list[float]:
        r, d, data = self.recipe, self.dist, self.data
        g = torch.Generator().manual_seed(torch_seed(self.seed, "epoch", str(epoch)))
        perm = torch.randperm(len(data.train), generator=g)
        B, steps, chunks = self.batch(), self.steps(), d.world * self.accum
        if B % chunks:
            raise HarnessError(f"global batch {B} must be divisible by processes x micro-batches = {chunks}")
        cs = B // chunks
        model.drop_prob = r.drop_path_at(epoch)
        model.generator = torch.Generator(device=self.device).manual_seed(
            torch_seed(self.seed, "drop", str(epoch), str(d.rank)))
        crit = nn.CrossEntropyLoss(label_smoothing=r.label_smoothing)
        net.train()
        step_loss = torch.zeros(steps, dtype=torch.float64, device=self.device)
        for step in range(steps):
            idx = perm[step * B:(step + 1) * B]
            aug = augment.draw(B, data.image_size, data.crop_pad, data.flip, r.cutout, g)
            opt.zero_grad()
            for m in range(self.accum):
                sl = slice((d.rank * self.accum + m) * cs, (d.rank * self.accum + m + 1) * cs)
                x, y = self._batch(data.train, idx[sl])
                x = augment.apply(x, {k: v[sl] for k, v in aug.items()}, data.crop_pad, r.cutout)
                sync = contextlib.nullcontext() if not d.active or m == self.accum - 1 else net.no_sync()
                with sync, self._autocast():
                    logits, aux = _logits(net(x))
                    loss = crit(logits, y)
                    if aux is not None and r.aux_weight:
                        loss = loss + r.aux_weight * crit(aux, y)
                    (loss / self.accum).backward()
                step_loss[step] += loss.detach().double() / self.accum
            if r.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), r.grad_clip)
            opt.step(r.lr_at(epoch + step / steps))
        return (all_reduce_sum(step_loss, d) / d.world).cpu().tolist()

    def _batch(self, split: Split, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = augment.normalise(split.x[idx].to(self.device, non_blocking=True), self.mean, self.std)
        if self.cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, split.y[idx].to(self.device, non_blocking=True)

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA only; CPU runs stay in float32."""
        if self.cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.no_grad()
    def accuracy(self, model: nn.Module, split: Split) -> float:
        """Top-1 accuracy in percent; processes score interleaved shares and sum the counts."""
        model.eval()
        d = self.dist
        idx = torch.arange(d.rank, len(split), d.world)
        counts = torch.zeros(2, dtype=torch.float64, device=self.device)
        for start in range(0, len(idx), self.recipe.eval_batch_size):
            x, y = self._batch(split, idx[start:start + self.recipe.eval_batch_size])
            with self._autocast():
                logits, _ = _logits(model(x))
            counts[0] += (logits.argmax(1) == y).sum()
            counts[1] += len(y)
        counts = all_reduce_sum(counts, d)
        return float(100.0 * counts[0] / counts[1]) if counts[1] else float("nan")

    # ------------------------------------------------------------------ checkpoints
    def _identity(self) -> str:
        return f"{self.recipe.key()}|seed={self.seed}|{self.data.name}|{self.data.sizes()}"

    def _save(self, path: Path | None, model: nn.Module, opt: SGD, epoch: int,
              losses: list[float], train_s: float) -> None:
        if path is not None:
            save_on_main(path, {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                                "losses": losses, "train_s": train_s, "identity": self._identity()}, self.dist)

    def _resume(self, path: Path | None, model: nn.Module, opt: SGD,
                epochs: int) -> tuple[int, list[float], float]:
        state = load_matching(path, self._identity(), self.device)
        if state is None:
            return 0, [], 0.0
        if int(state["epoch"]) > epochs:
            log.warning("ignoring checkpoint %s of a longer run", path)
            return 0, [], 0.0
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        log.info("resumed %s at epoch %d", path, state["epoch"])
        return int(state["epoch"]), list(state["losses"]), float(state["train_s"])
