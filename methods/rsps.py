"""RSPS, random search with parameter sharing (Li & Talwalkar, UAI 2019), as a row of the NB201
paper's Table 5 (docs/oneshot.md): the supernet's weights are trained on one uniformly sampled
single-path cell per minibatch; at the end ``n_candidates`` uniform cells are scored on one validation
minibatch each and the best is returned. NB201 (S2).
"""
from __future__ import annotations

import numpy as np

from harness.registry import METHODS
from methods._oneshot.ws_search import PickConfig, WeightSharingSearch


@METHODS.register("rsps")
class RSPS(WeightSharingSearch):
    """Uniform single-path training, then the best of N random cells by validation accuracy."""

    Config = PickConfig
    name = "rsps"

    def run_epoch(self, epoch: int) -> None:
        for t_idx, _ in self.batch_pairs():
            self.net.set_path(self.space.sample(self.rng, 1)[0])
            self.weight_step(*self.augmented(self.train, t_idx))

    def select(self) -> np.ndarray:
        return self.pick_best(list(self.space.sample(self.rng, self.config.n_candidates)))
