"""Function preservation of every neuro-cell mutation (spec checks 1-3): in eval mode the child computes
the parent's outputs, every cell instance changes alike, and untouched weights are copied exactly."""
from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.spaces.neurocell import MUTATIONS, Mutation, apply, propose, template_cell  # noqa: E402
from methods._neurocell.morph import morph  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from methods._neurocell.net import NetShape, NeuroCellNet  # noqa: E402

torch.set_num_threads(1)

SHAPE = NetShape(in_channels=1, image_size=8, num_classes=5, n_cells=3, stem_width=6, head_width=8,
                 fc_width=8, pad=1)


def _scramble(net: NeuroCellNet, gen: torch.Generator) -> NeuroCellNet:
    """Non-trivial weights, and BN statistics calibrated on random inputs, as after training."""
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        net.train()
        for _ in range(2):
            net(torch.randn(64, 1, 8, 8, generator=gen))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
    return net.eval()


def _parent(seed: int, steps: int) -> NeuroCellNet:
    """A net grown by ``steps`` random mutations, weights scrambled between them."""
    torch.manual_seed(seed)
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    net = _scramble(NeuroCellNet(template_cell(6, 3, 1), SHAPE), gen)
    for _ in range(steps):
        net = _scramble(morph(net, propose(net.cell_def, rng)), gen)
    return net


def _forced(net: NeuroCellNet, kind: str, seed: int) -> Mutation:
    rng = np.random.default_rng(seed)
    while (m := propose(net.cell_def, rng)).kind != kind:
        pass
    return m


def _gap(a: NeuroCellNet, b: NeuroCellNet) -> float:
    """Max abs difference of the log-probabilities, in float64 so rounding cannot hide a fault."""
    x = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a, b = copy.deepcopy(a).double().eval(), copy.deepcopy(b).double().eval()
    with torch.no_grad():
        return float((a(x) - b(x)).abs().max())


@pytest.mark.parametrize("kind", MUTATIONS)
@pytest.mark.parametrize("grown", [0, 4])
def test_mutation_preserves_function_noise_off(kind: str, grown: int) -> None:
    parent = _parent(grown, grown)
    child = morph(parent, _forced(parent, kind, grown), noise=0.0)
    assert _gap(parent, child) <= 1e-5


@pytest.mark.parametrize("grown", [0, 4])
def test_widening_with_noise_stays_close(grown: int) -> None:
    parent = _parent(grown, grown)
    m = _forced(parent, "widen", grown)
    child = morph(parent, m, noise=1e-5, generator=torch.Generator().manual_seed(0))
    assert _gap(parent, child) <= 1e-3
    plain = morph(parent, m, noise=0.0).state_dict()
    assert any(not torch.equal(v, plain[k]) for k, v in child.state_dict().items())  # noise was added


@pytest.mark.parametrize("kind", MUTATIONS)
def test_all_instances_change_alike_and_untouched_weights_are_copied(kind: str) -> None:
    parent = _parent(3, 3)
    m = _forced(parent, kind, 3)
    child = morph(parent, m)
    assert child.cell_def == apply(parent.cell_def, m)
    inner = [{k: tuple(v.shape) for k, v in c.state_dict().items()} for c in child.cells]
    assert inner[1] == inner[2]  # cells 2.. see the same input width; cell 1 reads the stem
    assert {k.split(".")[0] for k in inner[0]} == {k.split(".")[0] for k in inner[1]}
    old, new = parent.state_dict(), child.state_dict()
    touched = {str(m.target), *map(str, m.new_uids)}
    for key, value in old.items():
        parts = key.split(".")
        if key.startswith(("stem.", "fc.")) or (parts[0] == "cells" and parts[3] not in touched and kind != "widen"):
            assert torch.equal(new[key], value), key


def test_seed_template_on_cifar_shape() -> None:
    """conv 64 -> [cell 128 -> pool] x 2 -> cell -> conv 128 -> FC 128 -> FC 10, unpadded: 32 -> 2 pixels."""
    net = NeuroCellNet(template_cell(128), NetShape(3, 32, 10)).eval()
    assert net.fc[2].in_features == 128 * 2 * 2
    with torch.no_grad():
        out = net(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.allclose(out.exp().sum(1), torch.ones(2))
    with pytest.raises(HarnessError, match="too small"):
        NeuroCellNet(template_cell(8), NetShape(1, 8, 10))
