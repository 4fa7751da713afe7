"""Gradient-boosted trees as flat numpy arrays, evaluated for a whole batch and every member at once.

Why: a call into XGBoost costs about a millisecond per booster whatever the batch size, and a
surrogate query is often one row through tens of boosters; walking all trees together as arrays
answers one row in a fraction of that. Read from XGBoost's own JSON model (``Booster.save_raw``);
``tests/benchmarks/surrogates/test_forest.py`` checks the predictions equal XGBoost's.
"""
from __future__ import annotations

import json

import numpy as np

from harness.errors import DataError


def _base_score(learner: dict) -> float:
    text = str(learner["learner_model_param"]["base_score"]).strip("[]")
    return float(text.split(",")[0])


class Forest:
    """Members (each a list of trees plus a base score) packed into one set of node arrays."""

    ARRAYS = ("feat", "thr", "left", "right", "value", "roots", "member_of", "base")

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Forest":
        """From ``arrays()`` as stored in a surrogate file (no XGBoost needed to predict)."""
        self = cls.__new__(cls)
        for name in cls.ARRAYS:
            setattr(self, name, np.asarray(arrays[name]))
        self._finish()
        return self

    @classmethod
    def concat(cls, forests: list["Forest"]) -> "Forest":
        """One forest holding the members of all ``forests`` in order (one walk answers every target)."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in cls.ARRAYS}
        nodes = members = 0
        for f in forests:
            for k in ("feat", "thr", "value", "base"):
                parts[k].append(getattr(f, k))
            for k in ("left", "right", "roots"):
                parts[k].append(getattr(f, k) + nodes)
            parts["member_of"].append(f.member_of + members)
            nodes += len(f.feat)
            members += f.n_members
        return cls.from_arrays({k: np.concatenate(v) for k, v in parts.items()})

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    def __init__(self, models_json: list[dict]) -> None:
        feat, thr, left, right, value, roots, member_of = [], [], [], [], [], [], []
        base = []
        offset = 0
        for k, model in enumerate(models_json):
            learner = model["learner"]
            if learner["objective"]["name"] not in ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror"):
                raise DataError(f"unsupported XGBoost objective {learner['objective']['name']!r} "
                                "(identity-link regression only)")
            base.append(_base_score(learner))
            for tree in learner["gradient_booster"]["model"]["trees"]:
                lc = np.asarray(tree["left_children"], np.int64)
                rc = np.asarray(tree["right_children"], np.int64)
                leaf = lc < 0
                n = len(lc)
                ids = np.arange(n) + offset
                feat.append(np.where(leaf, 0, np.asarray(tree["split_indices"], np.int64)))
                cond = np.asarray(tree["split_conditions"], np.float32)
                thr.append(np.where(leaf, np.float32(np.inf), cond))  # a leaf always "goes left" to itself
                left.append(np.where(leaf, ids, lc + offset))
                right.append(np.where(leaf, ids, rc + offset))
                value.append(np.where(leaf, cond, 0).astype(np.float64))
                roots.append(offset)
                member_of.append(k)
                offset += n
        self.feat, self.thr = np.concatenate(feat), np.concatenate(thr)
        self.left, self.right, self.value = np.concatenate(left), np.concatenate(right), np.concatenate(value)
        self.roots = np.asarray(roots, np.int64)
        self.member_of = np.asarray(member_of, np.int64)
        self.base = np.asarray(base, np.float64)
        self._finish()

    def _finish(self) -> None:
        self.n_members = len(self.base)
        self._starts = np.flatnonzero(np.r_[True, np.diff(self.member_of) != 0])
        self._depth = self._max_depth()

    @classmethod
    def from_raw(cls, blobs: list[bytes]) -> "Forest":
        """From XGBoost models saved as UBJSON or JSON bytes."""
        from benchmarks.surrogates.libs import xgboost

        xgb = xgboost()
        models = []
        for blob in blobs:
            booster = xgb.Booster()
            booster.load_model(bytearray(blob))
            models.append(json.loads(bytes(booster.save_raw("json"))))
        return cls(models)

    def _max_depth(self) -> int:
        depth, idx = 0, self.roots.copy()
        while True:
            nxt = self.left[idx]
            if np.array_equal(nxt, idx):
                return depth
            # the deepest path: follow both children (breadth over all nodes reachable)
            idx = np.unique(np.concatenate([self.left[idx], self.right[idx]]))
            depth += 1

    CELLS = 1 << 19  # rows x trees walked at once: large batches go in pieces that stay in cache

    def members(self, x: np.ndarray) -> np.ndarray:
        """(n_members, n_rows) predictions for float32 inputs ``x`` (n_rows, n_features)."""
        x = np.asarray(x, np.float32)
        step = max(1, self.CELLS // len(self.roots))
        if len(x) > step:
            return np.concatenate([self._members(x[i:i + step]) for i in range(0, len(x), step)], axis=1)
        return self._members(x)

    def _members(self, x: np.ndarray) -> np.ndarray:
        rows = np.arange(len(x))[:, None]
        idx = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self._depth):
            go_left = x[rows, self.feat[idx]] < self.thr[idx]
            idx = np.where(go_left, self.left[idx], self.right[idx])
        leaves = self.value[idx]  # (n_rows, n_trees)
        sums = np.add.reduceat(leaves, self._starts, axis=1)  # (n_rows, n_members), trees in order
        return (sums + self.base[None, :]).T
