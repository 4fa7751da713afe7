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
from typing import Any, Callable

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
    figures: tuple[dict[str, float], ...] = ()  # per epoch trained here: loss, train_acc, images_per_s, ...

    def summary(self) -> dict[str, float]:
        """The last epoch's loss and accuracy, throughput and data-wait fraction over the epochs trained
        here (what the train cache row keeps beside the results)."""
        if not self.figures:
            return {}
        last, n = self.figures[-1], sum(f["images"] for f in self.figures)
        secs = sum(f["epoch_s"] for f in self.figures)
        return {"train_loss": last["loss"], "train_acc": last["train_acc"],
                "images_per_s": n / secs if secs else float("nan"),
                "data_wait": sum(f["data_wait"] * f["epoch_s"] for f in self.figures) / secs if secs else 0.0}


def _logits(out: torch.Tensor | tuple) -> tuple[torch.Tensor, torch.Tensor | None]:
    return out if isinstance(out, tuple) else (out, None)


def default_device(dist: Dist) -> str:
    """This process's GPU (local rank modulo the GPUs, so several ranks may share one) or the CPU."""
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{dist.local_rank % torch.cuda.device_count()}"


def build_model(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Initialise the network from its own seed without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed, "init"))
        return build()


class Trainer:
    """Trains one architecture; ``fit`` returns a TrainResult on every process."""

    def __init__(self, data: Data, recipe: Recipe, seed: int, dist: Dist | None = None,
                 accum: int = 1, device: str | None = None, compile: bool = False,
                 progress: Any = None) -> None:
        self.data, self.recipe, self.seed = data, recipe, seed
        self.dist = dist or Dist()
        self.accum = accum
        self.device = torch.device(device or default_device(self.dist))
        self.cuda = self.device.type == "cuda"
        self.compile = bool(compile)
        self.progress = progress if self.dist.main else None  # harness/progress.py Epochs: rank 0 reports
        self.streamed = bool(getattr(data, "streamed", False))  # benchmarks/training/data/folders.py
        self._stream: Any = None
        if self.streamed:
            from benchmarks.training.stream import Stream

            self._stream = Stream(data, self.dist, self.cuda)
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
        if self.compile:
            net = torch.compile(net)
        if self.streamed and start < epochs:
            self._stream.start(self.batch(), self.accum, self.seed)
        last_save = time.perf_counter()
        figures: list[dict[str, float]] = []
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            if self.progress is not None:
                self.progress.start(epoch, epochs, self.steps())
            epoch_loss, fig = self._epoch(net, model, opt, epoch)
            losses.extend(epoch_loss)
            dt = time.perf_counter() - t0
            train_s += dt
            images = float(self.steps() * self.batch())
            fig.update(epoch=epoch + 1, epochs=epochs, epoch_s=dt, loss=float(np.mean(epoch_loss)),
                       images=images, images_per_s=images / dt if dt else float("nan"))
            figures.append(fig)
            fig["eta_s"] = float(np.mean([f["epoch_s"] for f in figures])) * (epochs - epoch - 1)
            if self.progress is not None:
                self.progress.end(fig)
            due = time.perf_counter() - last_save >= checkpoint_min_s or epoch + 1 == epochs
            due = broadcast_object(due, d)  # clocks differ per rank; _save's barrier must be met by all
            if due and epoch + 1 < r.epochs:  # the last stop is kept so a longer run can continue
                self._save(checkpoint, model, opt, epoch + 1, losses, train_s)
                last_save = time.perf_counter()
            if on_epoch is not None:
                on_epoch(epoch)
        if self.streamed:
            self._stream.stop()  # its workers end here
        broadcast_buffers(model, d)
        t0 = time.perf_counter()
        valid = self.accuracy(model, self.data.valid)
        valid_s = time.perf_counter() - t0
        test = self.accuracy(model, self.data.test)
        if checkpoint is not None and epochs == r.epochs:
            if d.main:
                checkpoint.unlink(missing_ok=True)  # fully trained: nothing left to continue
            barrier(d)  # no rank looks at the folder before rank 0 is done with it
        return TrainResult(np.asarray(losses[: epochs * self.steps()]), valid, test, epochs, train_s, valid_s,
                           tuple(figures))

    def steps(self) -> int:
        return max(1, len(self.data.train) // self.batch())

    def batch(self) -> int:
        return min(self.recipe.batch_size, len(self.data.train))

    def _epoch(self, net: nn.Module, model: nn.Module, opt: SGD, epoch: int) -> tuple[list[float], dict]:
        """One epoch; modules that draw from torch's global generator (``nn.Dropout``) draw from one
        seeded by (seed, epoch, rank) and put back after, so a run does not depend on what ran
        before it in the process."""
        with torch.random.fork_rng(devices=[self.device] if self.cuda else []):
            torch.manual_seed(torch_seed(self.seed, "global", str(epoch), str(self.dist.rank)))
            return self._steps(net, model, opt, epoch)

    def _steps(self, net: nn.Module, model: nn.Module, opt: SGD, epoch: int) -> tuple[list[float], dict]:
        """The epoch's steps; returns the global loss per step and the epoch's figures (train accuracy
        and the fraction of the epoch spent waiting for batches)."""
        r, d, data = self.recipe, self.dist, self.data
        g = torch.Generator().manual_seed(torch_seed(self.seed, "epoch", str(epoch)))
        B, steps, chunks = self.batch(), self.steps(), d.world * self.accum
        # in memory: the permutation comes from g here; streamed: the sampler draws the same one itself
        perm = None if self.streamed else torch.randperm(len(data.train), generator=g)
        batches = self._stream.epoch(epoch) if self.streamed else None
        if B % chunks:
            raise HarnessError(f"global batch {B} must be divisible by processes x micro-batches = {chunks}")
        cs = B // chunks
        model.drop_prob = r.drop_path_at(epoch)
        model.generator = torch.Generator(device=self.device).manual_seed(
            torch_seed(self.seed, "drop", str(epoch), str(d.rank)))
        crit = nn.CrossEntropyLoss(label_smoothing=r.label_smoothing)
        net.train()
        step_loss = torch.zeros(steps, dtype=torch.float64, device=self.device)
        counts = torch.zeros(2, dtype=torch.float64, device=self.device)  # correct, seen (train accuracy)
        wait, t_epoch = 0.0, time.perf_counter()
        for step in range(steps):
            t_wait = time.perf_counter()
            if self.streamed:
                xs, ys = next(batches)  # this rank's accum chunks, decoded and augmented by the workers
                aug = augment.draw(B, data.image_size, 0, False, r.cutout, g) if r.cutout else None
            else:
                idx = perm[step * B:(step + 1) * B]
                aug = augment.draw(B, data.image_size, data.crop_pad, data.flip, r.cutout, g)
            wait += time.perf_counter() - t_wait
            opt.zero_grad()
            for m in range(self.accum):
                sl = slice((d.rank * self.accum + m) * cs, (d.rank * self.accum + m + 1) * cs)
                t_wait = time.perf_counter()
                if self.streamed:
                    x, y = self._to_device(xs[m * cs:(m + 1) * cs], ys[m * cs:(m + 1) * cs])
                    if aug is not None:
                        x = augment.apply(x, {k: v[sl] for k, v in aug.items()}, 0, r.cutout)
                else:
                    x, y = self._batch(data.train, idx[sl])
                    x = augment.apply(x, {k: v[sl] for k, v in aug.items()}, data.crop_pad, r.cutout)
                wait += time.perf_counter() - t_wait
                sync = contextlib.nullcontext() if not d.active or m == self.accum - 1 else net.no_sync()
                with sync, self._autocast():
                    logits, aux = _logits(net(x))
                    loss = crit(logits, y)
                    if aux is not None and r.aux_weight:
                        loss = loss + r.aux_weight * crit(aux, y)
                    (loss / self.accum).backward()
                step_loss[step] += loss.detach().double() / self.accum
                counts[0] += (logits.detach().argmax(1) == y).sum()
                counts[1] += len(y)
            if r.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), r.grad_clip)
            opt.step(r.lr_at(epoch + step / steps))
            if self.progress is not None:
                self.progress.step()
        if batches is not None:
            for _ in batches:  # the sampler yields exactly `steps` batches: this ends the loader's pass
                raise AssertionError("streamed epoch longer than its steps")
        losses = (all_reduce_sum(step_loss, d) / d.world).cpu().tolist()
        counts = all_reduce_sum(counts, d).cpu()
        elapsed = time.perf_counter() - t_epoch
        return losses, {"train_acc": float(100.0 * counts[0] / counts[1]),
                        "data_wait": wait / elapsed if elapsed else 0.0}

    def _batch(self, split: Split, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._to_device(split.x[idx], split.y[idx])

    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = augment.normalise(x.to(self.device, non_blocking=True), self.mean, self.std)
        if self.cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

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
        counts = torch.zeros(2, dtype=torch.float64, device=self.device)
        for x, y in self._eval_batches(split):
            with self._autocast():
                logits, _ = _logits(model(x))
            counts[0] += (logits.argmax(1) == y).sum()
            counts[1] += len(y)
        counts = all_reduce_sum(counts, d)
        return float(100.0 * counts[0] / counts[1]) if counts[1] else float("nan")

    def _eval_batches(self, split: Any) -> Any:
        """This rank's interleaved share of ``split`` in evaluation batches, on the device."""
        d, size = self.dist, self.recipe.eval_batch_size
        if self.streamed:
            for x, y in self._stream.eval_batches(split, size):
                yield self._to_device(x, y)
            return
        idx = torch.arange(d.rank, len(split), d.world)
        for start in range(0, len(idx), size):
            yield self._batch(split, idx[start:start + size])

    # ------------------------------------------------------------------ checkpoints
    def _identity(self) -> str:
        ident = f"{self.recipe.key()}|seed={self.seed}|{self.data.name}|{self.data.sizes()}"
        return f"{ident}|{self.data.pipeline()}" if self.streamed else ident  # e.g. another image size

    def _save(self, path: Path | None, model: nn.Module, opt: SGD, epoch: int,
              losses: list[float], train_s: float) -> None:
        if path is not None:
            save_on_main(path, {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                                "losses": losses, "train_s": train_s, "identity": self._identity()}, self.dist)

    def _resume(self, path: Path | None, model: nn.Module, opt: SGD,
                epochs: int) -> tuple[int, list[float], float]:
        d = self.dist
        # rank 0 reads the checkpoint and hands it over, so ranks on nodes that do not share rank 0's
        # filesystem resume from the same epoch instead of waiting for it in a collective
        state = load_matching(path, self._identity(), "cpu" if d.active else self.device) if d.main else None
        state = broadcast_object(state, d)
        if state is None:
            return 0, [], 0.0
        if int(state["epoch"]) > epochs:
            log.warning("ignoring checkpoint %s of a longer run", path)
            return 0, [], 0.0
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        log.info("resumed %s at epoch %d", path, state["epoch"])
        return int(state["epoch"]), list(state["losses"]), float(state["train_s"])
