"""Training a recurrent cell from scratch as the DARTS/EDNAS PTB evaluation does (``train.py``): SGD lr 20
with truncated BPTT of random length, grad clip 0.25, temporal activation regularisation, switched to
averaged SGD (NT-ASGD, evaluation on the averaged weights) once validation stops improving; the best
validation checkpoint is tested. Imports torch.

A run saves everything it carries between epochs after each one (``_Run.state_dict``), so a killed
1600-epoch evaluation resumes where it stopped and repeats the uninterrupted run bit for bit.

Under torchrun (process group up) each rank trains its contiguous chunk of the batch columns
(``benchmarks/training/rnn_replicas.py``: dropout masks drawn for all columns and sliced, gradients and the
step loss averaged before clipping) and evaluates its chunk of the valid / test columns with one
all-reduce, so parameters, losses, the NT-ASGD switch and the ASGD average are the same on every rank.
Rank 0 alone reads (then broadcasts its verdict), moves aside and writes the checkpoint.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from benchmarks.training.checkpoint import load_matching, save_on_main
from benchmarks.training.replicas import Replicas, replicas
from benchmarks.training.nets.rnn import RNNModel, batchify, chunks, perplexity
from benchmarks.training.rnn_replicas import own, split_columns, split_mean_nll, train_step
from benchmarks.training.optim import SGD
from benchmarks.training.data.text import Corpus
from harness.distributed import Dist, barrier
from harness.errors import HarnessError, UnknownNameError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LMRecipe:
    """How a cell is trained for the report; defaults = the EDNAS PTB evaluation (README + train.py)."""

    epochs: int = 1600
    batch: int = 64
    eval_batch: int = 10
    test_batch: int = 1
    bptt: int = 35
    lr: float = 20.0
    clip: float = 0.25
    nhid: int = 850                 # = embedding size (tied)
    dropout: float = 0.75
    dropouth: float = 0.25
    dropoutx: float = 0.75
    dropouti: float = 0.2
    dropoute: float = 0.1
    weight_decay: float = 8e-7
    beta: float = 1e-3              # temporal activation regularisation
    nonmono: int = 5                # NT-ASGD: switch when valid loss exceeds the best older than this
    asgd: bool = True

    def key(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


LM_PRESETS = {
    "ptb-eval": LMRecipe(),
    # CI / CPU: a 16-unit cell for a couple of epochs on a few thousand tokens
    "tiny": LMRecipe(epochs=2, batch=8, eval_batch=8, test_batch=8, bptt=12, nhid=16, dropout=0.1,
                     dropouth=0.05, dropoutx=0.1, dropouti=0.05, dropoute=0.0, nonmono=2),
}


def lm_preset(name: str, **changes: object) -> LMRecipe:
    if name not in LM_PRESETS:
        raise UnknownNameError(f"unknown language-model recipe '{name}'; known: {', '.join(LM_PRESETS)}")
    return dataclasses.replace(LM_PRESETS[name], **changes) if changes else LM_PRESETS[name]


def seq_len(rng: np.random.Generator, bptt: int) -> int:
    """DARTS train.py: bptt (95 %) or bptt/2, then N(., 5), clipped to 5..bptt+20."""
    base = bptt if rng.random() < 0.95 else bptt / 2.0
    return int(min(max(5, int(rng.normal(base, 5))), bptt + 20)) if bptt >= 10 else int(base)


@dataclass(frozen=True)
class LMResult:
    """One training run: per-step training loss and per-epoch validation loss (the curves a resumed run
    must repeat), perplexities of the best-validation weights, measured seconds."""

    step_loss: np.ndarray
    valid_loss: np.ndarray
    val: float            # validation perplexity of the best-validation weights
    test: float           # their test perplexity
    epochs: int
    asgd_from: int | None  # epochs trained before averaging began; None: never switched
    train_s: float        # training + validation seconds over all (resumed) segments

    def row(self) -> dict[str, float]:
        """The cached result of a ``ptb-train`` evaluation."""
        return {"val": self.val, "test": self.test, "cost_s": self.train_s, "epochs": float(self.epochs),
                "train_s": self.train_s}


def train_cell(corpus: Corpus, codes: np.ndarray, recipe: LMRecipe, seed: int, epochs: int,
               device: str = "cpu", checkpoint: Path | None = None) -> dict[str, float]:
    """Train the cell for ``epochs``; (valid perplexity, test perplexity) of the best-validation weights,
    and the measured seconds (training + validation passes; the final test pass is not charged)."""
    return fit_cell(corpus, codes, recipe, seed, epochs, device, checkpoint).row()


def fit_cell(corpus: Corpus, codes: np.ndarray, recipe: LMRecipe, seed: int, epochs: int,
             device: str = "cpu", checkpoint: Path | None = None,
             on_epoch: Callable[[int], None] | None = None) -> LMResult:
    """Train to ``epochs``, continuing ``checkpoint`` if it holds this run (killed, or stopped at fewer
    epochs: nothing in the recipe depends on the total), and saving it after every epoch; a run of the
    full recipe drops it at the end. ``on_epoch(epoch)`` runs after each epoch's save."""
    if not 1 <= epochs <= recipe.epochs:
        raise HarnessError(f"epochs must lie in 1..{recipe.epochs} for this recipe, got {epochs}")
    reps = replicas()  # None for one process: the plain code path, bit for bit
    run = _Run(corpus, codes, recipe, seed, device, reps)
    identity = f"{recipe.key()}|seed={seed}|{corpus.name}|{corpus.sizes()}|{np.asarray(codes).tolist()}"
    state = _load(checkpoint, identity, device, reps)
    if state is not None and int(state["epoch"]) > epochs:  # kept for the longer query; this one trains aside
        log.warning("checkpoint %s is past epoch %d: training afresh without overwriting it", checkpoint, epochs)
        checkpoint = None
    elif state is not None:
        run.load_state_dict(state)
        log.info("resumed %s at epoch %d", checkpoint, run.epoch)
    train = own(batchify(corpus.train, recipe.batch), reps).to(device)
    valid = batchify(corpus.valid, recipe.eval_batch).to(device)
    for epoch in range(run.epoch, epochs):
        t0 = time.perf_counter()
        run.train_epoch(train, valid)
        run.train_s += time.perf_counter() - t0
        if checkpoint is not None and epoch + 1 < recipe.epochs:  # the last stop is kept for a longer run
            _save(checkpoint, {**run.state_dict(), "identity": identity}, reps)
        if on_epoch is not None:
            on_epoch(epoch)
    model = run.model
    if run.best_state is not None:  # None only if every validation loss was nan
        model.load_state_dict(run.best_state)
    test = split_mean_nll(model, batchify(corpus.test, recipe.test_batch).to(device), recipe.bptt, reps)
    if checkpoint is not None and epochs == recipe.epochs:
        if reps is None or reps.dist.main:
            checkpoint.unlink(missing_ok=True)  # fully trained: nothing left to continue
        if reps is not None:
            barrier(reps.dist)  # no rank looks at the folder before rank 0 is done with it
    return LMResult(np.asarray(run.step_loss), np.asarray(run.history), perplexity(run.best), perplexity(test),
                    epochs, run.asgd_from, run.train_s)


