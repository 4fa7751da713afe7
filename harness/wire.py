"""The wire between the harness and an isolated method (``harness.isolation``): JSON plus raw
numeric arrays, never pickles, so the harness never unpickles what a method sends.

A general message is one frame: ``GENERAL``, a 4-byte header length, the JSON header (the message
and its arrays' byte sizes), then the arrays' bytes back to back (one write per message). One row
queried, the hot path, goes packed instead (``QUERY_HEAD``, answered with ``VALUE_BODY``).
"""
from __future__ import annotations

import json
import struct
from dataclasses import fields, is_dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.protocols import SearchData, TextData


class IsolationError(HarnessError):
    """An isolated method failed, died, or asked for something that cannot cross processes."""


_DATA_CLASSES = {"SearchData": SearchData, "TextData": TextData}
# one row queried (the hot path) goes as b"Q" + fidelity (NaN: default) + dtype + codes and is answered
# b"V" + value + the totals spent, packed; everything else is a b"J" message (JSON + arrays)
GENERAL, QUERY, VALUE = b"J", b"Q", b"V"
QUERY_HEAD = struct.Struct("<d4s")
VALUE_BODY = struct.Struct("<dqdd")


# the wire: one frame of JSON (a 4-byte array count first), then one frame per numeric array
def _enc(obj: Any, arrays: list[np.ndarray]) -> Any:
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor (torch is never imported here)
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise IsolationError(f"cannot send a {obj.dtype} array between processes (numbers only)")
        arrays.append(np.ascontiguousarray(obj))
        return {"__a": len(arrays) - 1, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return {"__s": obj.item(), "dtype": obj.dtype.str}
    if isinstance(obj, tuple):
        return {"__t": [_enc(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_enc(v, arrays) for v in obj]
    if isinstance(obj, dict):
        return {"__d": [[str(k), _enc(v, arrays)] for k, v in obj.items()]}
    if is_dataclass(obj) and type(obj).__name__ in _DATA_CLASSES:
        return {"__data": type(obj).__name__, "f": {f.name: _enc(getattr(obj, f.name), arrays) for f in fields(obj)}}
    raise IsolationError(f"cannot send a {type(obj).__name__} between processes")


def _dec(obj: Any, arrays: list[memoryview]) -> Any:
    if isinstance(obj, list):
        return [_dec(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__a" in obj:
        dtype = np.dtype(obj["dtype"])
        if dtype.kind not in "biuf":
            raise IsolationError(f"refused a {dtype} array from the other process")
        return np.frombuffer(arrays[int(obj["__a"])], dtype=dtype).reshape(obj["shape"]).copy()
    if "__s" in obj:
        dtype = np.dtype(obj["dtype"])
        if dtype.kind not in "biuf":
            raise IsolationError(f"refused a {dtype} scalar from the other process")
        return dtype.type(obj["__s"])
    if "__t" in obj:
        return tuple(_dec(v, arrays) for v in obj["__t"])
    if "__d" in obj:
        return {str(k): _dec(v, arrays) for k, v in obj["__d"]}
    if "__data" in obj:
        cls = _DATA_CLASSES[obj["__data"]]
        return cls(**{k: _dec(v, arrays) for k, v in obj["f"].items()})
    raise IsolationError("malformed message from the other process")


def send(conn: Connection, msg: dict[str, Any]) -> None:
    """One frame: 4-byte header length, the JSON header (the message and its arrays' byte sizes),
    then the arrays' bytes back to back (one write per message: a query is one round trip)."""
    arrays: list[np.ndarray] = []
    body = _enc(msg, arrays)
    head = json.dumps([body, [a.nbytes for a in arrays]], separators=(",", ":")).encode()
    conn.send_bytes(b"".join([GENERAL, struct.pack("<I", len(head)), head, *(a.tobytes() for a in arrays)]))


def recv(conn: Connection, limit: int | None = None) -> dict[str, Any]:
    return decode(memoryview(conn.recv_bytes(limit)))


def decode(frame: memoryview) -> dict[str, Any]:
    if frame[:1] != GENERAL:
        raise IsolationError("malformed message from the other process")
    (n,) = struct.unpack_from("<I", frame, 1)
    body, sizes = json.loads(bytes(frame[5:5 + n]))
    arrays, at = [], 5 + n
    for size in sizes:
        arrays.append(frame[at:at + int(size)])
        at += int(size)
    msg = _dec(body, arrays)
    if not isinstance(msg, dict):
        raise IsolationError("malformed message from the other process")
    return msg
