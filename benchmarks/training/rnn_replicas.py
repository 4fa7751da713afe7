"""Data-parallel recurrent-LM steps under torchrun: the EDNAS recurrent search (ednas-rnn) and the
``ptb-train`` evaluation (``benchmarks/training/lm_trainer.py``) share them.

A batchified token stream is a (T, B) matrix whose B columns are independent streams, so a rank takes
a contiguous chunk of the columns (``Replicas.part``) and carries the hidden state of those columns
only. Dropout masks are drawn for all B columns and sliced (``RNNModel.columns``), so the dropout
generator advances as in one process; gradients are averaged with ``Replicas.average_grads`` weighted
by the rank's share of the columns (the loss is a mean over tokens, and every column holds as many),
then clipped and stepped. Losses that steer the search (rewards, candidate scores) or the evaluation
(validation and test perplexity, the NT-ASGD switch) are summed as loss * tokens over the ranks in one
all-reduce, so every rank gets the same number. With ``reps`` None
every function is the one-process code path, bit for bit. Imports torch.
"""
from __future__ import annotations

from typing import Any

import torch

from harness.distributed import all_reduce_sum
from harness.errors import HarnessError
from benchmarks.training.replicas import Replicas


def own(data: torch.Tensor, reps: Replicas | None) -> torch.Tensor:
    """This rank's contiguous columns of a (T, B) stream (all of it for one process)."""
    if reps is None:
        return data
    part = reps.part(data.shape[1])
    if part.stop <= part.start:
        raise HarnessError(f"data-parallel training under torchrun needs at least one column per rank: batch "
                           f"{data.shape[1]} < {reps.dist.world} ranks")
    return data[:, part].contiguous()


def split_columns(model: Any, batch: int, reps: Replicas | None) -> None:
    """Tell the model its training inputs are this rank's columns of ``batch`` (dropout masks drawn for
    all of them); nothing for one process."""
    if reps is not None:
        model.columns = (batch, reps.part(batch))


def train_step(model: Any, opt: Any, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, lr: float, clip: float,
               beta: float, reps: Replicas | None) -> tuple[torch.Tensor, float]:
    """``_rnn_net.train_step`` on this rank's columns with the gradients (and the returned loss)
    averaged over the ranks before clipping; the plain step for one process."""
    from benchmarks.training.nets.rnn import train_step as step

    if reps is None:
        return step(model, opt, x, y, h, lr, clip, beta)
    share = x.shape[1] / model.columns[0]
    return step(model, opt, x, y, h, lr, clip, beta, lambda loss: reps.average_grads(model, share, loss))


@torch.no_grad()
def mean_loss(model: Any, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor,
              reps: Replicas | None) -> tuple[float, torch.Tensor]:
    """Mean per-token NLL of one window over all ranks' columns (eval mode, no update) and this rank's
    next hidden state. Under torchrun: sum of loss * tokens over tokens, from one all-reduce."""
    from benchmarks.training.nets.rnn import nll

    model.eval()
    logp, h, _ = model(x, h)
    loss = nll(logp, y)
    if reps is None:
        return float(loss), h
    n = y.numel()
    buf = torch.tensor([float(loss) * n, float(n)], dtype=torch.float64, device=logp.device)
    total, count = all_reduce_sum(buf, reps.dist).tolist()
    return total / count, h


@torch.no_grad()
def split_mean_nll(model: Any, data: torch.Tensor, bptt: int, reps: Replicas | None) -> float:
    """``_rnn_net.mean_nll`` of a whole batchified split, each rank running its own columns (a rank may
    have none: the test split is batchified by 1 in the paper's recipe) and one all-reduce of
    [loss * tokens, tokens] over the ranks; the one-process function itself for ``reps`` None."""
    from benchmarks.training.nets.rnn import chunks, mean_nll, nll

    if reps is None:
        return mean_nll(model, data, bptt)
    mine = data[:, reps.part(data.shape[1])]
    was = model.training
    model.eval()
    total, count = 0.0, 0
    if mine.shape[1]:
        h = model.init_hidden(mine.shape[1])
        for x, y in chunks(mine, bptt):
            logp, h, _ = model(x, h)
            total += float(nll(logp, y)) * y.numel()
            count += y.numel()
    model.train(was)
    buf = torch.tensor([total, float(count)], dtype=torch.float64, device=data.device)
    total, count = all_reduce_sum(buf, reps.dist).tolist()
    return total / max(1.0, count)

