"""The weight-sharing rows of NB201 Table 5 (darts_v1, darts_v2, gdas, setn, enas, rsps) at CI size:
each relaxation's gradient against finite differences on a tiny float64 supernet, DARTS-V2's unrolled
gradient against the explicit two-step computation, same seed -> same cell, no test value reached."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from benchmarks.spaces.darts import DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402
from methods._oneshot import relax  # noqa: E402
from methods._oneshot.controller import Controller  # noqa: E402
from methods._oneshot.supernets import DartsSupernet, NB201Supernet  # noqa: E402
from methods._oneshot.unrolled import unrolled_arch_grad  # noqa: E402
from benchmarks.training.optim import SGD  # noqa: E402
from tests.methods.oneshot_fixtures import ALLOWED, TEST_ACC, ImageTask, digits_data, run_method  # noqa: E402

SIX = ("darts_v1", "darts_v2", "gdas", "setn", "enas", "rsps")
TINY = dict(epochs=2, C=2, N=1, batch=16, eval_batch=64)
EXTRA = {"setn": dict(n_candidates=3), "rsps": dict(n_candidates=3),
         "enas": dict(n_candidates=3, controller_steps=2, controller_aggregate=2)}


def _tiny_nb201(track: bool = False) -> NB201Supernet:
    torch.manual_seed(0)
    return NB201Supernet(C=2, N=1, num_classes=3, in_channels=1, track_running_stats=track).double()


def _batch(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 6, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def _config(traj) -> dict:
    c = traj.attrs["config"]
    return json.loads(c) if isinstance(c, str) else c


def _fd(f, a: torch.Tensor, entries, h: float = 1e-6) -> np.ndarray:
    """Central differences of scalar f at a, for the given flat entries."""
    out = []
    for i in entries:
        d = torch.zeros_like(a).view(-1)
        d[i] = h
        d = d.view_as(a)
        out.append((float(f(a + d)) - float(f(a - d))) / (2 * h))
    return np.asarray(out)


def test_darts_softmax_relaxation_gradient_matches_finite_differences():
    net, (x, y) = _tiny_nb201(), _batch()
    alpha = (0.5 * torch.randn(1, 6, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64))

    def loss(a: torch.Tensor) -> torch.Tensor:
        net.set_mix(relax.softmax_mix(a))
        return F.cross_entropy(net(x), y)

    a = alpha.clone().requires_grad_()
    grad = torch.autograd.grad(loss(a), a)[0].view(-1).numpy()
    with torch.no_grad():
        fd = _fd(loss, alpha, range(alpha.numel()))
    assert np.abs(grad).max() > 1e-4  # the check has something to compare
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)


def test_darts_space_relaxation_gradient_matches_finite_differences():
    torch.manual_seed(0)
    net = DartsSupernet(C=2, layers=2, num_classes=3, in_channels=1, track_running_stats=False).double()
    x, y = _batch(4)
    alpha = 0.5 * torch.randn(2, 14, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    def loss(a: torch.Tensor) -> torch.Tensor:
        net.set_mix(relax.softmax_mix(a))
        return F.cross_entropy(net(x), y)

    a = alpha.clone().requires_grad_()
    grad = torch.autograd.grad(loss(a), a)[0].view(-1).numpy()
    entries = np.random.default_rng(0).choice(alpha.numel(), 6, replace=False)  # normal and reduce rows
    with torch.no_grad():
        fd = _fd(loss, alpha, entries)
    np.testing.assert_allclose(grad[entries], fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_gdas_hard_forward_runs_one_op_and_its_straight_through_gradient_matches_finite_differences(space):
    if space == "nb201":
        net, (x, y) = _tiny_nb201(), _batch()
    else:
        torch.manual_seed(0)
        net = DartsSupernet(C=2, layers=2, num_classes=3, in_channels=1, track_running_stats=False).double()
        x, y = _batch(4)
    shape = relax.SHAPES[space]
    alpha = 0.5 * torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    noise = relax.gumbel_noise(alpha, torch.Generator().manual_seed(4))
    tau = 2.0
    a = alpha.clone().requires_grad_()
    choice, scales = relax.gumbel_hard(a, tau, noise)
    assert torch.allclose(scales.detach(), torch.ones_like(scales))  # hard forward: weight 1
    net.set_hard(choice, scales)
    out = net(x)
    grad = torch.autograd.grad(F.cross_entropy(out, y), a)[0].view(-1).numpy()
    # the forward equals running the chosen ops alone (NB201: the single-path net of those codes)
    if space == "nb201":
        net.set_path(choice[0])
        torch.testing.assert_close(net(x), out.detach())
    # straight-through: the chain rule through the chosen op's soft weight, its value held at 1
    idx = torch.as_tensor(choice).unsqueeze(-1)
    p0 = torch.softmax((alpha + noise) / tau, -1).gather(-1, idx).squeeze(-1)

    def surrogate(b: torch.Tensor) -> torch.Tensor:
        p = torch.softmax((b + noise) / tau, -1).gather(-1, idx).squeeze(-1)
        net.set_hard(choice, 1.0 + p - p0)
        return F.cross_entropy(net(x), y)

    entries = np.random.default_rng(0).choice(alpha.numel(), 12 if space == "nb201" else 6, replace=False)
    with torch.no_grad():
        fd = _fd(surrogate, alpha, entries)
    assert np.abs(grad).max() > 1e-5
    np.testing.assert_allclose(grad[entries], fd, rtol=1e-5, atol=1e-9)


def test_enas_controller_log_prob_gradient_matches_finite_differences():
    ctrl = Controller(6, 5, seed=0, hidden=8).double()
    codes, logp, ent = ctrl(torch.Generator().manual_seed(0))
    assert codes.shape == (6,) and float(ent.detach()) > 0
    w = ctrl.head.weight
    grad = torch.autograd.grad(ctrl(codes=codes)[1], w)[0].view(-1).numpy()
    base = w.detach().clone()

    def logp_at(v: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            w.copy_(v)
            return ctrl(codes=codes)[1]

    fd = _fd(logp_at, base, range(base.numel()))
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)


def test_darts_v2_unrolled_gradient_equals_the_explicit_two_step_computation():
    from torch.func import functional_call

    net = _tiny_nb201()
    xt, yt = _batch(6, 1)
    xv, yv = _batch(6, 2)
    alpha = (0.3 * torch.randn(1, 6, 5, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
             ).requires_grad_()
    sgd = SGD(net.parameters(), momentum=0.9, nesterov=True, weight_decay=5e-4)
    net.set_mix(torch.softmax(alpha, -1).detach())  # one real step, so the momentum buffers are in play
    F.cross_entropy(net(xt), yt).backward()
    sgd.step(0.1)
    sgd.zero_grad()
    lr = 0.05
    names = [n for n, p in net.named_parameters()]
    before = [p.detach().clone() for p in net.parameters()]

    def loss(params: dict, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        net.set_mix(torch.softmax(a, -1))
        return F.cross_entropy(functional_call(net, params, (x,)), y)

    w = {n: p.detach().clone().requires_grad_() for n, p in net.named_parameters()}
    g = torch.autograd.grad(loss(w, alpha, xt, yt), list(w.values()), create_graph=True)
    w1 = {n: w[n] - lr * (gi + sgd.weight_decay * w[n] + sgd.momentum * buf)
          for n, gi, buf in zip(names, g, sgd.buffers)}
    exact = torch.autograd.grad(loss(w1, alpha, xv, yv), alpha)[0]

    approx = unrolled_arch_grad(net, alpha, sgd, lr, (xt, yt), (xv, yv), eps=1e-5)
    for p, b in zip(net.parameters(), before):  # the weights are restored
        assert torch.equal(p.detach(), b)
    first = torch.autograd.grad(loss({n: v.detach() for n, v in w1.items()}, alpha, xv, yv), alpha)[0]
    assert (exact - first).abs().max() > 1e-6  # the second-order term is not negligible here
    torch.testing.assert_close(approx, exact, rtol=1e-6, atol=1e-9)


def test_defaults_are_the_nb201_settings():
    from harness.registry import METHODS

    cfgs = {m: METHODS.get(m).Config() for m in SIX}
    assert cfgs["darts_v1"].epochs == cfgs["darts_v2"].epochs == 50
    assert all(cfgs[m].epochs == 250 for m in ("gdas", "setn", "enas", "rsps"))
    for c in cfgs.values():
        assert (c.lr, c.lr_min, c.momentum, c.weight_decay, c.nesterov, c.batch, c.grad_clip) == (
            0.025, 0.001, 0.9, 5e-4, True, 64, 5.0)
        assert (c.C, c.N, c.track_running_stats) == (16, 5, True)
    for m in ("darts_v1", "darts_v2", "gdas", "setn"):
        assert (cfgs[m].arch_lr, cfgs[m].arch_betas, cfgs[m].arch_weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    assert (cfgs["gdas"].tau_max, cfgs["gdas"].tau_min) == (10.0, 0.1)


def test_template_cells_sample_from_the_distribution_and_topk_is_most_probable():
    alpha = torch.zeros(1, 6, 5, dtype=torch.float64)
    alpha[0, :, 3] = 3.0
    top = relax.template_cells(alpha, 2, np.random.default_rng(0), "topk")
    assert (top[0] == 3).all() and (top[1] != 3).sum() == 1
    drawn = np.stack(relax.template_cells(alpha, 400, np.random.default_rng(0), "sample"))
    p3 = np.exp(3) / (np.exp(3) + 4)
    assert abs((drawn == 3).mean() - p3) < 0.03


@pytest.mark.parametrize("method", SIX)
def test_same_seed_same_cell_charged_epochs_and_no_test_value(method, tmp_path):
    cfg = {**TINY, **EXTRA.get(method, {})}
    data = digits_data(16, 16)
    runs = []
    for k in range(2):
        task = ImageTask(NB201Space(), data)
        inst, spy, traj = run_method(method, NB201Space(), cfg, tmp_path / f"{k}.h5", seed=3, task=task)
        runs.append((inst, spy, traj, task))
    (a, spy, ta, task), (b, _, tb, _) = runs
    assert a.genotype is not None and a.genotype == b.genotype
    assert np.array_equal(ta.codes, tb.codes) and np.array_equal(ta["kind"], tb["kind"])
    assert [c.tolist() for c in a.history] == [c.tolist() for c in b.history]
    assert spy.touched <= ALLOWED  # search_data, charge, submit, spent, budget; never a table value
    kind = ta["kind"]
    charge = kind == KIND_CHARGE
    assert kind[-1] == KIND_FINAL and (kind == KIND_FINAL).sum() == 1
    assert ta["epochs"][charge].tolist() == [1.0, 1.0, 0.0]  # two epochs, then the pick
    assert (ta["cost_s"][charge] > 0).all()  # measured seconds
    assert np.isnan(ta["report_test"][charge]).all()
    assert NB201Space().format(ta.codes[-1:])[0] == a.genotype and len(task.reported) == 1
    seen = [*a.scores, *getattr(a, "rewards", [])]
    assert TEST_ACC not in seen and all(s != TEST_ACC / 100 for s in seen)
    attrs = a.report_attrs()
    assert attrs["bn_track_running_stats"] is True and attrs["search_epochs_run"] == 2
    assert len(json.loads(attrs["derived_per_epoch"])) == (0 if method == "rsps" else 2)
    if method in ("darts_v1", "darts_v2", "gdas", "setn"):
        w = np.asarray(json.loads(attrs["arch_weights"]))
        assert w.shape == (1, 6, 5) and np.allclose(w.sum(-1), 1, atol=1e-3)
    assert _config(ta)["track_running_stats"] is True


def test_the_bn_flag_is_selectable_and_recorded(tmp_path):
    cfg = {**TINY, "epochs": 1, "track_running_stats": False, "n_candidates": 2}
    inst, _, traj = run_method("rsps", NB201Space(), cfg, tmp_path / "r.h5", task=ImageTask(NB201Space(),
                                                                                          digits_data(16, 16)))
    bns = [m for m in inst.net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    cells = [m for layer in inst.net.layers if isinstance(layer, torch.nn.ModuleList) for m in layer.modules()
             if isinstance(m, torch.nn.BatchNorm2d)]
    assert cells and all(m.running_mean is None for m in cells) and len(bns) > len(cells)
    assert inst.report_attrs()["bn_track_running_stats"] is False
    assert _config(traj)["track_running_stats"] is False


@pytest.mark.parametrize("method", ["darts_v1", "gdas"])
def test_darts_and_gdas_return_a_darts_genotype_on_the_s1_supernet(method, tmp_path):
    cfg = dict(TINY, epochs=1, layers=2)
    inst, spy, traj = run_method(method, DartsSpace(), cfg, tmp_path / "r.h5", task=ImageTask(DartsSpace(),
                                                                                           digits_data(16, 16)))
    DartsSpace().check(DartsSpace().parse(inst.genotype))
    assert spy.touched <= ALLOWED and traj["kind"][-1] == KIND_FINAL
    assert dataclasses.asdict(inst.config)["layers"] == 2


def test_a_method_refuses_a_space_it_has_no_mapping_for():
    from harness.errors import HarnessError
    from harness.registry import METHODS

    with pytest.raises(HarnessError, match="setn needs the nb201 space"):
        METHODS.get("setn")(DartsSpace(), np.random.default_rng(0), METHODS.get("setn").Config())
