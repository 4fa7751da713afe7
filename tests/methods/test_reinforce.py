"""REINFORCE checks (baselines.md check 4, plus 1 and 7)."""
from __future__ import annotations

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from methods.reinforce import Adam, Config, EMABaseline, Reinforce
from tests.methods.common import check_cost_and_determinism
from tests.methods.fakes import FakeEvaluator, run


def test_baseline_is_bias_corrected_ema() -> None:
    b, rewards = EMABaseline(0.9), [80.0, 90.0, 85.0, 70.0]
    for t, r in enumerate(rewards, 1):
        b.update(r)
        w = 0.9 ** np.arange(t - 1, -1, -1)
        assert np.isclose(b.value, np.dot(w, rewards[:t]) / w.sum())
    assert EMABaseline(0.9).update(42.0) == 42.0  # bias correction: the first value is exact


def test_adam_matches_reference_update() -> None:
    p = np.zeros(3)
    opt = Adam(p, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step(np.array([1.0, -2.0, 0.0]))
    assert np.allclose(p, [-0.1, 0.1, 0.0], atol=1e-6)  # first Adam step = -lr * sign(grad)


def test_favoured_op_probability_increases() -> None:
    space = NB201Space()
    m = Reinforce(space, np.random.default_rng(0), Config())
    before = m.probs()[2, 3]
    ev = run(m, FakeEvaluator(lambda c, f: 90.0 if c[2] == 3 else 80.0, max_evals=60))
    assert m.probs()[2, 3] > max(before, 0.9)
    assert len(ev.calls) == 60


def test_update_sign_follows_advantage() -> None:
    m = Reinforce(NB201Space(), np.random.default_rng(1), Config(learning_rate=0.01))
    a = np.array([0, 1, 2, 3, 4, 0], dtype=np.int8)
    m.update(a, 50.0)  # first reward: advantage 0, no move
    p0 = m.probs()[np.arange(6), a].copy()
    m.update(a, 90.0)  # above the baseline: the sampled ops get likelier
    assert np.all(m.probs()[np.arange(6), a] > p0)


def test_nb201_run(nb201_task, tmp_path) -> None:
    check_cost_and_determinism("reinforce", nb201_task("cifar10-valid"), tmp_path)


def _plain_step(theta, m, v, t, grad, lr=0.5, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as plain numpy expressions: the reference the in-place ``Adam.step`` must match."""
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
    return theta - lr / (1 - b1 ** t) * m / denom, m, v


def test_in_place_step_matches_plain_expressions_bit_for_bit() -> None:
    from methods.reinforce import softmax

    space, rng = NB201Space(), np.random.default_rng(3)
    m = Reinforce(space, np.random.default_rng(7), Config())
    theta, mom, var = m.theta.copy(), np.zeros((6, 5)), np.zeros((6, 5))
    base = EMABaseline(0.9)
    for t in range(1, 80):
        p = softmax(theta)
        assert np.array_equal(m.probs(), p)
        codes = m.sample()
        ref = np.minimum((np.cumsum(p, axis=1) < m._u).sum(axis=1), 4)  # bisect_left on the cdf, capped
        assert np.array_equal(codes, ref)
        reward = float(rng.uniform(80, 92))
        grad = p.copy()
        grad[np.arange(6), codes] -= 1.0
        grad *= reward - base.update(reward)
        theta, mom, var = _plain_step(theta, mom, var, t, grad)
        m.update(codes, reward)
        assert np.array_equal(m.theta, theta) and np.array_equal(m.adam.m, mom) and np.array_equal(m.adam.v, var)
