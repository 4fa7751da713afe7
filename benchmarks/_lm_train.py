"""Training a recurrent cell from scratch as the DARTS/EDNAS PTB evaluation does (``train.py``): SGD lr 20
with truncated BPTT of random length, grad clip 0.25, temporal activation regularisation, switched to
averaged SGD (NT-ASGD, evaluation on the averaged weights) once validation stops improving; the best
validation checkpoint is tested. Private: imports torch.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks._rnn_net import RNNModel, batchify, chunks, mean_nll, perplexity, train_step
from benchmarks._sgd import SGD
from benchmarks._text import Corpus
from harness.errors import UnknownNameError

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


def train_cell(corpus: Corpus, codes: np.ndarray, recipe: LMRecipe, seed: int, epochs: int,
               device: str = "cpu") -> dict[str, float]:
    """Train the cell for ``epochs``; (valid perplexity, test perplexity) of the best-validation weights,
    and the measured seconds (training + validation passes; the final test pass is not charged)."""
    from harness.seeding import stream, torch_seed

    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed, "lm-init"))
        model = RNNModel(corpus.n_tokens, recipe.nhid, recipe.dropout, recipe.dropouth, recipe.dropoutx,
                         recipe.dropouti, recipe.dropoute, search=False, codes=codes).to(device)
    model.gen = torch.Generator().manual_seed(torch_seed(seed, "lm-dropout"))
    rng = stream(seed, "lm-bptt")
    train = batchify(corpus.train, recipe.batch).to(device)
    valid = batchify(corpus.valid, recipe.eval_batch).to(device)
    opt = SGD(model.parameters(), 0.0, False, recipe.weight_decay)
    avg: list[torch.Tensor] | None = None  # ASGD running average of the weights, once switched
    n_avg, history, best, best_state = 0, [], float("inf"), None
    for _ in range(epochs):
        model.train()
        h = model.init_hidden(recipe.batch)
        for x, y in chunks(train, recipe.bptt, lambda: seq_len(rng, recipe.bptt)):
            h, _ = train_step(model, opt, x, y, h, recipe.lr * len(x) / recipe.bptt, recipe.clip, recipe.beta)
            if avg is not None:
                n_avg += 1
                with torch.no_grad():
                    for a, p in zip(avg, opt.params):
                        a.add_(p - a, alpha=1.0 / n_avg)
        scored = model if avg is None else _with_weights(model, opt.params, avg)
        loss = mean_nll(scored, valid, recipe.bptt)
        if loss < best:
            best, best_state = loss, copy.deepcopy(scored.state_dict())
        if recipe.asgd and avg is None and len(history) > recipe.nonmono and loss > min(history[:-recipe.nonmono]):
            log.debug("switching to ASGD after %d epochs", len(history) + 1)
            avg = [p.detach().clone() for p in opt.params]
        history.append(loss)
    train_s = time.perf_counter() - t0
    model.load_state_dict(best_state)
    test = mean_nll(model, batchify(corpus.test, recipe.test_batch).to(device), recipe.bptt)
    return {"val": perplexity(best), "test": perplexity(test), "cost_s": train_s, "epochs": float(epochs),
            "train_s": train_s}


def _with_weights(model: RNNModel, params: list[torch.Tensor], values: list[torch.Tensor]) -> RNNModel:
    """A copy of ``model`` carrying ``values`` in place of ``params`` (the ASGD average)."""
    twin = copy.deepcopy(model)
    index = {id(p): v for p, v in zip(params, values)}
    with torch.no_grad():
        for p_twin, p in zip(twin.parameters(), model.parameters()):
            if id(p) in index:
                p_twin.copy_(index[id(p)])
    return twin
