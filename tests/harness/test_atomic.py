import os

import numpy as np
import pytest

from harness.atomic import array_digest, atomic_path, remove_parts


def test_atomic_path_renames_on_success_and_leaves_the_target_on_failure(tmp_path):
    target = tmp_path / "t.bin"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"two")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"one"
    assert list(tmp_path.iterdir()) == [target]


def test_two_writers_never_share_a_temporary(tmp_path):
    target = tmp_path / "t.bin"
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b
        a.write_bytes(b"a")
        b.write_bytes(b"b")
    assert target.read_bytes() == b"a"  # the outer writer renamed last


def test_digest_sees_a_changed_byte_and_parts_of_dead_writers_are_removed(tmp_path):
    x = np.arange(10.0)
    d = array_digest({"x": x})
    y = x.copy()
    y[3] = np.nextafter(y[3], 10)
    assert array_digest({"x": y}) != d
    assert array_digest({"x": x.astype(np.float32)}) != d
    (tmp_path / "a.h5.999999999-abcd.part").write_bytes(b"")  # no such pid
    (tmp_path / "b.h5.part").write_bytes(b"")                # an old-style leftover
    live = tmp_path / f"c.h5.{os.getpid()}-abcd.part"
    live.write_bytes(b"")
    assert remove_parts(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == [live.name]
