"""``macro-train``: the macro space trained for real by the training branch's TrainingBenchmark."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._recipe import preset
from benchmarks.training import SMALL_DATA, NetSpec, TrainingBenchmark
from harness.config import cache_dir, data_dir
from harness.errors import HarnessError, UnknownNameError

OPTIONS = ("recipe", "recipe_changes", "train_seed", "train_images", "download", "device", "threads",
           "checkpoint_min_s", "accum")


class MacroTrainingBenchmark(TrainingBenchmark):
    """TrainingBenchmark whose network is the MacroNet; resources: ``macs_m`` at the data's size."""

    def resource(self, codes: np.ndarray, name: str) -> np.ndarray:
        from benchmarks.macro_space import macs

        if name != "macs_m":
            raise UnknownNameError(f"unknown macro-train resource {name!r}; known: macs_m")
        d = self.data()
        return macs(codes, d.image_size, d.in_channels, d.num_classes) / 1e6

    def _train(self, codes: np.ndarray, epochs: int, ckpt_key: str) -> dict[str, float]:
        import torch

        from benchmarks._macro_net import MacroNet
        from benchmarks._trainer import Trainer
        from harness.distributed import init

        if self._threads:
            torch.set_num_threads(self._threads)
        data = self.data()
        trainer = Trainer(data, self.recipe, self.train_seed, init(), accum=self.accum, device=self._device)
        ckpt = self.cache.path.parent / "checkpoints" / f"{ckpt_key}.pt"
        res = trainer.fit(lambda: MacroNet(codes, data.num_classes, data.in_channels), epochs, ckpt,
                          checkpoint_min_s=self._checkpoint_min_s)
        return {"val": res.valid_acc, "test": res.test_acc, "cost_s": res.train_s + res.valid_s,
                "epochs": float(epochs), "train_s": res.train_s}


def make(space: Any, dataset: str, data: Path | None, cache: Path | None, options: dict[str, Any]) -> MacroTrainingBenchmark:
    """Sheet recipe on CIFAR-100 would be 60 epochs; small data uses the digits recipe."""
    opts = dict(options)
    small = dataset in SMALL_DATA
    recipe = preset(str(opts.pop("recipe", "digits-fast" if small else "nb201-hp12")),
                    **dict(opts.pop("recipe_changes", {}) or {}))
    kwargs = {k: opts.pop(k) for k in OPTIONS[2:] if k in opts}
    if opts:
        raise HarnessError(f"unknown option(s) for macro-train: {', '.join(sorted(opts))}; known: {', '.join(OPTIONS)}")
    root = None if small else data_dir(data)
    return MacroTrainingBenchmark("macro-train", space, NetSpec("macro", 0, 5), dataset, recipe,
                                  cache_dir(cache, create=False) / "training" / "macro-train.h5", root, **kwargs)
