"""REINFORCE over per-edge softmax logits, NB201 settings (Williams 1992; baselines.md).

Adam and the bias-corrected moving-average baseline are written in numpy: a 6x5 table of logits
does not need torch.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.protocols import SearchSpace
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    learning_rate: float = 0.5  # the NB201 docs' reproduction value (grid 0.01..0.5)
    ema_momentum: float = 0.9
    init_std: float = 1e-3
    beta1: float = 0.9   # Adam, torch defaults
    beta2: float = 0.999
    eps: float = 1e-8


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
    """torch.optim.Adam's update (no weight decay) for one numpy parameter, in place."""

    def __init__(self, param: np.ndarray, lr: float, beta1: float, beta2: float, eps: float) -> None:
        self.param, self.lr, self.b1, self.b2, self.eps = param, lr, beta1, beta2, eps
        self.m, self.v, self.t = np.zeros_like(param), np.zeros_like(param), 0

    def step(self, grad: np.ndarray) -> None:
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        denom = np.sqrt(self.v) / np.sqrt(1 - self.b2 ** self.t) + self.eps
        self.param -= self.lr / (1 - self.b1 ** self.t) * self.m / denom


def softmax(logits: np.ndarray) -> np.ndarray:
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
        self._probs, self._probs_step = softmax(self.theta), 0
        self._rows = np.arange(space.n_dims)

    def probs(self) -> np.ndarray:
        """The policy; cached per Adam step (sample and update of one step share it)."""
        if self._probs_step != self.adam.t:
            self._probs, self._probs_step = softmax(self.theta), self.adam.t
        return self._probs

    def sample(self) -> np.ndarray:
        """One op per edge from the per-edge categorical: the number of cdf entries below u
        (bisect on the nondecreasing cdf row, in Python: 6 rows do not pay numpy's call cost)."""
        cdf = np.cumsum(self.probs(), axis=1)
        u = self.rng.random(len(cdf)).tolist()
        top = cdf.shape[1] - 1
        return np.array([min(bisect_left(row, x), top) for row, x in zip(cdf.tolist(), u)], dtype=np.int8)

    def update(self, codes: np.ndarray, reward: float) -> None:
        """Baseline first, then one Adam step on -(sum log p(a)) * (r - b)."""
        advantage = reward - self.baseline.update(reward)
        grad = self.probs().copy()  # (p - onehot) * a: the same floats as -a * (onehot - p)
        grad[self._rows, codes] -= 1.0
        grad *= advantage
        self.adam.step(grad)

    def search(self, evaluator: MeteredEvaluator) -> None:
        while True:
            codes = self.sample()
            self.update(codes, float(evaluator.evaluate(codes)))
