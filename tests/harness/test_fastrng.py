"""FastGenerator draws numpy's numbers: any mix of calls gives what the wrapped Generator gives."""
import pickle

import numpy as np
import pytest

from harness.fastrng import FastGenerator, fast

# (low, high, dtype, endpoint): every branch of the bounded draws (empty range, 8/16-bit buffered,
# full 8/16/32/64-bit ranges, 32-bit Lemire, 64-bit Lemire, offsets, negatives, near-rejection spans)
CASES = [(0, 1, np.int64, False), (0, 5, np.int8, False), (0, 2, np.int8, False), (-3, 4, np.int8, True),
         (0, 255, np.uint8, True), (-128, 127, np.int8, True), (0, 7, np.uint16, False), (0, 65535, np.uint16, True),
         (0, 30000, np.int16, False), (5, 6, np.int32, False), (0, 100, np.int32, False),
         (-2**31, 2**31 - 1, np.int32, True), (0, 2**32 - 1, np.uint32, True), (0, 100, np.int64, False),
         (7, 3_000_000_011, np.int64, False), (0, 2**32, np.int64, False), (0, 2**32 + 1, np.int64, False),
         (-2**40, 2**41, np.int64, False), (0, 2**64 - 1, np.uint64, True), (0, 2**63 + 12345, np.uint64, False),
         (-2**63, 2**63 - 1, np.int64, True), (0, 3 * 2**30, np.int64, False), (0, 255, np.int16, False)]
SIZES = [None, 1, 3, 10, (2, 3), (1, 6), 0, (4, 0)]


def same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    else:
        assert a == b


def call(pick):
    """One random call, chosen by ``pick`` (a stream of its own): (what FastGenerator is asked, and
    what the Generator is asked for the same numbers)."""
    k = int(pick.integers(0, 9))
    size = SIZES[int(pick.integers(0, len(SIZES)))]
    if k <= 3:
        low, high, dtype, endpoint = CASES[int(pick.integers(0, len(CASES)))]
        f = (lambda g: g.integers(low, high, size=size, dtype=dtype, endpoint=endpoint))
        return f, f
    if k == 4:
        high = int(pick.integers(1, 1000))
        f = (lambda g: g.integers(high, size=size))  # one bound: [0, high)
        return f, f
    if k == 5:
        f = (lambda g: g.random(size))
        return f, f
    if k == 6:
        # small ranges, and ranges where Lemire's method often draws again (p = 1/4, 1/2)
        high = (int(pick.integers(1, 200)), 3 * 2**30, 2**31 + 1)[int(pick.integers(0, 3))]
        n = int(pick.integers(0, 12))
        return (lambda g: g.bounded(high, n)), (lambda g: g.integers(0, high, size=n).tolist())
    if k == 7:
        f = (lambda g: g.uniform(0.5, 2.0, size))  # not answered by FastGenerator: numpy's own, after a sync
        return f, f
    f = (lambda g: g.choice(10, size=size))
    return f, f


@pytest.mark.parametrize("seed", range(6))
def test_any_mix_of_calls_draws_numpys_numbers(seed):
    plain, wrapped = np.random.default_rng(seed), FastGenerator(np.random.default_rng(seed))
    pick = np.random.default_rng([seed, 1])
    for _ in range(1500):
        ours, theirs = call(pick)
        same(ours(wrapped), theirs(plain))
    wrapped.sync()
    assert wrapped.generator.bit_generator.state == plain.bit_generator.state


def test_long_runs_of_one_call_cross_word_blocks():
    plain, wrapped = np.random.default_rng(7), FastGenerator(np.random.default_rng(7))
    for _ in range(300):
        same(wrapped.integers(0, 100, size=10), plain.integers(0, 100, size=10))
        same(wrapped.random(), plain.random())
        same(wrapped.integers(0, 5, size=(1, 6), dtype=np.int8), plain.integers(0, 5, size=(1, 6), dtype=np.int8))
    assert wrapped.random(3).tolist() == plain.random(3).tolist()


def outcome(f):
    try:
        return f()
    except (ValueError, TypeError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"


def test_unusual_arguments_answer_or_raise_as_numpy():
    wrapped, plain = FastGenerator(np.random.default_rng(0)), np.random.default_rng(0)
    for args in ((5, 5), (0, 300, None, np.int8), (0, 1.5), (-1, 2**64), (0, np.array([3, 4])), (True, 9),
                 (0, 9, -1), (0, 9, 2, np.float64), (3,)):
        ours, theirs = outcome(lambda: wrapped.integers(*args)), outcome(lambda: plain.integers(*args))
        if isinstance(theirs, str):  # numpy's error, word for word
            assert ours == theirs
        else:
            same(ours, theirs)
    assert wrapped.random(2, np.float32).tolist() == plain.random(2, np.float32).tolist()


def test_pickle_and_other_bit_generators():
    wrapped = FastGenerator(np.random.default_rng(3))
    wrapped.integers(0, 9, size=5)
    copy = pickle.loads(pickle.dumps(wrapped))
    assert copy.integers(0, 1000, size=20).tolist() == wrapped.integers(0, 1000, size=20).tolist()
    mt = np.random.Generator(np.random.MT19937(0))
    plain, ref = fast(mt), np.random.Generator(np.random.MT19937(0))  # only PCG64 is answered in Python
    assert not isinstance(plain, FastGenerator)
    assert plain.bounded(50, 8) == ref.integers(0, 50, size=8).tolist()
    assert plain.random() == ref.random()
    with pytest.raises(TypeError):
        FastGenerator(mt)
