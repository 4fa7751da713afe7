"""Architecture encodings for the predictors (numpy only, no torch): DAG graphs, one-hots, tokens.

Graph encoding of predictor_evolution.md: cell/layer nodes plus one op node per (edge, op) slot,
edges ``source -> op node -> target`` for every chosen op, self loops, features [out-degree, 1, 1].
"""
from __future__ import annotations

import numpy as np

from harness.errors import HarnessError

NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NB201_NODES = 4 + 6 * 5  # 34
MACRO_LAYERS, MACRO_OPS = 5, 6
MACRO_NODES = MACRO_LAYERS * (MACRO_OPS + 1) + 1  # 36
# DARTS, per cell type: inputs 0-1, intermediate nodes 2-5, output (concat) 6, then one op node per
# (edge, op): 14 edges (node i reads 0..i-1) x 7 non-none ops; normal cell first, reduction cell after
DARTS_EDGE0 = np.array([0, 2, 5, 9])  # first edge id of intermediate node 2, 3, 4, 5
DARTS_CELL_NODES = 7 + 14 * 7         # 105
DARTS_NODES = 2 * DARTS_CELL_NODES    # 210


def _finish(adj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features [out-degree without self loop, 1, 1]; then add the self loops."""
    n, k = adj.shape[0], adj.shape[1]
    feats = np.ones((n, k, 3), dtype=np.float32)
    feats[:, :, 0] = adj.sum(axis=2)
    adj = adj + np.eye(k, dtype=np.float32)[None]
    return adj, feats


def nb201_graph(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency (n, 34, 34) with adj[s, t] = 1 for an edge s -> t, features (n, 34, 3))."""
    codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
    n = len(codes)
    adj = np.zeros((n, NB201_NODES, NB201_NODES), dtype=np.float32)
    rows = np.arange(n)
    for slot, (dst, src) in enumerate(NB201_EDGES):
        op = codes[:, slot]
        on = op != 0  # `none` cuts the edge; its op node stays isolated
        node = 4 + slot * 5 + op
        adj[rows[on], src, node[on]] = 1.0
        adj[rows[on], node[on], dst] = 1.0
    return _finish(adj)


def macro_graph(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency (n, 36, 36), features (n, 36, 3)) of the 5-layer macro genome (30 bits)."""
    bits = np.atleast_2d(np.asarray(bits, dtype=np.int64)).reshape(-1, MACRO_LAYERS, MACRO_OPS)
    n = len(bits)
    adj = np.zeros((n, MACRO_NODES, MACRO_NODES), dtype=np.float32)
    for layer in range(MACRO_LAYERS):
        src, dst = 7 * layer, 7 * (layer + 1)
        for op in range(MACRO_OPS):
            on = bits[:, layer, op] != 0
            adj[on, src, src + 1 + op] = 1.0
            adj[on, src + 1 + op, dst] = 1.0
    return _finish(adj)


def darts_graph(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency (n, 210, 210), features (n, 210, 3)): one 105-node subgraph per cell type; each
    present node's two (src, op) pairs give src -> op node -> node, and the node feeds the output."""
    codes = np.atleast_2d(np.asarray(codes, dtype=np.int64)).reshape(-1, 2, 4, 2, 2)
    n = len(codes)
    adj = np.zeros((n, DARTS_NODES, DARTS_NODES), dtype=np.float32)
    rows = np.arange(n)
    for cell in range(2):
        base = cell * DARTS_CELL_NODES
        for node in range(4):
            dst = base + 2 + node
            for k in range(2):
                op, src = codes[:, cell, node, k, 0], codes[:, cell, node, k, 1]
                on = op != 0  # absent node of a partial cell: no edges
                opnode = base + 7 + (DARTS_EDGE0[node] + src) * 7 + (op - 1)
                adj[rows[on], base + src[on], opnode[on]] = 1.0
                adj[rows[on], opnode[on], dst] = 1.0
            present = codes[:, cell, node, 0, 0] != 0
            adj[rows[present], dst, base + 6] = 1.0
    return _finish(adj)


GRAPHS = {"nb201": nb201_graph, "macro": macro_graph, "darts": darts_graph}
N_CHOICES = {"darts": 8}  # one-hot width per gene for the MLP (DARTS: op 0..7, src 0..4)


def graph(space_name: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The predictor graph of a space's codes."""
    if space_name not in GRAPHS:
        raise HarnessError(f"no predictor graph for search space {space_name!r}; known: {', '.join(GRAPHS)}")
    return GRAPHS[space_name](codes)


def flat(space_name: str, codes: np.ndarray, n_choices: int) -> np.ndarray:
    """MLP input: one-hot per gene (NB201: 6 x 5 = 30), the bits themselves for binary genomes."""
    codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
    if n_choices == 2:
        return codes.astype(np.float32)
    out = np.zeros((len(codes), codes.shape[1] * n_choices), dtype=np.float32)
    cols = np.arange(codes.shape[1]) * n_choices + codes
    out[np.arange(len(codes))[:, None], cols] = 1.0
    return out
