"""The neuro-cell evolution loop with real training (issue 8). Imports torch.

Children are trained from their inherited weights by the training layer's ``Trainer`` (SGDR, DDP
under torchrun); each training run is charged its measured seconds and epochs through the evaluator.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmarks.training.data.images import Data, Split
from benchmarks.training.recipe import Recipe
from benchmarks.training.trainer import Trainer, TrainResult, build_model
from benchmarks.spaces.neurocell import Cell, Mutation, encode, format_cell, propose, template_cell
from harness.distributed import init
from harness.errors import BudgetExhausted
from harness.protocols import SearchData
from methods._neurocell.morph import morph
from methods._neurocell.net import NetShape, NeuroCellNet
from methods._neurocell.select import tournament

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One trained network of the population and where it came from (lineage)."""

    id: int
    net: NeuroCellNet
    fitness: float
    parent: int = -1
    mutation: Mutation | None = None
    arch: str = ""
    first_epoch_loss: float = math.nan  # mean training loss of its first epoch (inheritance shows here)


def recipe(cfg: Any, epochs: int) -> Recipe:
    """The seed's SGD: Nesterov, cosine with warm restarts after epochs 1, 3, 7, 15, ... per batch."""
    return Recipe(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, lr_min=0.0, momentum=cfg.momentum,
                  nesterov=True, weight_decay=cfg.weight_decay, schedule="sgdr", sgdr_t0=1, sgdr_mult=2,
                  cutout=cfg.cutout, eval_batch_size=max(cfg.batch_size, 256))


def trainer_data(d: SearchData, world: int) -> Data:
    """The Trainer's dataset from the method's view. Trainer.fit also scores a test split; the method
    has none, so it scores a token slice of valid (an empty split breaks the Trainer's DDP sharding)."""
    valid = Split(torch.as_tensor(d.valid_x), torch.as_tensor(d.valid_y))
    return Data(d.name, Split(torch.as_tensor(d.train_x), torch.as_tensor(d.train_y)), valid,
                valid.take(np.arange(world)), d.num_classes, d.mean, d.std, d.crop_pad, d.flip)


class Evolution:
    """State of one search: population, lineage, and the generators every draw comes from."""

    def __init__(self, cfg: Any, rng: np.random.Generator, evaluator: Any) -> None:
        self.cfg, self.rng, self.evaluator = cfg, rng, evaluator
        self.dist = init()
        self.data = trainer_data(evaluator.search_data(), self.dist.world)
        self.shape = NetShape(self.data.in_channels, self.data.image_size, self.data.num_classes,
                              cfg.n_cells, cfg.stem_width, cfg.head_width, cfg.fc_width, cfg.pad,
                              cfg.conv_dropout, cfg.fc_dropout)
        self.noise_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        self.population: list[Member] = []
        self.lineage: list[dict[str, Any]] = []
        self.last_child_s = 0.0
        self.stopped = False  # the evaluator said the budget is spent

    def train(self, net: NeuroCellNet, epochs: int) -> tuple[TrainResult, float]:
        """Train ``net`` in place from its current weights; returns the result and measured seconds."""
        t0 = time.perf_counter()
        trainer = Trainer(self.data, recipe(self.cfg, epochs), int(self.rng.integers(2**62)), self.dist,
                          device=self.cfg.device or None)
        res = trainer.fit(lambda: net)
        net.to("cpu")
        return res, time.perf_counter() - t0

    def add(self, net: NeuroCellNet, parent: int, m: Mutation | None, epochs: int) -> Member:
        """Train, charge and record one network (the template when ``parent`` is -1)."""
        res, seconds = self.train(net, epochs)
        member = Member(len(self.lineage), net, res.valid_acc, parent, m, format_cell(net.cell_def),
                        float(np.mean(res.step_loss[: max(1, len(res.step_loss) // epochs)])))
        self.lineage.append({"id": member.id, "parent": parent, "mutation": m.kind if m else "template",
                             "arch": member.arch, "fitness": member.fitness, "seconds": seconds,
                             "first_epoch_loss": member.first_epoch_loss})
        log.info("member %d (parent %d, %s): val %.2f in %.1fs", member.id, parent,
                 m.kind if m else "template", member.fitness, seconds)
        if parent >= 0:
            self.last_child_s = seconds
        try:
            self.evaluator.observe(encode(net.cell_def), member.fitness, seconds, epochs)
        except BudgetExhausted:  # this run is charged and kept; no further one starts
            self.stopped = True
        return member

    def child_fits(self) -> bool:
        """False when the next child would exceed the epoch budget (or, by the last child's
        measured time, the seconds budget)."""
        b, s = self.evaluator.budget, self.evaluator.spent
        return not self.stopped and ((b.max_epochs is None or s.epochs + self.cfg.epochs_child <= b.max_epochs)
                and (b.max_cost_s is None or s.cost_s + self.last_child_s <= b.max_cost_s)
                and (b.max_evals is None or s.evals + 1 <= b.max_evals))

    def spawn(self, parent: Member) -> Member:
        cell: Cell = parent.net.cell_def
        m = propose(cell, self.rng, tuple(self.cfg.mutations), (self.cfg.widen_low, self.cfg.widen_high))
        parent.net.eval()
        child = morph(parent.net, m, self.cfg.noise, self.noise_gen)
        return self.add(child, parent.id, m, self.cfg.epochs_child)

    def run(self) -> Member:
        """Template, initial population, then one tournament child per generation; the champion."""
        cfg = self.cfg
        template = build_model(lambda: NeuroCellNet(template_cell(cfg.cell_width, 3, cfg.pad), self.shape),
                               int(self.rng.integers(2**62)))
        root = self.add(template, -1, None, cfg.epochs_base)  # parent of generation 1, not a member
        for _ in range(cfg.init_population):
            if not self.child_fits():
                break
            self.population.append(self.spawn(root))
        for _ in range(2, cfg.generations + 1):
            if not self.child_fits() or not self.population:
                break
            fitness = np.array([p.fitness for p in self.population])
            i = tournament(fitness, self.rng, cfg.tournament)
            child = self.spawn(self.population[i])
            if cfg.replace_parent:  # the seed's scheme: the child overwrites its parent's slot
                self.population[i] = child
            else:
                self.population.append(child)
        return max(self.population or [root], key=lambda p: p.fitness)
