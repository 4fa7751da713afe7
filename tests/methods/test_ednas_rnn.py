"""EDNAS recurrent cell search (ednas-rnn on ptb-train) at CI size: synthetic text, hidden 16, 1 epoch."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.spaces.rnn import EDNAS_PTB, RNNSpace  # noqa: E402
from harness.protocols import TextData  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402
from methods._oneshot import ednas_policy as pol  # noqa: E402
from methods.ednas_rnn import EDNASRNN  # noqa: E402
from tests.methods.oneshot_fixtures import ALLOWED, run_method  # noqa: E402

CI = dict(epochs=1, nhid=16, batch=16, bptt=12, n_candidates=5)
SPACE = RNNSpace()


def test_defaults_are_the_seed_ptb_settings():
    c = EDNASRNN.Config()
    assert (c.epochs, c.batch, c.lr, c.nhid, c.dropout, c.policy_lr, c.grad_clip, c.bptt) == (
        150, 256, 20.0, 300, 0.75, 0.003, 0.25, 35)
    assert (c.reward_c, c.baseline_decay, c.n_candidates) == (80.0, 0.99, 100)


def test_policy_vector_lengths_and_every_sample_is_a_valid_cell():
    p = pol.rnn_policy(torch.Generator().manual_seed(0))
    assert [p.logits[f"struct{i}"].shape[1] for i in range(2, 9)] == list(range(2, 9))  # node i: i inputs
    assert "struct1" not in p.logits and p.logits["op"].shape == (36, 4)  # node 1 reads node 0 (seed)
    assert float(p.logits["op"].detach().abs().max()) == 0.0  # zeros, as the PTB seed
    rng, seen = np.random.default_rng(0), set()
    for _ in range(300):
        codes, choices = pol.sample_rnn(p, rng)
        SPACE.check(codes)
        assert codes[1] == 0 and len(choices) == 7 + 8
        direct = sum(math.log(1 / p.logits[t].shape[1]) for t, _, _ in choices)
        assert abs(float(p.log_prob(choices).detach()) - direct) < 1e-5
        seen.add(tuple(codes))
    assert len(seen) == 300


def test_single_path_cell_runs_8_nodes_and_matches_the_darts_formula():
    from benchmarks.training.nets.rnn import ACT_FNS, RNNModel

    codes = SPACE.parse(EDNAS_PTB)
    m = RNNModel(10, 4, 0.0, 0.0, 0.0, 0.0, 0.0, search=False, codes=codes).eval()
    x, h = torch.randn(3, 4, generator=torch.Generator().manual_seed(1)), torch.zeros(3, 4)
    out = m.cell.step(x, h, None, None)
    assert m.cell.calls == 8
    c0, h0 = torch.split(torch.cat([x, h], -1) @ m.cell.W0, 4, -1)
    states = [h + c0.sigmoid() * (h0.tanh() - h)]
    for i, (a, s) in enumerate(codes.reshape(8, 2)):
        c, hh = torch.split(states[s] @ m.cell.Ws[i], 4, -1)
        states.append(states[s] + c.sigmoid() * (ACT_FNS[a](hh) - states[s]))
    assert torch.allclose(out, torch.stack(states[1:]).mean(0), atol=1e-6)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from benchmarks.ptb_train import make

    return make("synthetic-text", cache=tmp_path_factory.mktemp("cache"), recipe_changes={"epochs": 1})


@pytest.fixture(scope="module")
def runs(task, tmp_path_factory):
    d = tmp_path_factory.mktemp("ednas-rnn")
    return [run_method("ednas-rnn", SPACE, CI, d / f"{k}.h5", 3, task=task) for k in range(2)]


def test_search_charges_epochs_and_seconds_and_submits_the_best_candidate(runs, task):
    inst, spy, traj = runs[0]
    kind = traj["kind"]
    charge = kind == KIND_CHARGE
    assert (traj["epochs"][charge] == 1).sum() == 1 and traj["epochs"].sum() == 1
    assert charge.sum() == 3 and (traj["cost_s"][charge] > 0).all()  # weights, policy, select: measured s
    assert len(inst.scores) == CI["n_candidates"]
    best = inst.candidates[int(np.argmax(inst.scores))]
    assert (kind == KIND_FINAL).sum() == 1 and np.array_equal(traj.codes[-1], best)
    assert inst.result == SPACE.format(best)[0]
    ppl = -traj["report_valid"][-1]  # the benchmark trained the cell from scratch: negated perplexity
    assert 1 < ppl < 1000 and -traj["report_test"][-1] > 1
    # rewards: c / ppl of each valid window, the moving baseline as the seed
    n_windows = -(-(800 // CI["batch"] - 1) // CI["bptt"])
    assert len(inst.rewards) == n_windows and all(0 < r < 80 for r in inst.rewards)
    b = 0.0
    for r, got in zip(inst.rewards, inst.baselines):
        b -= (1 - 0.99) * (b - r)
        assert got == pytest.approx(b, abs=1e-12)


def test_the_method_sees_train_and_valid_tokens_only(runs, task):
    _, spy, traj = runs[0]
    assert spy.touched <= ALLOWED
    data = task.search_data()
    assert isinstance(data, TextData) and set(vars(data)) == {"name", "train", "valid", "n_tokens"}
    c = task.corpus()
    assert data.train is c.train and data.valid is c.valid
    assert np.isnan(traj["val"]).all() and np.isnan(traj["report_test"][traj["kind"] == KIND_CHARGE]).all()


def test_same_seed_same_search_bit_for_bit(runs):
    (a, _, ta), (b, _, tb) = runs
    assert a.rewards == b.rewards and a.scores == b.scores and a.train_losses == b.train_losses
    assert a.result == b.result and np.array_equal(ta.codes, tb.codes)
    assert np.array_equal(ta["report_valid"], tb["report_valid"], equal_nan=True)


def test_training_a_cell_beats_the_unigram_baseline(task):
    from benchmarks.training.lm_trainer import lm_preset, train_cell
    from benchmarks.training.data.text import unigram_perplexity

    c = task.corpus()
    torch.set_num_threads(1)
    row = train_cell(c, SPACE.parse(EDNAS_PTB), lm_preset("tiny"), 0, 2)
    uni = unigram_perplexity(c.train, c.valid, c.n_tokens)
    assert row["val"] < 0.8 * uni and row["test"] < uni and row["epochs"] == 2 and row["cost_s"] > 0


def test_wrong_space_or_data_fail_in_one_line():
    from benchmarks.spaces.nb201 import NB201Space
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="ednas-rnn needs the rnn space, got .* ptb-train"):
        EDNASRNN(NB201Space(), np.random.default_rng(0), EDNASRNN.Config())
    with pytest.raises(HarnessError, match="n_candidates"):
        EDNASRNN.Config(n_candidates=0)


def test_ptb_train_options_and_metric_are_recorded(task):
    from benchmarks.ptb_train import make
    from harness.errors import HarnessError

    attrs = task.attrs()
    assert attrs["metric"].startswith("negated perplexity") and attrs["unigram_valid_ppl"] > 12
    assert json.loads(attrs["recipe"])["epochs"] == 1 and attrs["n_test"] == 800
    from harness.options import factory_specs, validate

    with pytest.raises(HarnessError, match="unknown option"):  # checked when a study is built
        validate(factory_specs(make), {"colour": 1}, "--option {}")


def test_a_diverged_child_scores_worst_and_does_not_poison_the_next(runs, monkeypatch):
    import benchmarks.training.rnn_replicas as rr

    inst = runs[0][0]
    h = torch.full((4, CI["nhid"]), float("nan"))
    monkeypatch.setattr(rr, "mean_loss", lambda net, x, y, h, reps: (float("nan"), h))
    reward, h2 = inst._reward(None, None, h)
    assert reward == 0.0 and h2.shape == h.shape and bool((h2 == 0).all())  # c / inf, fresh hidden state
    monkeypatch.setattr(rr, "mean_loss", lambda net, x, y, h, reps: (2.0, h))
    assert inst._reward(None, None, h2)[0] == pytest.approx(80.0 / math.exp(2.0))
