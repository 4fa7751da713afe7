"""EvNAS (Sinha & Chen, GECCO 2021; methods/evnas.md): a GA over architecture-parameter matrices whose
individuals take turns training one shared supernet; fitness = validation accuracy of the decoded
architecture. NB201 (S2): the best cell goes to ``evaluator.submit``; DARTS (S1): returned as a genotype.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from harness.errors import BudgetExhausted, HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._oneshot.evnas_ga import DECODERS, SHAPES, mixing_weights, next_generation, random_alpha

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Seed defaults (paper settings); the supernet and BN fields are recorded with every run."""

    population: int = option(50, ge=2)
    tournament: int = option(10, ge=1)
    elites: int = option(1, ge=1)
    mutation_rate: float = option(0.1, ge=0, le=1)  # per row (edge) of each alpha matrix
    generations: int = option(50, ge=1)  # = supernet epochs; also the cosine schedule length
    batch: int = option(64, ge=1)
    eval_batch: int = option(1024, ge=1)
    lr: float = option(0.025, gt=0)
    lr_min: float = option(0.001, ge=0)
    momentum: float = option(0.9, ge=0, le=1)
    weight_decay: float = option(3e-4, ge=0)
    nesterov: bool | None = None     # None: per space as the seed (NB201 yes, DARTS no)
    grad_clip: float = option(5.0, gt=0)
    C: int = option(16, ge=1)
    N: int = option(5, ge=1)  # NB201 cells per stage
    layers: int = option(8, ge=1)  # DARTS search-network cells
    affine: bool = False             # supernet op BN (NB201; DARTS search ops are always non-affine)
    track_running_stats: bool = True
    fitness_eval_mode: bool = True   # the S1 seed scores in train mode (batch statistics); evnas.md
    cutout: int = option(16, ge=0)  # 0 turns it off (tiny CI images)
    submit_darts: bool = True        # DARTS: submit, so a training task trains it (the report); false: only return it
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not 1 <= self.elites < self.population:
            raise HarnessError(f"evnas elites must lie in 1..population-1, got {self.elites}")
        if not 1 <= self.tournament <= self.population:
            raise HarnessError(f"evnas tournament must lie in 1..population ({self.population}), got {self.tournament}")


@METHODS.register("evnas")
class EvNAS:
    """Population of alphas, round-robin shared-weight training, tournament GA with elitism."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        if space.name not in SHAPES:
            raise HarnessError(f"evnas needs the nb201 or darts space, got {space.name!r}")
        self.space, self.rng, self.config = space, rng, config
        self.decode = DECODERS[space.name]
        self.populations: list[np.ndarray] = []   # each generation's population, best first
        self.fitness: list[np.ndarray] = []
        self.best: list[np.ndarray] = []          # decoded best codes per generation

    def search(self, evaluator: MeteredEvaluator) -> str | None:
        import torch

        from methods._oneshot import training as one

        cfg, name = self.config, self.space.name
        data = evaluator.search_data()
        self.train = one.to_tensors(data.train_x, data.train_y, data, cfg.device)
        self.valid = one.to_tensors(data.valid_x, data.valid_y, data, cfg.device)
        self.data = data
        self.reps = one.replicas()  # data-parallel under torchrun, else None
        self.net = one.build_supernet(name, cfg, data.num_classes, data.in_channels,
                                      int(self.rng.integers(2**62))).to(cfg.device)
        self.gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        nesterov = (name == "nb201") if cfg.nesterov is None else cfg.nesterov
        self.opt = one.CosineSGD(self.net.parameters(), cfg, nesterov, cfg.generations)
        clock = one.Clock(evaluator, self.reps)
        pop = random_alpha(self.rng, SHAPES[name], cfg.population)
        try:
            for g in range(cfg.generations):
                need = clock.last.get("train", 0.0) + len(pop) * clock.last.get("fitness", 0.0)
                if not clock.fits(need, 1.0):
                    log.info("evnas: budget fits no further generation; stopping after %d", g)
                    break
                with clock.charged("train", 1.0):
                    self._train_epoch(pop)
                    self.opt.end_epoch()
                fit = np.empty(len(pop))
                for k in range(len(pop)):
                    with clock.charged("fitness", 0.0):  # forward-only pass: charged 0 epochs
                        fit[k] = self._fitness(pop[k])
                order = np.argsort(-fit, kind="stable")
                pop, fit = pop[order], fit[order]
                self.populations.append(pop.copy())
                self.fitness.append(fit)
                self.best.append(self.decode(pop[0])[0])
                if g < cfg.generations - 1:
                    pop = next_generation(pop, fit, cfg.tournament, cfg.elites, cfg.mutation_rate, self.rng)
        except BudgetExhausted:
            self._finish(evaluator)
            raise
        return self._finish(evaluator)

    def _weights(self, alpha: np.ndarray) -> np.ndarray:
        return mixing_weights(self.decode(alpha)[1])

    def _train_epoch(self, pop: np.ndarray) -> None:
        """One pass over the train split; minibatch k trains with individual k mod P. Under torchrun
        each rank runs its chunk of every minibatch; rank 0's BN statistics are shared after the pass."""
        from methods._oneshot import training as one

        cfg = self.config
        self.net.train()
        for step, idx in enumerate(one.batches(len(self.train), cfg.batch, self.gen)):
            self.net.set_weights(self._weights(pop[step % len(pop)]))
            one.sgd_step(self.net, self.opt, self.train, idx, self.data, cfg.cutout, self.gen, cfg.grad_clip,
                         self.reps)
        one.sync_buffers(self.net, self.reps)

    def _fitness(self, alpha: np.ndarray) -> float:
        """Top-1 % on the whole validation split with the decoded architecture; no weight update."""
        from methods._oneshot import training as one

        self.net.set_weights(self._weights(alpha))
        with one.eval_mode(self.net, self.config.fitness_eval_mode):
            return one.score(self.net, self.valid.x, self.valid.y, self.config.eval_batch, self.reps)

    def _finish(self, evaluator: MeteredEvaluator) -> str | None:
        """The last generation's best: submitted on NB201, returned as a genotype on DARTS."""
        from methods._oneshot.training import finish

        self.genotype = finish(self.space, evaluator, self.best[-1] if self.best else None,
                               self.config.submit_darts)
        return self.genotype
