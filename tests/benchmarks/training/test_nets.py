"""Networks: parameter counts of known cells against published values, forward shapes."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from benchmarks.training.nets.darts import DartsNet  # noqa: E402
from benchmarks.training.nets.nb201 import NB201Net, count_params  # noqa: E402
from benchmarks.training.nets.ops import DARTS_OPS, NB201_OPS, ResNetBasicBlock, darts_op, nb201_op  # noqa: E402
from benchmarks.spaces.darts import DARTS_V2, DartsSpace  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402

NASWOT = "derived/BayesWatch__nas-without-training__arch_score_acc.csv"


def _published_params(root: Path, index: int) -> float:
    with open(root / NASWOT) as f:
        for row in csv.DictReader(f):
            if int(row["arch"]) == index:
                return float(row["params"])
    raise AssertionError(f"arch {index} not in {root / NASWOT}")


@pytest.mark.parametrize("index", [11472, 1])
def test_nb201_param_count_matches_benchmark(index: int, nb201_exports: Path) -> None:
    codes = NB201Space().from_index(index)
    expected = _published_params(nb201_exports, index)
    assert count_params(NB201Net(codes, 16, 5, 10)) / 1e6 == pytest.approx(expected, abs=1e-6)


def test_darts_v2_eval_network_is_3_3m() -> None:
    net = DartsNet(DartsSpace().parse(DARTS_V2), C=36, layers=20, num_classes=10, auxiliary=True)
    assert count_params(net) / 1e6 == pytest.approx(3.349342, abs=1e-6)  # DARTS paper: 3.3M


def test_forward_shapes_small_inputs() -> None:
    x = torch.randn(2, 1, 8, 8)
    nb = NB201Net(NB201Space().from_index(1651), C=4, N=1, num_classes=3, in_channels=1)  # all 'none'
    assert nb(x).shape == (2, 3)
    dn = DartsNet(DartsSpace().sample(np.random.default_rng(0), 1)[0], C=4, layers=5, num_classes=3,
                  in_channels=1, auxiliary=True)
    dn.train()
    dn.drop_prob, dn.generator = 0.3, torch.Generator().manual_seed(0)
    logits, aux = dn(x)
    assert logits.shape == aux.shape == (2, 3)
    dn.eval()
    assert dn(x)[1] is None


@pytest.mark.parametrize("stride", [1, 2])
def test_ops_keep_or_halve_spatial_size(stride: int) -> None:
    x = torch.randn(2, 4, 7, 7)
    side = 7 if stride == 1 else 4
    for name in DARTS_OPS:
        assert darts_op(name, 4, 4, stride).forward(x).shape == (2, 4, side, side), name
    for name in NB201_OPS:
        assert nb201_op(name, 4, 6, stride, affine=False).forward(x).shape == (2, 6, side, side), name
    assert ResNetBasicBlock(4, 8, 2)(x).shape == (2, 8, 4, 4)


def test_darts_partial_cell_concatenates_its_present_nodes() -> None:
    space = DartsSpace()
    codes = space.parse('{"normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 1], '
                        '["dil_conv_5x5", 2]], "reduce": [["avg_pool_3x3", 0], ["sep_conv_5x5", 1]]}')
    net = DartsNet(codes, C=4, layers=5, num_classes=3, in_channels=1, auxiliary=False)
    assert [c.n_nodes for c in net.cells] == [2, 1, 2, 1, 2]
    assert [len(c.ops) for c in net.cells] == [4, 2, 4, 2, 4]
    assert net.classifier.in_features == 2 * 16  # C doubled twice, 2 nodes concatenated
    assert net(torch.randn(2, 1, 8, 8))[0].shape == (2, 3)
