"""Sheet checks 1-3 of predictor_evolution.md and the PNAS surrogate check 5."""
from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau

from benchmarks.spaces.nb201 import NB201Space
from methods._predictors.graphs import macro_graph, nb201_graph


def test_macro_graph_has_36_nodes_two_edges_per_op_and_self_loops():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(4, 30))
    adj, feats = macro_graph(bits)
    assert adj.shape == (4, 36, 36) and feats.shape == (4, 36, 3)
    for a, f, b in zip(adj, feats, bits):
        assert a.sum() == 2 * b.sum() + 36
        assert np.all(np.diag(a) == 1)
        np.testing.assert_array_equal(f[:, 0], a.sum(axis=1) - 1)  # out-degree without the self loop
        assert np.all(f[:, 1:] == 1)


def test_nb201_graph_has_34_nodes_and_none_cuts_the_edge():
    codes = NB201Space().parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
    adj, feats = nb201_graph(codes)
    assert adj.shape == (1, 34, 34)
    assert adj[0].sum() == 2 * 4 + 34  # four non-none edges
    assert adj[0, 0, 4 + 0 * 5 + 3] == 1 and adj[0, 4 + 3, 1] == 1  # 0 -> conv3x3 op node -> 1
    assert feats[0, 0, 0] == 2  # node 0 feeds edge 1<-0 and edge 3<-0


def _linear_target(codes: np.ndarray) -> np.ndarray:
    w = np.random.default_rng(7).normal(size=(6, 5))
    return 60 + 4 * w[np.arange(6), codes.astype(int)].sum(axis=1)


def test_gnn_output_in_unit_interval_deterministic_and_learns_a_linear_target():
    from methods._predictors.models import Predictor, PredictorConfig, tau

    codes = NB201Space().sample(np.random.default_rng(1), 140)
    y = _linear_target(codes)
    cfg = PredictorConfig(kind="gnn", hidden=16, layers=2, epochs=30, lr=5e-3)
    p1 = Predictor("nb201", 5, cfg, seed=3).fit(codes[:100], y[:100])
    p2 = Predictor("nb201", 5, cfg, seed=3).fit(codes[:100], y[:100])
    out = p1.predict01(codes[100:])
    assert np.all((out > 0) & (out < 1))
    np.testing.assert_array_equal(out, p2.predict01(codes[100:]))
    t = tau(p1.predict(codes[100:]), y[100:])
    assert t == kendalltau(p1.predict(codes[100:]), y[100:]).statistic
    assert t > 0.5


def test_mlp_learns_a_linear_target():
    from methods._predictors.models import Predictor, PredictorConfig, tau

    codes = NB201Space().sample(np.random.default_rng(2), 160)
    y = _linear_target(codes)
    p = Predictor("nb201", 5, PredictorConfig(kind="mlp", hidden=32, epochs=80, lr=3e-3), seed=0)
    assert tau(p.fit(codes[:100], y[:100]).predict(codes[100:]), y[100:]) > 0.5


def test_lstm_surrogate_ranks_variable_length_cells():
    from methods._predictors.models import LSTMSurrogate, SurrogateConfig, tau
    from methods.pnas import tokens

    rng = np.random.default_rng(4)
    codes = NB201Space().sample(rng, 200)
    levels = rng.integers(1, 4, size=200)
    toks = [tokens(c, int(lv))[0] for c, lv in zip(codes, levels)]
    w = np.random.default_rng(5).normal(size=(6, 5))
    y = np.array([50 + 5 * w[t[:, 0], t[:, 1]].sum() for t in toks])
    s = LSTMSurrogate(6, 5, SurrogateConfig(embed=8, hidden=16, ensemble=2, epochs=40), seed=1)
    s.fit(toks[:160], y[:160])
    assert tau(s.predict(toks[160:]), y[160:]) > 0.5
    assert {len(t) for t in toks} == {1, 3, 6}
