"""REINFORCE over per-edge softmax logits, NB201 settings (Williams 1992; baselines.md).

Adam and the bias-corrected moving-average baseline are written in numpy: a 6x5 table of logits
does not need torch. A step is ~25 ufunc calls on 30 numbers, so their per-call cost is all there
is: every step writes into buffers allocated once (``out=``) and calls ufuncs directly, with the
same operations in the same order as the plain expressions (``softmax``, the docstrings), hence
the same floats and the same cells. Plain Python floats were tried and are slower (~130 ns an op).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS

_add, _sub, _mul, _div, _sqrt, _exp = np.add, np.subtract, np.multiply, np.divide, np.sqrt, np.exp


@dataclass(frozen=True)
class Config:
    learning_rate: float = option(0.5, gt=0)  # the NB201 docs' reproduction value (grid 0.01..0.5)
    ema_momentum: float = option(0.9, ge=0, le=1)
    init_std: float = option(1e-3, ge=0)
    beta1: float = option(0.9, ge=0, lt=1)  # Adam, torch defaults
    beta2: float = option(0.999, ge=0, lt=1)
    eps: float = option(1e-8, gt=0)


class EMABaseline:
    """Exponential moving average with bias correction: num/den, so the first value is exact."""

    def __init__(self, momentum: float) -> None:
        self.momentum, self.num, self.den = momentum, 0.0, 0.0

    def update(self, value: float) -> float:
        self.num = self.momentum * self.num + (1 - self.momentum) * value
        self.den = self.momentum * self.den + (1 - self.momentum)
        return self.value

    @property
    def value(self) -> float:
        return self.num / self.den


class Adam:
    """torch.optim.Adam's update (no weight decay) for one numpy parameter, in place.

    ``step`` computes, into buffers allocated once, exactly ``m = b1*m + (1-b1)*g``,
    ``v = b2*v + (1-b2)*g*g``, ``denom = sqrt(v)/sqrt(1-b2^t) + eps`` and
    ``param -= lr/(1-b1^t) * m / denom`` (products commute exactly; the order of the rest is kept).
    m and v live in one (2, ...) array so each of their shared steps is one ufunc call; outputs are
    passed positionally (keyword parsing is a measurable share of a call on 30 numbers).
    """

    def __init__(self, param: np.ndarray, lr: float, beta1: float, beta2: float, eps: float) -> None:
        self.param, self.lr, self.b1, self.b2, self.eps = param, lr, beta1, beta2, eps
        self.t = 0
        self._mv, self._tmp2 = np.zeros((2,) + param.shape), np.empty((2,) + param.shape)
        col = (2,) + (1,) * param.ndim
        self._betas, self._gains = np.array([beta1, beta2]).reshape(col), np.array([1 - beta1, 1 - beta2]).reshape(col)
        self.m, self.v = self._mv[0], self._mv[1]  # views
        self._tmp, self._tmp_v, self._denom = self._tmp2[0], self._tmp2[1], np.empty_like(param)

    def step(self, grad: np.ndarray) -> None:
        self.t += 1
        mv, tmp2, tmp, denom = self._mv, self._tmp2, self._tmp, self._denom
        _mul(mv, self._betas, mv)                      # b1*m, b2*v
        _mul(grad, self._gains, tmp2)                  # (1-b1)*g, (1-b2)*g
        _mul(self._tmp_v, grad, self._tmp_v)           # (1-b2)*g*g
        _add(mv, tmp2, mv)
        _sqrt(self.v, denom)
        _div(denom, math.sqrt(1 - self.b2 ** self.t), denom)
        _add(denom, self.eps, denom)
        _mul(self.m, self.lr / (1 - self.b1 ** self.t), tmp)
        _div(tmp, denom, tmp)
        _sub(self.param, tmp, self.param)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Per-row softmax: the reference ``Reinforce.probs`` computes in place."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@METHODS.register("reinforce")
class Reinforce:
    """REINFORCE: sample a cell from the policy, reward = validation accuracy (%), Adam step."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config
        n_choices = int(getattr(space, "n_choices"))
        self.theta = config.init_std * rng.standard_normal((space.n_dims, n_choices))
        self.baseline = EMABaseline(config.ema_momentum)
        self.adam = Adam(self.theta, config.learning_rate, config.beta1, config.beta2, config.eps)
        shape, col = self.theta.shape, (space.n_dims, 1)
        self._probs, self._grad, self._cdf = np.empty(shape), np.empty(shape), np.empty(shape)
        self._top, self._total, self._u = np.empty(col), np.empty(col), np.empty(col)
        self._cdf_head = self._cdf[:, :-1]  # a view: the last cdf entry is never compared
        self._below = np.empty((space.n_dims, n_choices - 1), dtype=bool)
        self._onehot, self._ops = np.empty(shape, dtype=bool), np.arange(n_choices)
        self._probs_step = -1

    def probs(self) -> np.ndarray:
        """The policy, ``softmax(theta)`` computed in place; once per Adam step (sample and update
        share it). The returned buffer is overwritten after the next update."""
        if self._probs_step != self.adam.t:
            p, top, total = self._probs, self._top, self._total
            np.maximum.reduce(self.theta, 1, None, top, True)  # axis, dtype, out, keepdims
            _sub(self.theta, top, p)
            _exp(p, p)
            np.add.reduce(p, 1, None, total, True)
            _div(p, total, p)
            self._probs_step = self.adam.t
        return self._probs

    def sample(self) -> np.ndarray:
        """One op per edge from the per-edge categorical: the number of cdf entries below u, capped
        at the last op (= ``min(bisect_left(cdf_row, u), n-1)``: the cdf is nondecreasing, so that
        is the count of entries below u among its first n-1)."""
        np.add.accumulate(self.probs(), 1, None, self._cdf)  # = np.cumsum(p, axis=1)
        self.rng.random(out=self._u)  # the same draws as rng.random(n_dims)
        np.less(self._cdf_head, self._u, self._below)
        return np.add.reduce(self._below, 1, np.int8)

    def update(self, codes: np.ndarray, reward: float) -> None:
        """Baseline first, then one Adam step on -(sum log p(a)) * (r - b), whose gradient is
        (p - onehot(a)) * (r - b) (the same floats as -(r - b) * (onehot - p))."""
        advantage = reward - self.baseline.update(reward)
        grad = self._grad
        np.equal(np.asarray(codes)[:, None], self._ops, self._onehot)
        _sub(self.probs(), self._onehot, grad)  # p - 1.0 on the sampled op, p - 0.0 = p elsewhere
        _mul(grad, advantage, grad)
        self.adam.step(grad)

    def search(self, evaluator: MeteredEvaluator) -> None:
        while True:
            codes = self.sample()
            self.update(codes, float(evaluator.evaluate(codes)))
