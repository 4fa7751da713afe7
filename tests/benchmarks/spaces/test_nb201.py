import numpy as np
import pytest

from benchmarks.spaces.nb201 import N_ARCHS, NB201Space
from harness.errors import ArchError

CHECKS = {
    0: "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    1: "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    9: "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    123: "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    11472: "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    1651: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}


@pytest.fixture(scope="module")
def space():
    return NB201Space()


@pytest.mark.parametrize("index,arch", sorted(CHECKS.items()))
def test_official_indices(space, index, arch):
    assert space.format(space.from_index(index))[0] == arch
    assert int(space.index(space.parse(arch)[None])[0]) == index


def test_all_strings_round_trip(space):
    strings = space.format(space.all_codes())
    assert len(set(strings)) == N_ARCHS
    assert np.array_equal(space.index(space.parse(strings)), np.arange(N_ARCHS))


def test_index_order_matches_the_data(space, nb201_table_path):
    import h5py

    with h5py.File(nb201_table_path) as f:
        stored = [s.decode() for s in f["arch_str"][()]]
    assert stored == space.format(space.all_codes())


@pytest.mark.parametrize("bad,fault", [
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "3 node groups"),
    ("|conv~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "unknown op 'conv'"),
    ("|nor_conv_3x3|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "lacks '~'"),
    ("|nor_conv_3x3~0|+|none~1|nor_conv_3x3~0|+|skip_connect~0|none~1|skip_connect~2|", "names source"),
    ("|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|skip_connect~2|", "needs 2 inputs"),
    ("nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "wrapped"),
])
def test_malformed_strings_name_the_fault(space, bad, fault):
    with pytest.raises(ArchError, match=fault) as info:
        space.parse(bad)
    assert "\n" not in str(info.value)


def test_bad_codes_and_indices(space):
    with pytest.raises(ArchError, match="0..4"):
        space.index(np.array([[0, 0, 0, 0, 0, 5]]))
    with pytest.raises(ArchError, match="shape"):
        space.index(np.zeros((1, 5), dtype=int))
    with pytest.raises(ArchError, match="0..15624"):
        space.from_index(15625)


def test_index_one_matches_index(space):
    """The per-query path (dict on int8 bytes, Python odometer otherwise) gives index's answers and errors."""
    codes = space.all_codes()
    assert [space.index_one(c) for c in codes] == list(range(N_ARCHS))
    assert [space.index_one(c.astype(np.int64)) for c in codes[::97]] == list(range(0, N_ARCHS, 97))
    for bad in (np.array([0, 0, 0, 0, 0, 5], np.int8), np.array([0, 0, 0, 0, 0, -1], np.int8),
                np.array([0, 0, 0, 0, 0, 9]), np.zeros(6), np.zeros(5, np.int8)):
        with pytest.raises(ArchError):
            space.index_one(bad)


def test_mutation_changes_exactly_one_edge_node_first(space):
    rng = np.random.default_rng(0)
    parent = space.sample(rng, 1)[0]
    edges = []
    for _ in range(9000):
        child = space.mutate(parent, rng)
        diff = np.flatnonzero(child != parent)
        assert len(diff) == 1
        edges.append(diff[0])
    freq = np.bincount(edges, minlength=6) / len(edges)
    assert np.allclose(freq, [1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9], atol=0.02)


def test_neighbours(space):
    base = space.from_index(11472)
    nb = space.neighbours(base)
    assert nb.shape == (24, 6)
    assert len(np.unique(space.index(nb))) == 24
    assert np.all((nb != base).sum(axis=1) == 1)
