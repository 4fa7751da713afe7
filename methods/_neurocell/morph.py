"""Function-preserving weight transfer for each neuro-cell mutation (network morphisms, Net2Net;
spec methods/neuro_cell_evolution.md). Imports torch.

``morph(net, mutation, noise, generator)`` returns the child network: the parent's weights moved so
that, in eval mode, the child computes the parent's function (exactly, up to float rounding, with
``noise=0``; widening adds N(0, noise^2) to the copied filters to break their symmetry).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmarks.spaces.neurocell import Cell, Mutation, Unit, apply
from methods._neurocell.net import NeuroCellNet

_BN = ("weight", "bias", "running_mean", "running_var")
State = dict[str, torch.Tensor]


def morph(net: NeuroCellNet, m: Mutation, noise: float = 0.0,
          generator: torch.Generator | None = None) -> NeuroCellNet:
    """The child of ``net`` under mutation ``m``, applied identically in every cell instance."""
    old = net.cell_def
    with torch.random.fork_rng(devices=[]):  # its random init is overwritten: leave the global RNG be
        child = NeuroCellNet(apply(old, m), net.shape)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    u = old.unit(m.target)
    for c in range(net.shape.n_cells):
        p = f"cells.{c}.units."
        if m.kind == "kernel":
            key = p + f"{u.uid}." + ("conv.weight" if u.kind == "conv" else "dw.weight")
            state[key] = F.pad(state[key], (1, 1, 1, 1))
        elif m.kind in ("deeper", "sep"):
            _insert_identity(state, p, u, m.new_uids[0], m.kind)
        elif m.kind == "skip":
            _zero_branch(state, p + f"{m.new_uids[0]}.", old.widths(0)[u.uid], u.k or 3)
        elif m.kind == "branch":
            _split(state, p, u, m.new_uids[0])
    if m.kind == "widen":
        _widen(state, old, u, torch.tensor(m.mapping), net.shape.n_cells, noise, generator)
    child.load_state_dict(state, strict=True)
    return child


def _neutral_bn(state: State, key: str, c: int) -> None:
    """gamma 1, beta 0, mean 0, var 1 - eps: exactly the identity in eval mode (eps = 1e-5)."""
    state[key + "weight"], state[key + "bias"] = torch.ones(c), torch.zeros(c)
    state[key + "running_mean"], state[key + "running_var"] = torch.zeros(c), torch.full((c,), 1 - 1e-5)
    state[key + "num_batches_tracked"] = torch.tensor(0)


def _identity_kernel(c: int, k: int, groups: int = 1) -> torch.Tensor:
    w = torch.zeros(c, c // groups, k, k)
    w[torch.arange(c), torch.arange(c) % (c // groups), k // 2, k // 2] = 1.0
    return w


def _insert_identity(state: State, p: str, u: Unit, new: int, kind: str) -> None:
    """Deeper / separable: the new unit takes L's BN and starts as the identity on ReLU(L's conv)."""
    src, dst = f"{p}{u.uid}.bn.", f"{p}{new}.bn."
    for name in (*_BN, "num_batches_tracked"):
        state[dst + name] = state[src + name]
    _neutral_bn(state, src, u.width)
    if kind == "deeper":
        state[f"{p}{new}.conv.weight"] = _identity_kernel(u.width, u.k)
        state[f"{p}{new}.conv.bias"] = torch.zeros(u.width)
    else:
        state[f"{p}{new}.dw.weight"] = _identity_kernel(u.width, u.k, groups=u.width)
        state[f"{p}{new}.pw.weight"] = torch.eye(u.width).view(u.width, u.width, 1, 1)
        state[f"{p}{new}.pw.bias"] = torch.zeros(u.width)


def _zero_branch(state: State, key: str, c: int, k: int) -> None:
    _neutral_bn(state, key + "bn.", c)
    state[key + "conv.weight"], state[key + "conv.bias"] = torch.zeros(c, c, k, k), torch.zeros(c)


def _split(state: State, p: str, u: Unit, new: int) -> None:
    """Branch: filters [0, h) stay in L, filters [h, w) move to the parallel conv; cat restores them."""
    h = u.width // 2
    for name in ("conv.weight", "conv.bias", *(f"bn.{b}" for b in _BN)):
        t = state[f"{p}{u.uid}.{name}"]
        state[f"{p}{u.uid}.{name}"], state[f"{p}{new}.{name}"] = t[:h].clone(), t[h:].clone()
    state[f"{p}{new}.bn.num_batches_tracked"] = state[f"{p}{u.uid}.bn.num_batches_tracked"].clone()


# ---------------------------------------------------------------- Net2Wider
def _out_keys(u: Unit) -> tuple[str, ...]:
    conv = "conv" if u.kind in ("conv", "skip") else "pw"
    bn = () if u.kind == "skip" else tuple(f"bn.{b}" for b in _BN)
    return (f"{conv}.weight", f"{conv}.bias", *bn)


def _replicate_out(state: State, p: str, u: Unit, g: torch.Tensor, noise: float,
                   gen: torch.Generator | None) -> None:
    """New output channel j copies old channel g[j] (filter, bias and the BN after it)."""
    for name in _out_keys(u):
        state[p + f"{u.uid}." + name] = state[p + f"{u.uid}." + name][g].clone()
    if noise:
        w = state[p + f"{u.uid}." + _out_keys(u)[0]]
        old = int(g.max()) + 1
        w[old:] += noise * torch.randn(w[old:].shape, generator=gen)


def _adjust_in(state: State, key: str, g: torch.Tensor) -> None:
    """Incoming weights of a replicated channel are divided by its replication count."""
    w = state[key]
    count = torch.bincount(g, minlength=w.shape[1]).to(w.dtype)
    state[key] = w[:, g] / count[g].view(1, -1, *([1] * (w.dim() - 2)))


def _feed(state: State, p: str, cell: Cell, src: int, g: torch.Tensor) -> torch.Tensor | None:
    """Adapt every consumer of ``src`` to its widened output; returns the cell output's mapping if
    the widening reaches it."""
    reached = g if src == cell.output else None
    old_w = cell.widths(0)
    for v in cell.consumers(src):
        key = f"{p}{v.uid}."
        if v.kind == "conv":
            _adjust_in(state, key + "conv.weight", g)
        elif v.kind == "sep":
            state[key + "dw.weight"] = state[key + "dw.weight"][g].clone()
            _adjust_in(state, key + "pw.weight", g)
        elif v.kind == "skip":  # its input BN, its conv's inputs, and (summed with src) its outputs
            for b in _BN:
                state[key + f"bn.{b}"] = state[key + f"bn.{b}"][g].clone()
            _adjust_in(state, key + "conv.weight", g)
            _replicate_out(state, p, v, g, 0.0, None)
        elif v.kind == "add" and v.inputs[0] == src:  # the skip sibling was widened alike above
            r = _feed(state, p, cell, v.uid, g)
            reached = r if reached is None else reached
        elif v.kind == "cat":
            offset = sum(old_w[i] for i in v.inputs[:v.inputs.index(src)])
            total = sum(old_w[i] for i in v.inputs)
            after = torch.arange(offset + old_w[src], total)
            cat_map = torch.cat([torch.arange(offset), g + offset, after])
            r = _feed(state, p, cell, v.uid, cat_map)
            reached = r if reached is None else reached
    return reached


def _widen(state: State, cell: Cell, u: Unit, g: torch.Tensor, n_cells: int, noise: float,
           gen: torch.Generator | None) -> None:
    out_map = None
    for c in range(n_cells):
        p = f"cells.{c}.units."
        _replicate_out(state, p, u, g, noise, gen)
        out_map = _feed(state, p, cell, u.uid, g)
    if out_map is not None:  # the cell's output grew: the next cell's inputs and the head follow
        for c in range(1, n_cells):
            _feed(state, f"cells.{c}.units.", cell, 0, out_map)
        _adjust_in(state, "head.conv.weight", out_map)
