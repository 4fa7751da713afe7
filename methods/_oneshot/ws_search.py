"""The loop the weight-sharing rows of the NB201 paper's Table 5 share (DARTS-V1/V2, GDAS, SETN, ENAS,
RSPS; docs/oneshot.md): the train split trains the supernet's weights, the valid split the architecture,
one charged row per epoch (measured seconds, 1 epoch) for as long as one more epoch fits the budget, a
final pick (charged 0 epochs), and the chosen cell handed to ``evaluator.submit`` like EvNAS/EDNAS.

Torch is imported only inside ``search`` so that importing a method file (discovery) stays light.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from harness.errors import BudgetExhausted
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from methods._common import require_space

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WSConfig:
    """The NB201 paper's weight-sharing settings (docs/oneshot.md: SGD 0.025 -> 0.001 cosine, momentum
    0.9, Nesterov, weight decay 5e-4, batch 64, clip 5; 250 search epochs, DARTS 50). The BN fields,
    sizes and every step count are recorded with each run (its ``config`` attribute)."""

    epochs: int = option(250, ge=1)
    batch: int = option(64, ge=1)
    eval_batch: int = option(512, ge=1)
    lr: float = option(0.025, gt=0)
    lr_min: float = option(0.001, ge=0)
    momentum: float = option(0.9, ge=0, le=1)
    weight_decay: float = option(5e-4, ge=0)
    nesterov: bool = True
    grad_clip: float = option(5.0, gt=0)
    C: int = option(16, ge=1)
    N: int = option(5, ge=1)          # NB201 cells per stage
    layers: int = option(8, ge=1)     # DARTS (S1) search-network cells
    affine: bool = False
    track_running_stats: bool = True  # the NB201 paper's table; false = NATS-Bench's batch statistics
    cutout: int = option(0, ge=0)
    submit_darts: bool = True         # S1: submit the genotype (a training task trains it); false: only return it
    device: str = "cpu"


@dataclass(frozen=True)
class ArchConfig(WSConfig):
    """Adds the architecture parameters' Adam (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3)."""

    arch_lr: float = option(3e-4, gt=0)
    arch_betas: tuple[float, float] = option((0.5, 0.999), ge=0, lt=1)
    arch_weight_decay: float = option(1e-3, ge=0)


@dataclass(frozen=True)
class PickConfig(WSConfig):
    """Adds the final pick: ``n_candidates`` cells, each scored on one validation minibatch."""

    n_candidates: int = option(100, ge=1)


