"""The real-training task: where no table answers (DARTS space, ImageNet, NB201 cells on other
data), an evaluation trains the architecture and charges the measured seconds (issue 5). The
registered benchmarks (``benchmarks/nb201_train.py``, ``darts_train.py``, ``macro_train.py``) are this
task with a network builder of their own.

Each result is cached by (arch, dataset, recipe, net, training seed, epochs); a repeated query is
answered from the cache and charged the seconds measured when it was trained, so charges never
depend on which run trained an architecture first. Torch is imported only when training.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.training.cache import TrainCache, cache_key
from benchmarks.training.recipe import Recipe, preset
from harness.config import cache_dir, data_dir
from harness.errors import HarnessError
from harness.protocols import Outcome, SearchData, SearchSpace

log = logging.getLogger(__name__)
SMALL_DATA = ("digits", "synthetic")


@dataclass(frozen=True)
class NetSpec:
    """Network size, part of every result's identity: NB201 uses C and N (cells per stage); DARTS uses
    C and layers; the macro network has a fixed size."""

    kind: str          # "nb201", "darts" or "macro"
    C: int
    depth: int         # NB201: cells per stage; DARTS: number of cells
    auxiliary: bool = False
    imagenet_stem: bool = False   # DARTS: the stride-8 ImageNet stem


# (net, codes, num_classes, in_channels) -> torch nn.Module; imports torch only when called
NetBuilder = Callable[[NetSpec, np.ndarray, int, int], Any]


class TrainingBenchmark:
    """A Task answered by training; ``report_*`` come from the same run (at the queried epochs)."""

    def __init__(self, name: str, space: SearchSpace, net: NetSpec, build: NetBuilder, dataset: str,
                 recipe: Recipe, cache_file: Path, data_root: Path | None = None, train_seed: int = 0,
                 train_images: int | None = None, download: bool = False, device: str | None = None,
                 threads: int | None = None, checkpoint_min_s: float = 10.0, accum: int = 1,
                 image_size: int | None = None, workers: int = 4, bad_images: str = "stop",
                 compile: bool = False) -> None:
        self.benchmark, self.name = name, f"{name}/{dataset}"
        self.space, self.net, self.dataset, self.recipe = space, net, dataset, recipe
        self._build = build
        self.fidelities = tuple(float(e) for e in range(1, recipe.epochs + 1))
        self.default_fidelity = float(recipe.epochs)
        self.train_seed, self.train_images = int(train_seed), train_images
        self._data_root, self._download, self._device, self._threads = data_root, download, device, threads
        self._checkpoint_min_s = checkpoint_min_s
        self.accum = int(accum)
        if self.accum < 1:
            raise HarnessError(f"accum must be >= 1 (micro-batches per process and step), got {accum!r}")
        self._image_size, self._workers, self._bad_images = image_size, int(workers), bad_images
        self.compile = bool(compile)
        self._data = None
        self.cache = TrainCache(cache_file)

    # ------------------------------------------------------------------ Task protocol
    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        codes = np.atleast_2d(codes)
        rows = [self._result(c, int(fidelity)) for c in codes]
        col = lambda k: np.array([r[k] for r in rows], dtype=np.float64)  # noqa: E731
        return Outcome(val=col("val"), cost_s=col("cost_s"), epochs=col("epochs"),
                       report_valid=col("val"), report_test=col("test"))

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Final-protocol values: the full recipe (trained here if not cached; not charged)."""
        out = self.evaluate(codes, self.default_fidelity)
        return out.report_valid, out.report_test

    def attrs(self) -> dict[str, Any]:
        data = self.data()
        return {"benchmark": self.benchmark, "dataset": self.dataset, "cost_unit": "measured_s",
                "protocol": "training: val = validation accuracy after the queried epochs; cost = measured "
                            "train + validation seconds; report = the same run (test = held-out split)",
                "space": self.space.name, "net": json.dumps(asdict(self.net)), "recipe": self.recipe.key(),
                "train_seed": self.train_seed, **data.sizes(), "num_classes": data.num_classes,
                "image_size": data.image_size, **({"batch_chunks": self.chunks()} if self.chunks() > 1 else {}),
                **self._numerics()}

    def search_data(self) -> SearchData:
        """Train and validation splits for weight-sharing methods (EvNAS, EDNAS); test stays here."""
        from benchmarks.training.data.search import from_data

        if self._threads:  # the method trains in this process: the thread cap applies to it too
            import torch

            torch.set_num_threads(self._threads)
        if getattr(self.data(), "streamed", False):
            raise HarnessError(f"{self.dataset} is streamed from its folders; weight-sharing methods need a "
                               f"dataset held in memory (e.g. imagenet64)")
        return from_data(self.data())

    # ------------------------------------------------------------------ internals
    def data(self):  # -> benchmarks.training.data.images.Data
        """The dataset, loaded on first use (so listing or building the task stays cheap)."""
        if self._data is None:
            from benchmarks.training.data import images

            self._data = images.load(self.dataset, self._data_root, self._download, self.train_images,
                                     image_size=self._image_size, workers=self._workers,
                                     bad_images=self._bad_images)
        return self._data

    def _numerics(self) -> dict[str, Any]:
        """What else can change a trained result, named only when it is not the CPU float32 default
        (so earlier caches keep their keys): the streamed pipeline, bf16 on CUDA, torch.compile."""
        out: dict[str, Any] = {}
        pipeline = getattr(self.data(), "pipeline", None)
        if pipeline is not None:
            out["pipeline"] = pipeline()
        if self._device_type() == "cuda":
            out["precision"] = "bf16-autocast"
        if self.compile:
            out["compile"] = True
        return out

    def _device_type(self) -> str:
        if self._device is not None:
            return str(self._device).split(":")[0]
        import torch  # loaded already: the identity reads the data

        return "cuda" if torch.cuda.is_available() else "cpu"

    def chunks(self) -> int:
        """Pieces each global batch is cut into (processes x micro-batches): batch-norm statistics are
        per piece, so results depend on this number, not on how many processes share it."""
        from harness.distributed import from_env

        return from_env().world * self.accum

    def identity(self, codes: np.ndarray, epochs: int) -> dict[str, Any]:
        """What decides a training result (the cache key); ``chunks`` only when > 1, so one-process
        caches keep their keys."""
        canon = self.space.canonical(codes) if hasattr(self.space, "canonical") else codes
        chunks = self.chunks()
        return {"space": self.space.name, "arch": self.space.format(canon)[0], "dataset": self.dataset,
                "sizes": self.data().sizes(), "recipe": self.recipe.key(), "net": asdict(self.net),
                "seed": self.train_seed, "epochs": epochs, **({"chunks": chunks} if chunks > 1 else {}),
                **self._numerics()}

    def build_net(self, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
        """The torch network for one architecture (imports torch)."""
        return self._build(self.net, codes, num_classes, in_channels)

    def _result(self, codes: np.ndarray, epochs: int) -> dict[str, float]:
        """The cached or freshly trained row (rank 0 decides and stores under torchrun)."""
        ident = self.identity(codes, epochs)
        trained = []
        row = self.cache.row_or_train(  # one checkpoint per arch: the identity without epochs
            ident, lambda: trained.append(1) or self._train(codes, epochs, cache_key({**ident, "epochs": None})))
        from harness.distributed import from_env

        if from_env().main:  # per-query progress (compare logs at INFO)
            how = "from the cache"
            if trained:
                how = f"trained in {row['train_s']:.1f} s"
                if "data_wait" in row:
                    how += f", {row['images_per_s']:,.0f} images/s, data wait {100 * row['data_wait']:.0f}%"
            log.info("%s %s, %d epochs: val %.2f%% (%s)", self.name, self.space.format(codes)[0], epochs,
                     row["val"], how)
        return row

    def _train(self, codes: np.ndarray, epochs: int, ckpt_key: str) -> dict[str, float]:
        """Train (continuing a shorter run of the same arch if its checkpoint is there); the charge
        is the measured time from scratch, so it does not depend on which fidelity came first."""
        import torch

        from benchmarks.training.trainer import Trainer
        from harness.distributed import init
        from harness.progress import Epochs

        if self._threads:
            torch.set_num_threads(self._threads)
        t0 = time.perf_counter()
        data = self.data()
        # epoch lines at INFO where an epoch is long enough to wait for; on digits they would flood compare
        level = logging.DEBUG if self.dataset in SMALL_DATA else logging.INFO
        progress = Epochs(f"{self.name} {self.space.format(codes)[0]}", lambda line: log.log(level, line), bar=False)
        trainer = Trainer(data, self.recipe, self.train_seed, init(), accum=self.accum, device=self._device,
                          compile=self.compile, progress=progress)
        ckpt = self.cache.path.parent / "checkpoints" / f"{ckpt_key}.pt"
        res = trainer.fit(lambda: self.build_net(codes, data.num_classes, data.in_channels),
                          epochs, ckpt, checkpoint_min_s=self._checkpoint_min_s)
        log.debug("trained %s for %d epochs in %.1fs: val %.2f", self.space.format(codes)[0], epochs,
                  time.perf_counter() - t0, res.valid_acc)
        return {"val": res.valid_acc, "test": res.test_acc, "cost_s": res.train_s + res.valid_s,
                "epochs": float(epochs), "train_s": res.train_s, **res.summary()}


OPTIONS = ("train_seed", "train_images", "download", "device", "threads", "checkpoint_min_s", "accum",
           "image_size", "workers", "bad_images", "compile")


def training_options(recipe: str | None, recipe_changes: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    """A factory's declared keywords as make_task's options (no ``recipe``: the factory's default)."""
    return {**({"recipe": recipe} if recipe is not None else {}), "recipe_changes": recipe_changes or {}, **kwargs}


def make_task(name: str, space: SearchSpace, dataset: str, data: Path | None, cache: Path | None, net: NetSpec,
              build: NetBuilder, default_recipe: str, options: dict[str, Any], net_options: str = "",
              cls: type[TrainingBenchmark] = TrainingBenchmark) -> TrainingBenchmark:
    """A registered training benchmark from its options (``recipe``, ``recipe_changes`` and ``OPTIONS``;
    ``net_options`` names the size options the caller took already, for the error message)."""
    opts = dict(options)
    recipe = preset(str(opts.pop("recipe", default_recipe)), **dict(opts.pop("recipe_changes", {}) or {}))
    kwargs = {k: opts.pop(k) for k in OPTIONS if k in opts}
    if opts:
        known = ", ".join(k for k in ("recipe", "recipe_changes", net_options, *OPTIONS) if k)
        raise HarnessError(f"unknown option(s) for {name}: {', '.join(sorted(opts))}; known: {known}")
    cache_file = cache_dir(cache, create=False) / "training" / f"{name}.sqlite"
    root = None if dataset in SMALL_DATA else data_dir(data)
    return cls(name, space, net, build, dataset, recipe, cache_file, root, **kwargs)
