"""DARTS-V2 (Liu, Simonyan, Yang, ICLR 2019), second order: DARTS-V1 with the unrolled architecture
gradient (one virtual SGD step of the weights, Hessian-vector product by finite differences;
methods/_oneshot/unrolled.py). NB201 (S2) and the DARTS space (S1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.options import option
from harness.registry import METHODS
from methods.darts_v1 import Config as V1Config
from methods.darts_v1 import DartsV1


@dataclass(frozen=True)
class Config(V1Config):
    """DARTS-V1's settings plus the finite-difference step (DARTS: r = 0.01 / ||dw'||)."""

    hvp_eps: float = option(0.01, gt=0)


@METHODS.register("darts_v2")
class DartsV2(DartsV1):
    """The architecture step differentiates through one virtual weight step at the current lr."""

    Config = Config
    name = "darts_v2"

    def arch_grad(self, train: tuple[Any, Any], valid: tuple[Any, Any]) -> Any:
        from methods._oneshot.unrolled import unrolled_arch_grad

        return unrolled_arch_grad(self.net, self.alpha, self.opt.opt, self.opt.lr, train, valid,
                                  self.config.hvp_eps)