class WeightSharingSearch:
    """Set-up, epoch loop, budget and submission; a method adds ``setup``, ``run_epoch``, ``derive``
    (the cell its architecture state names now) and ``select`` (the returned cell)."""

    name = "weight-sharing"
    spaces: tuple[str, ...] = ("nb201",)

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Any) -> None:
        require_space(space, *self.spaces, method=self.name)
        self.space, self.rng, self.config = space, rng, config
        self.history: list[np.ndarray] = []   # the derived cell after each epoch
        self.candidates: list[np.ndarray] = []
        self.scores: list[float] = []
        self.genotype: str | None = None
        self.epochs_done = 0

    # -- the loop ---------------------------------------------------------------------------------
    def search(self, evaluator: MeteredEvaluator) -> str | None:
        import torch

        from methods._oneshot import training as one

        cfg = self.config
        data = self.data = evaluator.search_data()
        self.train = one.to_tensors(data.train_x, data.train_y, data, cfg.device)
        self.valid = one.to_tensors(data.valid_x, data.valid_y, data, cfg.device)
        self.net = one.build_supernet(self.space.name, cfg, data.num_classes, data.in_channels,
                                      int(self.rng.integers(2**62))).to(cfg.device)
        self.gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        self.opt = one.CosineSGD(self.net.parameters(), cfg, cfg.nesterov, cfg.epochs)
        self.setup(int(self.rng.integers(2**62)))
        clock = one.Clock(evaluator)
        try:
            for epoch in range(cfg.epochs):
                if not clock.fits(clock.last.get("epoch", 0.0), 1.0):
                    log.info("%s: budget fits no further epoch; stopping after %d", self.name, epoch)
                    break
                with clock.charged("epoch", 1.0):
                    self.net.train()
                    self.run_epoch(epoch)
                    self.opt.end_epoch()
                self.epochs_done += 1
                derived = self.derive()
                if derived is not None:
                    self.history.append(derived)
                log.info("%s: epoch %d/%d in %.1f s%s", self.name, epoch + 1, cfg.epochs, clock.last["epoch"],
                         "" if derived is None else f", cell {self.space.format(derived)[0]}")
            with clock.charged("select", 0.0):
                best = self.select()
        except BudgetExhausted:
            self._finish(evaluator, self.history[-1] if self.history else None)
            raise
        return self._finish(evaluator, best)

    def report_attrs(self) -> dict[str, Any]:
        """Written beside the run: the BN flag, the epochs run, the cell derived after each and, with
        architecture logits, their final softmax per edge."""
        fmt = self.space.format
        out = {"bn_track_running_stats": bool(self.config.track_running_stats),
               "search_epochs_run": self.epochs_done,
               "derived_per_epoch": json.dumps([fmt(c)[0] for c in self.history])}
        alpha = getattr(self, "alpha", None)
        if alpha is not None:  # the final per-edge op weights (softmax of the logits), for collapse studies
            from methods._oneshot.evnas_ga import softmax

            out["arch_weights"] = json.dumps(np.round(softmax(alpha.detach().double().cpu().numpy()), 4).tolist())
        return out

    # -- the parts a method supplies -----------------------------------------------------------------
    def setup(self, seed: int) -> None:
        """Architecture parameters, controller, their optimiser (none for RSPS)."""

    def run_epoch(self, epoch: int) -> None:
        raise NotImplementedError

    def derive(self) -> np.ndarray | None:
        return None

    def select(self) -> np.ndarray:
        return self.history[-1]

    # -- shared steps ------------------------------------------------------------------------------
    def batch_pairs(self) -> Iterator[tuple[Any, Any]]:
        """(train indices, valid indices) per step: one shuffled pass over train, valid cycled."""
        from methods._oneshot import training as one

        size = self.config.batch
        valid = list(one.batches(len(self.valid), size, self.gen))
        for k, idx in enumerate(one.batches(len(self.train), size, self.gen)):
            yield idx, valid[k % len(valid)]

    def augmented(self, split: Any, idx: Any) -> tuple[Any, Any]:
        """The split's images at ``idx`` with the data's crop / flip (and cutout), drawn from the seed."""
        from methods._oneshot import training as one

        return one.augment(split.x[idx], self.data, self.config.cutout, self.gen), split.y[idx]

    def weight_step(self, x: Any, y: Any) -> float:
        """One SGD step on the shared weights with whatever mixing the supernet is set to."""
        from methods._oneshot import training as one

        return one.train_step(self.net, self.opt, x, y, self.config.grad_clip)

    def valid_accuracy(self, codes: np.ndarray, idx: Any | None = None) -> float:
        """Top-1 % of the single-path child on valid[idx] (all of valid when None), no update."""
        from methods._oneshot import training as one

        self.net.set_path(codes)
        x, y = (self.valid.x, self.valid.y) if idx is None else (self.valid.x[idx], self.valid.y[idx])
        with one.eval_mode(self.net):
            return one.accuracy(self.net, x, y, self.config.eval_batch)

    def pick_best(self, candidates: list[np.ndarray]) -> np.ndarray:
        """Candidate k scored on validation minibatch k of a shuffled pass (cycled); best (first) wins."""
        from methods._oneshot import training as one

        valid = list(one.batches(len(self.valid), self.config.batch, self.gen))
        for k, codes in enumerate(candidates):
            self.candidates.append(np.asarray(codes))
            self.scores.append(self.valid_accuracy(codes, valid[k % len(valid)]))
        return self.candidates[int(np.argmax(self.scores))]

    def _finish(self, evaluator: MeteredEvaluator, codes: np.ndarray | None) -> str | None:
        from methods._oneshot.training import finish

        self.genotype = finish(self.space, evaluator, codes, self.config.submit_darts)
        return self.genotype
