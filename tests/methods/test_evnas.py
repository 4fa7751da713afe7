"""EvNAS: the checks of methods/evnas.md at CI size (digits 8x8, P=4, T=2, G=2, C=4, N=1)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.spaces.darts import DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402
from methods._oneshot import evnas_ga as ga  # noqa: E402
from methods.evnas import EvNAS  # noqa: E402
from tests.methods.oneshot_fixtures import ALLOWED, TEST_ACC, ImageTask, digits_data, run_method, run_patched  # noqa: E402

CI = dict(population=3, tournament=2, generations=2, C=4, N=1, layers=3, cutout=0, batch=24, eval_batch=256)


def test_defaults_are_the_seed_settings():
    c = EvNAS.Config()
    assert (c.population, c.tournament, c.elites, c.mutation_rate, c.generations) == (50, 10, 1, 0.1, 50)
    assert (c.batch, c.eval_batch, c.lr, c.lr_min, c.momentum, c.weight_decay, c.grad_clip) == (
        64, 1024, 0.025, 0.001, 0.9, 3e-4, 5.0)
    assert (c.C, c.N, c.layers, c.affine, c.track_running_stats) == (16, 5, 8, False, True)


def test_darts_decode_keeps_two_distinct_edges_per_node_and_no_none():
    rng = np.random.default_rng(1)
    space = DartsSpace()
    for alpha in ga.random_alpha(rng, ga.SHAPES["darts"], 200):
        codes, mask = ga.decode_darts(alpha)
        space.check(codes)  # ops 1..7, sources in range, two distinct sources per node
        assert mask.shape == (2, 14, 8) and (mask.sum(axis=(1, 2)) == 8).all()
        assert mask[..., 0].sum() == 0  # never `none`
        for cell in range(2):
            for node, start in enumerate(ga.DARTS_OFFSETS):
                assert mask[cell, start:start + node + 2].sum() == 2


def test_darts_decode_picks_runner_up_when_none_wins():
    alpha = np.zeros((2, 14, 8))
    alpha[:, :, 0] = 5.0       # `none` wins every edge
    alpha[:, :, 3] = 1.0       # skip_connect is the runner-up
    alpha[:, 1, 3] = 2.0       # node 0 prefers src 1 first
    codes, _ = ga.decode_darts(alpha)
    cells = codes.reshape(2, 8, 2)
    assert (cells[..., 0] == 3).all()
    assert list(cells[0, 0]) == [3, 1] and list(cells[0, 1]) == [3, 0]


@pytest.mark.parametrize("space,hi,lo,dropped", [("darts", 0.2797, 0.1029, 0.125), ("nb201", 0.4046, 0.1488, None)])
def test_mixing_weights_of_the_decoded_mask(space, hi, lo, dropped):
    alpha = ga.random_alpha(np.random.default_rng(0), ga.SHAPES[space], 1)[0]
    _, mask = ga.DECODERS[space](alpha)
    w = ga.mixing_weights(mask)
    kept = mask.sum(-1) == 1
    assert np.allclose(w[mask == 1], hi, atol=5e-5)
    assert np.allclose(w[kept][mask[kept] == 0], lo, atol=5e-5)
    if dropped is None:
        assert kept.all()
    else:
        assert np.allclose(w[~kept], dropped)


def test_nb201_decode_gives_a_valid_arch_string():
    space = NB201Space()
    for alpha in ga.random_alpha(np.random.default_rng(2), ga.SHAPES["nb201"], 300):
        codes, mask = ga.decode_nb201(alpha)
        s = space.format(codes)[0]
        assert np.array_equal(space.parse(s), codes)
        assert np.array_equal(codes, alpha[0].argmax(1)) and (mask.sum(-1) == 1).all()


def test_crossover_rows_come_from_one_parent_and_mutation_rate():
    rng = np.random.default_rng(3)
    a, b = ga.random_alpha(rng, (2, 14, 8), 2)
    for _ in range(50):
        child = ga.crossover(a, b, rng)
        from_a = (child == a).all(-1)
        from_b = (child == b).all(-1)
        assert (from_a | from_b).all()
    pop = ga.random_alpha(rng, (2, 14, 8), 400)
    hit = np.mean([(ga.mutate(x, 0.1, rng) != x).any(-1) for x in pop])
    assert abs(hit - 0.1) < 0.015


class _RecordingRng:
    def __init__(self) -> None:
        self.rng, self.calls = np.random.default_rng(0), []

    def choice(self, n, size, replace):
        self.calls.append((n, size, replace))
        return self.rng.choice(n, size=size, replace=replace)


def test_tournament_draws_distinct_individuals_and_the_fittest_wins():
    fit = np.array([5.0, 9.0, 1.0, 7.0])
    rec = _RecordingRng()
    assert ga.tournament(fit, 4, rec) == 1
    assert rec.calls == [(4, 4, False)]


@pytest.fixture(scope="module")
def nb201_run(tmp_path_factory):
    """One instrumented CI run: trained populations, set_weights calls, fitness calls."""
    from methods._oneshot import supernets, training

    log = {"trained": [], "set": [], "fitness": [], "acc_rows": [], "snap": [], "in_train": False}
    set_weights, train_epoch, fitness, accuracy = (
        supernets._Mixing.set_weights, EvNAS._train_epoch, EvNAS._fitness, training.accuracy)

    def state(net):
        return {k: v.clone() for k, v in net.state_dict().items()}

    def rec_set(self, w):
        log["set"].append((log["in_train"], np.array(w)))
        set_weights(self, w)

    def rec_train(self, pop):
        log["trained"].append(pop.copy())
        log["snap"].append(("before", state(self.net)))
        log["in_train"] = True
        train_epoch(self, pop)
        log["in_train"] = False
        log["snap"].append(("after", state(self.net)))

    def rec_fitness(self, alpha):
        before = state(self.net)
        out = fitness(self, alpha)
        after = state(self.net)
        log["fitness"].append(all(torch.equal(before[k], after[k]) for k in before))
        return out

    def rec_acc(net, x, y, batch):
        log["acc_rows"].append(len(y))
        return accuracy(net, x, y, batch)

    patches = [(supernets._Mixing, "set_weights", rec_set), (EvNAS, "_train_epoch", rec_train),
               (EvNAS, "_fitness", rec_fitness), (training, "accuracy", rec_acc)]
    out = run_patched(patches, "evnas", NB201Space(), CI, tmp_path_factory.mktemp("evnas") / "r.h5")
    return (*out, log)


def test_round_robin_training_uses_individual_step_mod_p(nb201_run):
    inst, _, _, log = nb201_run
    train_calls = [w for in_train, w in log["set"] if in_train]
    n_steps = -(-96 // CI["batch"])  # minibatches per epoch
    assert len(train_calls) == CI["generations"] * n_steps
    for g, pop in enumerate(log["trained"]):
        for step in range(n_steps):
            expected = ga.mixing_weights(ga.decode_nb201(pop[step % len(pop)])[1])
            assert np.allclose(train_calls[g * n_steps + step], expected)


def test_fitness_p_passes_over_full_valid_split_without_updates(nb201_run):
    inst, _, traj, log = nb201_run
    P, G = CI["population"], CI["generations"]
    assert len(log["fitness"]) == P * G and all(log["fitness"])
    assert log["acc_rows"] == [64] * (P * G)  # the whole validation split each time
    charge = traj["kind"] == KIND_CHARGE
    assert (traj["epochs"][charge] == 1).sum() == G and (traj["epochs"][charge] == 0).sum() == G * P
    # weights carry over: the state after epoch g is the state before epoch g+1
    after0, before1 = log["snap"][1][1], log["snap"][2][1]
    assert all(torch.equal(after0[k], before1[k]) for k in after0)


def test_elitism_keeps_the_best_alpha_unchanged(nb201_run):
    inst, _, _, log = nb201_run
    for g in range(CI["generations"] - 1):
        assert np.array_equal(log["trained"][g + 1][0], inst.populations[g][0])
        assert inst.fitness[g][0] == inst.fitness[g].max()


def test_nb201_result_is_submitted_and_test_values_never_reach_the_method(nb201_run):
    inst, spy, traj, _ = nb201_run
    assert spy.touched <= ALLOWED and "evaluate" not in spy.touched
    final = traj["kind"] == KIND_FINAL
    assert final.sum() == 1 and np.array_equal(traj.codes[final][0], inst.best[-1])
    assert inst.result == NB201Space().format(inst.best[-1])[0]
    assert TEST_ACC not in np.concatenate([f for f in inst.fitness])


def test_same_seed_same_populations_and_cell(tmp_path):
    a, _, ta = run_method("evnas", NB201Space(), CI, tmp_path / "a.h5", 5)
    b, _, tb = run_method("evnas", NB201Space(), CI, tmp_path / "b.h5", 5)
    assert len(a.populations) == 2 and a.result == b.result
    assert all(np.array_equal(x, y) for x, y in zip(a.populations, b.populations))
    assert np.array_equal(ta.codes, tb.codes) and np.array_equal(ta["epochs"], tb["epochs"])


def test_darts_search_returns_a_genotype(tmp_path):
    inst, spy, traj = run_method("evnas", DartsSpace(), CI, tmp_path / "a.h5", 5,
                                 ImageTask(DartsSpace(), digits_data(24, 16)))
    assert np.array_equal(DartsSpace().parse(inst.result), inst.best[-1])
    assert (traj["kind"] == KIND_FINAL).sum() == 1 and spy.touched <= ALLOWED  # submitted by default
    assert np.array_equal(traj.codes[traj["kind"] == KIND_FINAL][0], inst.best[-1])


def test_epoch_budget_caps_whole_generations(tmp_path):
    inst, _, traj = run_method("evnas", NB201Space(), {**CI, "generations": 5}, tmp_path / "r.h5",
                               max_epochs=2)
    assert len(inst.populations) == 2 and traj["epochs"].sum() == 2
    assert (traj["kind"] == KIND_FINAL).sum() == 1


def test_tournament_without_replacement_always_finds_the_best_when_t_equals_p():
    """Check 6, behaviour rather than call arguments: T = P distinct draws must include the fittest
    (with replacement it would be missed (1 - 1/10)^10 ~ 35 % of the time)."""
    fit = np.random.default_rng(8).random(10)
    rng = np.random.default_rng(9)
    assert all(ga.tournament(fit, 10, rng) == int(np.argmax(fit)) for _ in range(200))
    assert len({ga.tournament(fit, 3, rng) for _ in range(300)}) > 1  # T < P: not always the best


def test_next_generation_children_come_row_wise_from_their_two_winners_then_mutate_at_rate_m(monkeypatch):
    """Check 6 through ``next_generation`` (what the search calls): tournaments of size T, each child's
    pre-mutation rows from its two tournament winners, elites untouched, per-row mutation ~= m."""
    rng = np.random.default_rng(10)
    P, T, m = 12, 3, 0.1
    log = {"wins": [], "sizes": [], "pre": []}
    tournament, mutate = ga.tournament, ga.mutate

    def rec_tournament(fitness, size, r):
        log["sizes"].append(size)
        log["wins"].append(tournament(fitness, size, r))
        return log["wins"][-1]

    def rec_mutate(alpha, rate, r):
        log["pre"].append((alpha.copy(), rate))
        return mutate(alpha, rate, r)

    monkeypatch.setattr(ga, "tournament", rec_tournament)
    monkeypatch.setattr(ga, "mutate", rec_mutate)
    changed = rows = 0
    for _ in range(60):
        pop = ga.random_alpha(rng, ga.SHAPES["darts"], P)
        fit = -np.sort(-rng.random(P))  # best first, as the search passes it
        log["wins"], log["pre"] = [], []
        new = ga.next_generation(pop, fit, T, 1, m, rng)
        assert np.array_equal(new[0], pop[0]) and len(new) == P
        assert len(log["wins"]) == 2 * (P - 1) and len(log["pre"]) == P - 1
        for k, (pre, rate) in enumerate(log["pre"]):
            a, b = pop[log["wins"][2 * k]], pop[log["wins"][2 * k + 1]]
            assert ((pre == a).all(-1) | (pre == b).all(-1)).all() and rate == m
            hit = (new[k + 1] != pre).any(-1)
            assert (new[k + 1][~hit] == pre[~hit]).all()
            changed, rows = changed + hit.sum(), rows + hit.size
    assert set(log["sizes"]) == {T}
    assert abs(changed / rows - m) < 0.012  # 60 x 11 x 28 rows


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_supernet_edges_mix_with_the_decoded_weights(space, monkeypatch):
    """Check 1 at the supernet: after ``set_weights`` every mixed edge of every cell runs with its own
    row of softmax(mask) (S1: normal rows in normal cells, reduce rows in reduction cells)."""
    from methods._oneshot.supernets import DartsSupernet, MixedEdge, NB201Supernet

    alpha = ga.random_alpha(np.random.default_rng(11), ga.SHAPES[space], 1)[0]
    w = ga.mixing_weights(ga.DECODERS[space](alpha)[1])
    if space == "nb201":
        net = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
        where = {id(e): (0, k) for layer in net.layers if isinstance(layer, torch.nn.ModuleList)
                 for k, e in enumerate(layer)}
    else:
        net = DartsSupernet(C=4, layers=3, num_classes=10, in_channels=1)
        where = {id(e): (int(cell.reduction), k) for cell in net.cells for k, e in enumerate(cell.edges)}
    seen: list[tuple[int, int, np.ndarray]] = []
    mixed = MixedEdge.mixed

    def rec(self, x, weights):
        seen.append((*where[id(self)], weights.detach().numpy().copy()))
        return mixed(self, x, weights)

    monkeypatch.setattr(MixedEdge, "mixed", rec)
    net.set_weights(w)
    net(torch.zeros(2, 1, 8, 8))
    assert len(seen) == len(where)  # every edge of every cell mixed once
    for cell, edge, got in seen:
        np.testing.assert_allclose(got, w[cell, edge], rtol=1e-6)