def _load(path: Path | None, identity: str, device: str, reps: Replicas | None) -> dict[str, Any] | None:
    """``load_matching`` on rank 0 (which alone moves a corrupt file aside); the other ranks load the
    file themselves only if rank 0 found this run in it. Rank 0 cannot overwrite it meanwhile: its next
    save follows an epoch that needs every rank."""
    if reps is None:
        return load_matching(path, identity, device)
    from harness.distributed import broadcast_object

    state = load_matching(path, identity, device) if reps.dist.main else None
    if not broadcast_object(state is not None, reps.dist):
        return None
    return state if reps.dist.main else torch.load(path, map_location=device, weights_only=True)


def _save(path: Path, state: dict[str, Any], reps: Replicas | None) -> None:
    save_on_main(path, state, reps.dist if reps is not None else Dist())


class _Run:
    """Everything a training run carries from one epoch to the next, and its checkpoint form."""

    def __init__(self, corpus: Corpus, codes: np.ndarray, recipe: LMRecipe, seed: int, device: str,
                 reps: Replicas | None = None) -> None:
        from harness.seeding import stream, torch_seed

        self.recipe, self.reps = recipe, reps
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed(seed, "lm-init"))
            self.model = RNNModel(corpus.n_tokens, recipe.nhid, recipe.dropout, recipe.dropouth,
                                  recipe.dropoutx, recipe.dropouti, recipe.dropoute, search=False,
                                  codes=codes).to(device)
        self.model.gen = torch.Generator().manual_seed(torch_seed(seed, "lm-dropout"))
        split_columns(self.model, recipe.batch, reps)  # masks for all columns, this rank's cut out
        self.rng = stream(seed, "lm-bptt")
        self.opt = SGD(self.model.parameters(), 0.0, False, recipe.weight_decay)
        self.avg: list[torch.Tensor] | None = None  # ASGD running average of the weights, once switched
        self.n_avg, self.asgd_from = 0, None
        self.history: list[float] = []  # validation loss per epoch (decides the switch)
        self.best, self.best_state = float("inf"), None
        self.step_loss: list[float] = []
        self.epoch, self.train_s = 0, 0.0

    def train_epoch(self, train: torch.Tensor, valid: torch.Tensor) -> None:
        """One pass over ``train`` (this rank's columns), then validation over all of ``valid``, best-weights
        bookkeeping and the NT-ASGD test."""
        r, model, opt = self.recipe, self.model, self.opt
        model.train()
        h = model.init_hidden(train.shape[1])
        for x, y in chunks(train, r.bptt, lambda: seq_len(self.rng, r.bptt)):
            h, loss = train_step(model, opt, x, y, h, r.lr * len(x) / r.bptt, r.clip, r.beta, self.reps)
            self.step_loss.append(loss)
            if self.avg is not None:
                self.n_avg += 1
                with torch.no_grad():
                    for a, p in zip(self.avg, opt.params):
                        a.add_(p - a, alpha=1.0 / self.n_avg)
        scored = model if self.avg is None else _with_weights(model, opt.params, self.avg)
        loss = split_mean_nll(scored, valid, r.bptt, self.reps)
        if loss < self.best:
            self.best, self.best_state = loss, copy.deepcopy(scored.state_dict())
        seen = self.history
        if r.asgd and self.avg is None and len(seen) > r.nonmono and loss > min(seen[:-r.nonmono]):
            log.debug("switching to ASGD after %d epochs", len(seen) + 1)
            self.avg, self.asgd_from = [p.detach().clone() for p in opt.params], len(seen) + 1
        seen.append(loss)
        self.epoch += 1

    def state_dict(self) -> dict[str, Any]:
        """Weights, optimiser, ASGD average, switch history, best weights, both RNG streams, curves."""
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "avg": self.avg,
                "n_avg": self.n_avg, "asgd_from": self.asgd_from, "history": list(self.history),
                "best": self.best, "best_state": self.best_state, "step_loss": list(self.step_loss),
                "epoch": self.epoch, "train_s": self.train_s, "dropout_rng": self.model.gen.get_state(),
                "bptt_rng": json.dumps(self.rng.bit_generator.state)}  # numpy state: ints past 64 bits

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.avg, self.n_avg, self.asgd_from = state["avg"], int(state["n_avg"]), state["asgd_from"]
        self.history, self.best, self.best_state = list(state["history"]), float(state["best"]), state["best_state"]
        self.step_loss, self.epoch = list(state["step_loss"]), int(state["epoch"])
        self.train_s = float(state["train_s"])
        self.model.gen.set_state(state["dropout_rng"].cpu())
        self.rng.bit_generator.state = json.loads(state["bptt_rng"])


def _with_weights(model: RNNModel, params: list[torch.Tensor], values: list[torch.Tensor]) -> RNNModel:
    """A copy of ``model`` carrying ``values`` in place of ``params`` (the ASGD average)."""
    twin = copy.deepcopy(model)
    index = {id(p): v for p, v in zip(params, values)}
    with torch.no_grad():
        for p_twin, p in zip(twin.parameters(), model.parameters()):
            if id(p) in index:
                p_twin.copy_(index[id(p)])
    return twin
