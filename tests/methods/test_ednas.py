"""EDNAS: the checks of methods/ednas.md at CI size (digits 8x8, E=2, C=4, N_cand=5)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.spaces.darts import DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402
from methods._oneshot import ednas_policy as pol  # noqa: E402
from methods.ednas import EDNAS  # noqa: E402
from tests.methods.oneshot_fixtures import ALLOWED, ImageTask, digits_data, run_method, run_patched  # noqa: E402

CI = dict(epochs=2, C=4, N=1, layers=3, batch=32, n_candidates=5)


def _policy(space: str, seed: int = 0) -> pol.FactorisedPolicy:
    return pol.SPACES[space][0](torch.Generator().manual_seed(seed))


def test_defaults_are_the_seed_settings():
    c = EDNAS.Config()
    assert (c.epochs, c.batch, c.lr, c.lr_min, c.momentum, c.weight_decay, c.nesterov, c.grad_clip) == (
        300, 128, 0.05, 0.001, 0.9, 3e-4, True, 5.0)
    assert (c.policy_lr, c.policy_betas, c.policy_weight_decay, c.baseline_decay) == (3.5e-4, (0.5, 0.999), 1e-3, 0.99)
    assert (c.train_portion, c.n_candidates, c.C, c.layers) == (0.8, 100, 16, 8)


def test_structure_vectors_pair_order_and_fixed_node0():
    p = _policy("darts")
    for cell in pol.CELLS:
        assert [p.logits[f"{cell}_struct{n}"].shape[1] for n in (1, 2, 3)] == [3, 6, 10]
        assert p.logits[f"{cell}_op"].shape == (14, 7)
    assert pol.PAIRS[:10] == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4))
    assert float(p.logits["normal_op"].detach().abs().max()) < 1e-2  # N(0, 1e-3^2) init
    rng = np.random.default_rng(0)
    for _ in range(50):
        codes, _ = pol.sample_darts(p, rng)
        cells = codes.reshape(2, 8, 2)
        assert (np.sort(cells[:, :2, 1], axis=1) == [0, 1]).all()


def test_every_darts_sample_is_a_valid_genotype():
    p, rng, space = _policy("darts"), np.random.default_rng(1), DartsSpace()
    for _ in range(200):
        codes, choices = pol.sample_darts(p, rng)
        space.check(codes)  # two distinct inputs per node, ops 1..7 (the 7 non-none ops)
        assert len(choices) == 2 * (3 + 8)


def test_log_prob_is_the_sum_of_log_softmax_and_grads_only_on_sampled_rows():
    p, rng = _policy("darts"), np.random.default_rng(2)
    with torch.no_grad():
        for v in p.logits.values():
            v.normal_(0, 1, generator=torch.Generator().manual_seed(3))
    codes, choices = pol.sample_darts(p, rng)
    direct = sum(float(torch.log_softmax(p.logits[t][r].detach().double(), 0)[i]) for t, r, i in choices)
    lp = p.log_prob(choices)
    assert abs(float(lp.detach()) - direct) < 1e-5
    lp.backward()
    op_rows = {r for t, r, _ in choices if t == "normal_op"}
    g = p.logits["normal_op"].grad
    for r in range(14):
        assert (g[r].abs().sum() > 0) == (r in op_rows)


def test_policy_learns_a_rewarded_op_and_baseline_recursion():
    p, rng = _policy("darts"), np.random.default_rng(4)
    rl = pol.Reinforce(p, 3.5e-4, (0.5, 0.999), 1e-3, 0.99)
    target_edge, target_op = 0, 3  # node 0 always uses edge 0 (src 0): reward when it is sep_conv_3x3

    def prob() -> float:
        return float(torch.softmax(p.logits["normal_op"][target_edge].detach(), 0)[target_op])

    start, b = prob(), 0.0
    for _ in range(300):
        codes, choices = pol.sample_darts(p, rng)
        reward = float(codes[0] == target_op + 1 and codes[1] == 0 or codes[2] == target_op + 1 and codes[3] == 0)
        rl.step(choices, reward)
        b = b - (1 - 0.99) * (b - reward)
        assert abs(rl.baseline - b) < 1e-12
    assert prob() > start + 0.01


def test_only_the_sampled_ops_run():
    from methods._oneshot.supernets import DartsSupernet, NB201Supernet

    calls = {"n": 0}

    def count(*_):
        calls["n"] += 1

    net = DartsSupernet(C=4, layers=3, num_classes=10, in_channels=1)
    for cell in net.cells:
        for edge in cell.edges:
            for op in edge.ops:
                op.register_forward_hook(count)
    codes, _ = pol.sample_darts(_policy("darts"), np.random.default_rng(5))
    net.set_path(codes)
    net(torch.zeros(2, 1, 8, 8))
    assert calls["n"] == 8 * len(net.cells)
    calls["n"] = 0
    nb = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
    for layer in nb.layers:
        if isinstance(layer, torch.nn.ModuleList):
            for edge in layer:
                for op in edge.ops:
                    op.register_forward_hook(count)
    nb_codes = np.array([1, 0, 3, 2, 0, 4], dtype=np.int8)  # 4 active edges
    nb.set_path(nb_codes)
    nb(torch.zeros(2, 1, 8, 8))
    assert calls["n"] == 4 * 3


def test_nb201_mapping_gives_valid_cells_without_dead_nodes():
    p, rng, space = _policy("nb201"), np.random.default_rng(6), NB201Space()
    assert [p.logits[f"struct{i}"].shape[1] for i in (1, 2, 3)] == [1, 3, 7] and p.logits["op"].shape == (6, 4)
    seen = set()
    for _ in range(300):
        codes, _ = pol.sample_nb201(p, rng)
        assert np.array_equal(space.parse(space.format(codes)[0]), codes)
        assert codes[0] > 0 and codes[1:3].any() and codes[3:6].any()
        seen.add(tuple(codes))
    allc = space.all_codes()
    alive = (allc[:, 0] > 0) & allc[:, 1:3].any(1) & allc[:, 3:6].any(1)
    assert alive.sum() == 4 * 24 * 124 == 11904 and len(seen) > 100


@pytest.fixture(scope="module")
def nb201_run(tmp_path_factory):
    log = {"weights": [], "policy": []}
    wstep, pstep = EDNAS._weight_step, EDNAS._policy_step

    def rec_w(self, ids):
        log["weights"].append(ids.numpy().copy())
        wstep(self, ids)

    def rec_p(self, ids):
        log["policy"].append(ids.numpy().copy())
        pstep(self, ids)

    patches = [(EDNAS, "_weight_step", rec_w), (EDNAS, "_policy_step", rec_p)]
    out = run_patched(patches, "ednas", NB201Space(), CI, tmp_path_factory.mktemp("ednas") / "r.h5")
    return (*out, log)


def test_weight_and_policy_updates_see_their_own_split(nb201_run):
    inst, _, _, log = nb201_run
    w, p = set(inst.weight_ids.tolist()), set(inst.policy_ids.tolist())
    assert not w & p and len(w) + len(p) == 96 + 64 and len(w) == 128
    used_w, used_p = np.concatenate(log["weights"]), np.concatenate(log["policy"])
    assert set(used_w.tolist()) == w and set(used_p.tolist()) == p
    assert len(used_w) == CI["epochs"] * len(w)  # one full pass per epoch


def test_final_selection_scores_n_candidates_and_returns_the_best(nb201_run):
    inst, spy, traj, _ = nb201_run
    assert len(inst.scores) == CI["n_candidates"]
    best = inst.candidates[int(np.argmax(inst.scores))]
    final = traj["kind"] == KIND_FINAL
    assert final.sum() == 1 and np.array_equal(traj.codes[final][0], best)
    assert spy.touched <= ALLOWED
    charge = traj["kind"] == KIND_CHARGE
    assert (traj["epochs"][charge] == 1).sum() == CI["epochs"]


def test_same_seed_same_genotype_on_darts(tmp_path):
    small = digits_data(32, 16)
    cfg = {**CI, "epochs": 1, "batch": 16}
    a, _, ta = run_method("ednas", DartsSpace(), {**cfg, "submit_darts": False}, tmp_path / "a.h5", 3,
                          ImageTask(DartsSpace(), small))
    b, _, tb = run_method("ednas", DartsSpace(), cfg, tmp_path / "b.h5", 3, ImageTask(DartsSpace(), small))
    assert a.result == b.result and a.rewards == b.rewards and a.scores == b.scores
    # S1 returns the genotype and by default submits it (a training task trains it); submit_darts=false only returns it
    assert (ta["kind"] == KIND_FINAL).sum() == 0 and (tb["kind"] == KIND_FINAL).sum() == 1
    assert np.array_equal(tb.codes[-1], DartsSpace().parse(a.result))


def test_the_search_loop_keeps_the_moving_baseline(nb201_run):
    inst = nb201_run[0]
    b = 0.0
    for r, got in zip(inst.rewards, inst.baselines):
        b = b - (1 - 0.99) * (b - r)
        assert got == pytest.approx(b, abs=1e-12)
    assert len(inst.rewards) == CI["epochs"] * -(-32 // CI["batch"])  # one step per policy minibatch


def test_weight_lr_follows_the_cosine_schedule():
    from methods._oneshot.training import CosineSGD

    opt = CosineSGD([torch.nn.Parameter(torch.zeros(1))], EDNAS.Config(epochs=4), True, 4)
    lrs = []
    for _ in range(5):
        lrs.append(opt.lr)
        opt.end_epoch()
    assert lrs[0] == 0.05 and lrs[-1] == pytest.approx(0.001) and lrs[2] == pytest.approx((0.05 + 0.001) / 2)


def test_normal_choices_drive_normal_cells_and_reduce_choices_reduction_cells():
    """The seed feeds the sampled normal weights to reduction cells (names swapped); we do not."""
    from methods._oneshot.supernets import DartsSupernet

    net = DartsSupernet(C=4, layers=3, num_classes=10, in_channels=1)
    seen: set[tuple[bool, int]] = set()
    for cell in net.cells:
        for edge in cell.edges:
            for k, op in enumerate(edge.ops):
                op.register_forward_hook(lambda *_, red=cell.reduction, k=k: seen.add((red, k)))
    normal = [6, 0, 6, 1, 6, 0, 6, 2, 6, 1, 6, 3, 6, 0, 6, 4]  # dil_conv_3x3 everywhere
    reduce = [1, 0, 1, 1, 1, 0, 1, 2, 1, 1, 1, 3, 1, 0, 1, 4]  # max_pool_3x3 everywhere
    net.set_path(np.array(normal + reduce, dtype=np.int16))
    net(torch.zeros(2, 1, 8, 8))
    assert seen == {(False, 6), (True, 1)}


def test_the_method_raises_a_rewarded_op_through_its_own_policy_steps(tmp_path):
    """Check 4 through EDNAS itself: a mock supernet (``_reward``) pays 1 when edge 1<-0 holds
    nor_conv_3x3 and 0 otherwise; weight steps are skipped. The policy's probability of that op
    must rise from ~1/4, and the search's rewards must be the mock's."""
    target = 3  # nor_conv_3x3; the op policy indexes the 4 non-none ops, so row 0, column target - 1

    def mock_reward(self, codes, ids):
        assert set(ids.tolist()) <= set(self.policy_ids.tolist())
        return float(codes[0] == target)

    patches = [(EDNAS, "_reward", mock_reward), (EDNAS, "_weight_step", lambda self, ids: None)]
    cfg = {**CI, "epochs": 8, "batch": 4, "policy_lr": 0.05}
    inst, _, _ = run_patched(patches, "ednas", NB201Space(), cfg, tmp_path / "r.h5", 1)
    p = float(torch.softmax(inst.policy.logits["op"][0].detach(), 0)[target - 1])
    assert len(inst.rewards) == 8 * 32 // 4
    assert p > 0.6, p
    assert np.mean(inst.rewards[-16:]) > np.mean(inst.rewards[:16])
