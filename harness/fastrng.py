"""numpy Generator draws without numpy's per-call cost, for methods that draw a few numbers per query.

A call like ``rng.integers(0, 100, size=10)`` costs microseconds of argument handling for nanoseconds
of arithmetic, and asynchronous REA makes one per query (methods/regularized_evolution.py).
``FastGenerator`` wraps a Generator over PCG64 (what ``harness.seeding.stream`` gives) and answers
``integers`` (integer bounds) and ``random`` (float64) itself, from the bit generator's raw 64-bit
words, with numpy's own algorithms: bounded integers by Lemire's multiply-and-reject over 32-bit
halves of a word (numpy's buffered 8- and 16-bit draws for those dtypes, 64-bit words for ranges
past 32 bits), doubles from a word's top 53 bits. So every draw is the number the wrapped Generator
would give, and a run's trajectory does not change; ``tests/harness/test_fastrng.py`` checks that
against numpy for every case answered here. Any other call (``uniform``, ``choice``, array bounds,
bad arguments) goes to the Generator itself after its state is brought level, so it too draws (or
raises) exactly as numpy does.

The wrapper owns its Generator: draw from one or the other, not both. Words are taken from the bit
generator a block at a time; ``sync`` puts the Generator where the draws so far leave it.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

_M32, _M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
_BLOCK = 64  # words fetched per call of the bit generator (one numpy call's cost spread over them)
_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53
_BITS = {k: (np.dtype(t).itemsize * 8, int(np.iinfo(t).min), int(np.iinfo(t).max))  # the dtype, or its type
         for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
         for k in (np.dtype(t), t)}


def fast(rng: np.random.Generator) -> Any:
    """``rng`` behind a ``FastGenerator`` where its bit generator is PCG64; else behind a wrapper
    that only adds ``bounded`` (numpy answers every call)."""
    return FastGenerator(rng) if type(rng.bit_generator) is np.random.PCG64 else NumpyDraws(rng)


class NumpyDraws:
    """A Generator with ``FastGenerator.bounded``, for bit generators other than PCG64."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.generator = rng

    def bounded(self, high: int, count: int) -> list[int]:
        return self.generator.integers(0, high, size=count).tolist()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "generator":
            raise AttributeError(name)
        return getattr(self.generator, name)


