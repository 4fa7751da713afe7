"""Evolution ranked by a GNN accuracy predictor (eric8607242/NAS_with_GNN_predictor; predictor_evolution.md).

Budget-matched form: label ``n_initial`` random cells, then repeat {fit the predictor on every paid
label, run the README's Algorithm 1 on predicted fitness, pay only for the ``per_round`` best
unseen cells}. ``n_initial=300, per_round=1, generations=1000, fidelity=200`` is the sheet's
one-shot paper mode. Feasibility comes from the harness constraint (``evaluator.feasible``).

S1 (DARTS genotypes, e.g. under ``darts-train``): the GNN reads both cell DAGs (methods/_predictors/graphs.py);
mutation changes one (input, op) pair of one node (``space.mutate``), crossover exchanges whole
nodes (cuts between nodes), so every child is a valid genotype; each label is a real training run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from harness.seeding import torch_seed
from methods._common import arch_keys
from methods._predictors.ga import crossover, mutate_genes
from methods._predictors.graphs import N_CHOICES


@dataclass(frozen=True)
class Config:
    predictor: str = option("gnn", choices=("gnn", "mlp"))  # "gnn" or "mlp" (the seed's comparison)
    hidden: int = option(32, ge=1)  # sheet: 128 (CPU budget: 32)
    layers: int = option(3, ge=1)  # sheet: 5
    epochs: int = option(40, ge=1)  # first fit; later rounds fine-tune for `finetune_epochs`
    finetune_epochs: int = option(15, ge=0)
    lr: float = option(1e-3, gt=0)  # sheet: 1e-4 with batch 1
    batch_size: int = option(16, ge=1)
    targets: str = option("rank", choices=("rank", "affine"))
    n_initial: int = option(30, ge=1)  # random labelled cells before the first fit (sheet: 300)
    per_round: int = option(10, ge=1)  # predicted-best cells paid for per round
    population: int = option(20, ge=2)  # P; the archive keeps P/2
    generations: int = option(50, ge=1)  # per round (sheet: 1000, once)
    mutation_prob: float = option(0.1, ge=0, le=1)
    fidelity: float | None = option(None, gt=0)  # None: the task's default (NB201: hp=12); 200 = "converged" labels
    tau_at: int = option(100, ge=0)  # labels at which the cross-validated Kendall tau is measured
    tau_folds: int = option(5, ge=0)  # 0 turns the cross-validated tau off


@METHODS.register("predictor_evolution")
class PredictorEvolution:
    """Pays for random labels, then for the GA winners of a predictor refitted every round."""

    MODEL_QUALITY = {"kendall_tau_cv": "τ cross-validated", "kendall_tau_next_round": "τ on the next round"}

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        if config.population < 4 or config.per_round < 1 or config.n_initial < 2:
            raise HarnessError(f"predictor_evolution needs population >= 4, per_round >= 1, n_initial >= 2; got {config}")
        self.space, self.rng, self.config = space, rng, config
        self.n_choices = int(N_CHOICES.get(space.name, getattr(space, "n_choices", 2)))
        self.node_genes = 4 if space.name == "darts" else 0  # DARTS: vary whole (input, op) pairs / nodes
        self.codes: list[np.ndarray] = []
        self.vals: list[float] = []
        self.seen: set[int] = set()
        self.round_pred: list[tuple[int, np.ndarray, np.ndarray]] = []  # (n labels, predicted, measured)
        self.best_archive: list[float] = []  # best predicted fitness in the archive, per generation
        self.tau_cv: tuple[int, float] | None = None
        self.predictor: Any = None

    # the search
    def search(self, evaluator: MeteredEvaluator) -> None:
        cfg = self.config
        while len(self.codes) < cfg.n_initial:
            self._pay(evaluator, self._random_feasible(evaluator, 1))
        while True:
            self._fit()
            if len(self.codes) >= cfg.tau_at and self.tau_cv is None:
                self._measure_tau()
            cand, pred = self.evolve(evaluator)
            fresh = np.array([int(i) not in self.seen for i in self._keys(cand)], dtype=bool)
            cand, pred = cand[fresh], pred[fresh]
            if not len(cand):  # the GA found nothing new: pay for random cells instead
                self._pay(evaluator, self._random_feasible(evaluator, cfg.per_round))
                continue
            top = np.argsort(-pred, kind="stable")[:cfg.per_round]
            measured = self._pay(evaluator, cand[top])
            self.round_pred.append((len(self.codes) - len(measured), pred[top][:len(measured)], measured))

    def evolve(self, evaluator: MeteredEvaluator) -> tuple[np.ndarray, np.ndarray]:
        """README Algorithm 1 on predicted fitness; returns every distinct feasible genome met, predicted."""
        cfg, rng = self.config, self.rng
        half = cfg.population // 2
        labelled = np.asarray(self.codes)[np.argsort(-np.asarray(self.vals), kind="stable")]
        elite = labelled[self._ok(evaluator, labelled)][:half]
        pop = np.concatenate([elite, self._random_feasible(evaluator, cfg.population - len(elite))])
        met: dict[int, tuple[np.ndarray, float]] = {}
        archive = pop[:0]
        arch_fit = np.zeros(0)
        for _ in range(cfg.generations):
            fit = self.predictor.predict(pop)
            for c, f, i in zip(pop, fit, self._keys(pop)):
                met.setdefault(int(i), (c, float(f)))
            pool, pool_fit = np.concatenate([archive, pop]), np.concatenate([arch_fit, fit])
            keep = _unique_best(self._keys(pool), pool_fit, half)
            archive, arch_fit = pool[keep], pool_fit[keep]
            self.best_archive.append(float(arch_fit.max()))
            pop = np.concatenate([self._children(evaluator, archive, half, cross=True),
                                  self._children(evaluator, archive, cfg.population - half, cross=False)])
        codes = np.stack([c for c, _ in met.values()])
        return codes, np.array([f for _, f in met.values()])

    # helpers
    def _children(self, evaluator: MeteredEvaluator, archive: np.ndarray, n: int, cross: bool) -> np.ndarray:
        """n valid, feasible children by crossover of two archive members or by per-gene mutation."""
        out: list[np.ndarray] = []
        for _ in range(100):
            k = 2 * n
            if cross:
                kids, _ = crossover(archive[self.rng.integers(0, len(archive), k)],
                                    archive[self.rng.integers(0, len(archive), k)], self.rng,
                                    step=self.node_genes or 1)
            elif self.node_genes:  # DARTS: one (input, op) pair changed per child
                picks = archive[self.rng.integers(0, len(archive), k)]
                kids = np.stack([self.space.mutate(p, self.rng) for p in picks])
            else:
                kids = mutate_genes(archive[self.rng.integers(0, len(archive), k)], self.config.mutation_prob,
                                    self.n_choices, self.rng)
            out.extend(kids[self._ok(evaluator, kids)])
            if len(out) >= n:
                return np.stack(out[:n])
        got = np.stack(out) if out else np.zeros((0, self.space.n_dims), dtype=archive.dtype)
        return np.concatenate([got, self._random_feasible(evaluator, n - len(got))])  # GA stuck: fill randomly

    def _keys(self, codes: np.ndarray) -> np.ndarray:
        return arch_keys(self.space, codes)

    def _ok(self, evaluator: MeteredEvaluator, codes: np.ndarray) -> np.ndarray:
        valid = getattr(self.space, "valid", None)
        ok = valid(codes) if valid is not None else np.ones(len(codes), dtype=bool)
        return ok & evaluator.feasible(codes)

    def _random_feasible(self, evaluator: MeteredEvaluator, n: int) -> np.ndarray:
        out: list[np.ndarray] = []
        for _ in range(10_000):
            draw = self.space.sample(self.rng, max(4 * n, 16))
            out.extend(draw[self._ok(evaluator, draw)])
            if len(out) >= n:
                return np.stack(out[:n])
        raise HarnessError(f"no feasible architecture found under {evaluator.constraint}")

    def _pay(self, evaluator: MeteredEvaluator, codes: np.ndarray) -> np.ndarray:
        """Query cells one by one (so BudgetExhausted keeps what was paid for); returns the values."""
        got = []
        for c in codes:
            v = float(evaluator.evaluate(c, self.config.fidelity))
            self.codes.append(np.asarray(c))
            self.vals.append(v)
            self.seen.add(int(self._keys(c)[0]))
            got.append(v)
        return np.array(got)

    def _make(self, seed: int) -> Any:
        from methods._predictors.models import Predictor, PredictorConfig

        c = self.config
        pc = PredictorConfig(kind=c.predictor, hidden=c.hidden, layers=c.layers, epochs=c.epochs, lr=c.lr,
                             batch_size=c.batch_size, targets=c.targets)
        return Predictor(self.space.name, self.n_choices, pc, seed)

    def _fit(self) -> None:
        x, y = np.stack(self.codes), np.asarray(self.vals)
        if self.predictor is None:
            self.predictor = self._make(int(self.rng.integers(2**62))).fit(x, y)
        else:
            self.predictor.refit(x, y, self.config.finetune_epochs)

    def _measure_tau(self) -> None:
        from methods._predictors.models import cv_tau

        c = self.config
        if c.tau_folds < 2:
            return
        n = min(c.tau_at, len(self.codes))
        base = int(self.rng.integers(2**62))
        t = cv_tau(lambda k: self._make(base + k), np.stack(self.codes[:n]), np.asarray(self.vals[:n]),
                   c.tau_folds, self.rng)
        self.tau_cv = (n, t)

    def report_attrs(self) -> dict[str, Any]:
        """Predictor quality for the trajectory file: CV tau and the out-of-sample tau of each round."""
        from methods._predictors.models import tau

        if self.tau_cv is None and len(self.codes) >= 2 * max(self.config.tau_folds, 1):
            self._measure_tau()
        rounds = [(n, tau(p, m)) for n, p, m in self.round_pred if len(m) >= 2]
        pooled_p = np.concatenate([p for _, p, _ in self.round_pred]) if self.round_pred else np.zeros(0)
        pooled_m = np.concatenate([m for _, _, m in self.round_pred]) if self.round_pred else np.zeros(0)
        n, t = self.tau_cv if self.tau_cv else (0, float("nan"))
        return {"predictor": self.config.predictor, "labels": len(self.codes),
                "kendall_tau_cv": t, "kendall_tau_cv_labels": n,
                "round_tau": [[int(k), float(v)] for k, v in rounds],
                "kendall_tau_next_round": tau(pooled_p, pooled_m)}


def _unique_best(index: np.ndarray, fit: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k best distinct genomes by fitness (ties: first met)."""
    order = np.argsort(-fit, kind="stable")
    _, first = np.unique(index[order], return_index=True)
    return order[np.sort(first)][:k]



def heldout_tau(space: SearchSpace, codes: np.ndarray, labels: np.ndarray, n_train: int, kind: str, seed: int,
                **predictor: Any) -> float:
    """Kendall tau on ``codes[n_train:]`` of this method's predictor (``kind`` gnn or mlp) fit on the
    first ``n_train`` labelled cells: a measurement of the predictor (``python -m harness predictor-tau``)."""
    from methods._predictors.models import Predictor, PredictorConfig, tau

    p = Predictor(space.name, space.n_choices, PredictorConfig(kind=kind, **predictor),
                  torch_seed(seed, "predictor_quality", kind))
    p.fit(codes[:n_train], labels[:n_train])
    return tau(p.predict(codes[n_train:]), labels[n_train:])