class FastGenerator:
    """A PCG64 Generator's ``integers`` and ``random``, answered in Python (module docstring)."""

    def __init__(self, rng: np.random.Generator) -> None:
        if type(rng.bit_generator) is not np.random.PCG64:
            raise TypeError(f"FastGenerator needs a PCG64 bit generator, got {type(rng.bit_generator).__name__}")
        self.generator = rng
        self._load()

    # the words: _words[_pos:] are drawn from the bit generator and not yet used; _start is its state
    # _base words before _words[0], so sync can replay the used ones; _half is the 32-bit half of a
    # word that numpy keeps for the next 32-bit draw while _has (its uinteger and has_uint32)
    def _load(self) -> None:
        state = self.generator.bit_generator.state
        self._start, self._base = state, 0
        self._has, self._half = bool(state["has_uint32"]), int(state["uinteger"])
        self._words: list[int] = []
        self._pos = 0

    def sync(self) -> None:
        """Put the wrapped Generator's state where the draws so far leave it."""
        bg = self.generator.bit_generator
        bg.state = self._start
        if self._base + self._pos:
            bg.random_raw(self._base + self._pos)
        state = bg.state
        state["has_uint32"], state["uinteger"] = int(self._has), self._half
        bg.state = state
        self._load()

    def _refill(self) -> None:
        """The next block of words (the last one used up: the bit generator stands after it)."""
        bg = self.generator.bit_generator
        if self._words:
            self._start, self._base = bg.state, 0
        self._words, self._pos = bg.random_raw(_BLOCK).tolist(), 0

    def _extend(self, need: int) -> None:
        """At least ``need`` unused words: the unused ones, then a block from the bit generator."""
        if self._base > 1 << 16:  # keep sync's replay short
            self.sync()
        pos = self._pos
        self._words = self._words[pos:] + self.generator.bit_generator.random_raw(max(_BLOCK, need)).tolist()
        self._base, self._pos = self._base + pos, 0

    def _word(self) -> int:
        if self._pos == len(self._words):
            self._refill()
        pos = self._pos
        self._pos = pos + 1
        return self._words[pos]

    def _next32(self) -> int:
        if self._has:
            self._has = False
            return self._half
        word = self._word()
        self._has, self._half = True, word >> 32
        return word & _M32

    def _bounded32(self, span: int) -> int:
        """A draw in [0, span] (span < 2**32 - 1): Lemire's method on 32-bit draws."""
        excl = span + 1
        m = self._next32() * excl
        if m & _M32 < excl:
            threshold = (_M32 - span) % excl
            while m & _M32 < threshold:
                m = self._next32() * excl
        return m >> 32

    def _bounded64(self, span: int) -> int:
        """A draw in [0, span] (2**32 - 1 < span < 2**64 - 1): Lemire's method on 64-bit words."""
        excl = span + 1
        m = self._word() * excl
        if m & _M64 < excl:
            threshold = (_M64 - span) % excl
            while m & _M64 < threshold:
                m = self._word() * excl
        return m >> 64

    def _small(self, span: int, count: int, bits: int) -> list[int]:
        """``count`` draws in [0, span] for an 8- or 16-bit dtype: numpy takes 4 (or 2) parts of
        each 32-bit draw, a fresh one per call (Lemire's method on the parts; a full range: the parts)."""
        mask, per, excl = (1 << bits) - 1, 32 // bits - 1, span + 1
        threshold = 0 if span == mask else (mask - span) % excl  # a product whose low part is below: drawn again
        out: list[int] = []
        buf = left = 0
        next32 = self._next32
        for _ in range(count):
            while True:
                if left:
                    buf >>= bits
                    left -= 1
                else:
                    buf, left = next32(), per
                m = (buf & mask) * excl
                if m & mask >= threshold:
                    break
            out.append(m >> bits)
        return out

    def _draws(self, span: int, count: int, bits: int) -> list[int]:
        """``count`` draws in [0, span] as numpy's fill for a dtype of ``bits`` bits takes them."""
        if span == 0:
            return [0] * count
        if bits <= 16:
            return self._small(span, count, bits)
        if span == _M32:
            return [self._next32() for _ in range(count)]
        if span < _M32:
            return [self._bounded32(span) for _ in range(count)]
        if span == _M64:
            return [self._word() for _ in range(count)]
        return [self._bounded64(span) for _ in range(count)]

    def bounded(self, high: int, count: int) -> list[int]:
        """``integers(0, high, size=count).tolist()`` without the array (int64, 1 < high < 2**32):
        ``_bounded32`` inlined, both halves of a word at a time, as a tournament draws per query."""
        if type(high) is not int or not 1 < high < 1 << 32 or type(count) is not int or count < 0:
            return self.integers(0, high, size=count).tolist()
        out: list[int] = []
        if count and self._has:  # the spare half of the last word goes first
            m = self._next32() * high
            if m & _M32 < high:
                return [self._finish32(m, high)] + [self._bounded32(high - 1) for _ in range(count - 1)]
            out.append(m >> 32)
        pairs, odd = divmod(count - len(out), 2)
        if len(self._words) - self._pos < pairs + odd:
            self._extend(pairs + odd)
        words, pos = self._words, self._pos
        for word in words[pos:pos + pairs]:
            lo, hi = (word & _M32) * high, (word >> 32) * high
            if lo & _M32 < high or hi & _M32 < high:  # maybe rejected (p < high / 2**31): one at a time
                self._pos = pos
                return out + [self._bounded32(high - 1) for _ in range(count - len(out))]
            out += (lo >> 32, hi >> 32)
            pos += 1
        self._pos = pos
        if odd:
            out.append(self._bounded32(high - 1))
        return out

    def _finish32(self, m: int, high: int) -> int:
        """Lemire's rejection loop for a first product ``m`` whose low half fell below ``high``."""
        threshold = (_M32 - high + 1) % high
        while m & _M32 < threshold:
            m = self._next32() * high
        return m >> 32

    def integers(self, low: Any, high: Any = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False) -> Any:
        """As ``Generator.integers``; integer bounds and a named integer dtype are answered here."""
        lo, hi = (0, low) if high is None else (low, high)
        spec = _BITS.get(dtype) if type(dtype) is type else None
        if spec is None:
            try:
                spec = _BITS.get(np.dtype(dtype))
            except TypeError:
                pass
        if spec is None or type(lo) not in (int, np.int64) or type(hi) not in (int, np.int64) \
                or type(endpoint) is not bool:
            return self._numpy("integers", low, high, size, dtype, endpoint)
        lo, hi = int(lo), int(hi) - (0 if endpoint else 1)
        bits, tmin, tmax = spec
        if hi < lo or lo < tmin or hi > tmax:
            return self._numpy("integers", low, high, size, dtype, endpoint)  # numpy's error
        if size is None:
            return np.dtype(dtype).type(lo + self._draws(hi - lo, 1, bits)[0])
        try:
            shape = (operator.index(size),) if not isinstance(size, tuple) else tuple(map(operator.index, size))
        except TypeError:
            return self._numpy("integers", low, high, size, dtype, endpoint)
        if any(n < 0 for n in shape):
            return self._numpy("integers", low, high, size, dtype, endpoint)
        count = 1
        for n in shape:
            count *= n
        values = self._draws(hi - lo, count, bits)
        return np.array([lo + v for v in values] if lo else values, dtype=dtype).reshape(shape)

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        """As ``Generator.random``; float64 without ``out`` is answered here."""
        if size is None and dtype is np.float64 and out is None:  # one double: the per-query path
            pos = self._pos
            if pos < len(self._words):
                self._pos = pos + 1
                return (self._words[pos] >> 11) * _DOUBLE
            return (self._word() >> 11) * _DOUBLE
        if out is not None or np.dtype(dtype) != np.float64:
            return self._numpy("random", size, dtype, out)
        if size is None:
            return (self._word() >> 11) * _DOUBLE
        if type(size) is int and 0 <= size <= len(self._words) - self._pos:  # the words are there
            pos = self._pos
            self._pos = pos + size
            return np.array([(w >> 11) * _DOUBLE for w in self._words[pos:pos + size]])
        try:
            shape = (operator.index(size),) if not isinstance(size, tuple) else tuple(map(operator.index, size))
        except TypeError:
            return self._numpy("random", size, dtype, out)
        if any(n < 0 for n in shape):
            return self._numpy("random", size, dtype, out)
        count = 1
        for n in shape:
            count *= n
        return np.array([(self._word() >> 11) * _DOUBLE for _ in range(count)], dtype=np.float64).reshape(shape)

    def _numpy(self, name: str, *args: Any) -> Any:
        self.sync()
        try:
            return getattr(self.generator, name)(*args)
        finally:
            self._load()

    def __getstate__(self) -> dict[str, Any]:
        self.sync()
        return {"generator": self.generator}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.generator = state["generator"]
        self._load()

    def __getattr__(self, name: str) -> Any:
        """Any other Generator attribute: numpy's own, from the state the draws so far leave."""
        if name.startswith("_") or name == "generator":
            raise AttributeError(name)
        self.sync()
        attr = getattr(self.generator, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.sync()
            try:
                return attr(*args, **kwargs)
            finally:
                self._load()
        return call
