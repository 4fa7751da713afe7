"""Penn Treebank language modelling with a searched recurrent cell (EDNAS on PTB, methods/ednas.md):
an evaluation trains the cell from scratch (``benchmarks/training/lm_trainer.py``) and charges measured seconds.

Perplexity is lower-is-better while the harness ranks higher-is-better values, so ``val`` is the
**negated validation perplexity** (``report_valid`` / ``report_test``: negated valid / test perplexity):
tables read "-61.20" for a perplexity of 61.2 and bold the best. Weight-sharing searches
(``ednas-rnn``) get the train and valid token streams from ``search_data``; the test stream never
leaves the task. Results are cached like the image training benchmarks, and a training in progress is
checkpointed every epoch under ``<cache>/training/checkpoints/`` (a killed evaluation resumes where it
stopped). DDP-capable: under torchrun rank 0 alone decides cache hits and writes the cache and the
checkpoints, every rank trains its share of the token columns, and every rank takes rank 0's row.
Torch is imported lazily.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from benchmarks.training.data.text import PTB_URL, TEXT_DATASETS, Corpus, unigram_perplexity
from benchmarks.training.cache import TrainCache, cache_key
from benchmarks.spaces.rnn import RNNSpace
from harness import __version__
from harness.config import cache_dir, data_dir
from harness.lockstep import Lockstep, ddp_capable
from harness.options import Bounds
from harness.protocols import Outcome, TextData
from harness.registry import BENCHMARKS

log = logging.getLogger(__name__)
METRIC = "negated perplexity: val = -valid ppl, report_valid / report_test = -valid / -test ppl"


class PTBTrainTask:
    """A Task over the RNN cell space answered by training the cell (``fidelity`` = epochs)."""

    def __init__(self, dataset: str, recipe: Any, cache_file: Path, data_root: Path | None = None,
                 train_seed: int = 0, download: bool = False, url: str = PTB_URL,
                 device: str = "cpu", threads: int | None = None) -> None:
        self.dataset, self.name = dataset, f"ptb-train/{dataset}"
        self.space, self.recipe = RNNSpace(), recipe
        self.fidelities = tuple(float(e) for e in range(1, recipe.epochs + 1))
        self.default_fidelity = float(recipe.epochs)
        self.train_seed = int(train_seed)
        self._root, self._download, self._url, self._device, self._threads = data_root, download, url, device, threads
        self._corpus: Corpus | None = None
        self.cache = TrainCache(cache_file)

    def corpus(self) -> Corpus:
        """The corpus, loaded on first use (harness side only)."""
        if self._corpus is None:
            from benchmarks.training.data import text

            load = lambda fetch: text.load(self.dataset, self._root, fetch, self._url)  # noqa: E731
            if self._download:  # under torchrun rank 0 fetches what is missing, then the others read it
                lock = Lockstep.join()
                first = lock.share(lambda: load(True))
                self._corpus = first if lock.main or not lock.active else load(False)
            else:
                self._corpus = load(False)
        return self._corpus

    def search_data(self) -> TextData:
        """Train and valid token streams for a weight-sharing search; the test stream stays here."""
        self._cap_threads()
        c = self.corpus()
        return TextData(c.name, c.train, c.valid, c.n_tokens)

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        rows = [self._result(c, int(fidelity)) for c in np.atleast_2d(codes)]
        col = lambda k: np.array([r[k] for r in rows], dtype=np.float64)  # noqa: E731
        return Outcome(val=-col("val"), cost_s=col("cost_s"), epochs=col("epochs"),
                       report_valid=-col("val"), report_test=-col("test"))

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The full recipe (trained here if not cached; not charged)."""
        out = self.evaluate(codes, self.default_fidelity)
        return out.report_valid, out.report_test

    def attrs(self) -> dict[str, Any]:
        c = self.corpus()
        return {"benchmark": "ptb-train", "dataset": self.dataset, "cost_unit": "measured_s", "metric": METRIC,
                "protocol": "training from scratch (EDNAS/DARTS PTB evaluation: SGD -> NT-ASGD, best-valid "
                            "checkpoint tested); cost = measured train + validation seconds",
                "space": self.space.name, "recipe": self.recipe.key(), "train_seed": self.train_seed,
                "package_version": __version__, **c.sizes(),
                "unigram_valid_ppl": unigram_perplexity(c.train, c.valid, c.n_tokens)}

    def identity(self, codes: np.ndarray, epochs: int) -> dict[str, Any]:
        return {"space": "rnn", "arch": self.space.format(codes)[0], "dataset": self.dataset,
                "sizes": self.corpus().sizes(), "recipe": self.recipe.key(), "seed": self.train_seed,
                "epochs": epochs}

    def checkpoint_path(self, codes: np.ndarray) -> Path:
        """One checkpoint per cell (the identity without epochs), beside the cache as the image training
        benchmarks keep theirs: a killed evaluation resumes and a longer query continues a shorter one."""
        key = cache_key({**self.identity(codes, 0), "epochs": None})
        return self.cache.path.parent / "checkpoints" / f"{key}.pt"

    def _result(self, codes: np.ndarray, epochs: int) -> dict[str, float]:
        """The cached or freshly trained row (rank 0 decides and stores under torchrun; every rank
        trains its token columns on a miss)."""
        ident = self.identity(codes, epochs)

        def train() -> dict[str, float]:
            from benchmarks.training.lm_trainer import train_cell

            self._cap_threads()
            row = train_cell(self.corpus(), codes, self.recipe, self.train_seed, epochs, self._device,
                             self.checkpoint_path(codes))
            log.debug("trained %s for %d epochs: valid ppl %.2f", ident["arch"], epochs, row["val"])
            return row

        return self.cache.row_or_train(ident, train)

    def _cap_threads(self) -> None:
        if self._threads:
            import torch

            torch.set_num_threads(self._threads)


@BENCHMARKS.register("ptb-train")
@ddp_capable
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         recipe: str | None = None, recipe_changes: dict[str, Any] | None = None,
         train_seed: Annotated[int, Bounds(ge=0)] = 0, download: bool = False, url: str = PTB_URL,
         device: str = "cpu", threads: Annotated[int | None, Bounds(ge=1)] = None) -> PTBTrainTask:
    """Recurrent cells trained on ``ptb`` (files under the data directory; ``download=true`` fetches them)
    or ``synthetic-text``; ``recipe`` = ptb-eval (the paper's evaluation) or tiny (CPU). The keywords
    are the ``--option``s, checked against these annotations when a study is built."""
    from benchmarks.training.lm_trainer import lm_preset

    lm_recipe = lm_preset(recipe or ("tiny" if dataset == "synthetic-text" else "ptb-eval"),
                          **dict(recipe_changes or {}))
    kwargs = {"train_seed": train_seed, "download": download, "url": url, "device": device, "threads": threads}
    root = None if dataset == "synthetic-text" else data_dir(Path(data) if data is not None else None)
    cache_file = cache_dir(Path(cache) if cache is not None else None, create=False) / "training" / "ptb-train.sqlite"
    return PTBTrainTask(dataset, lm_recipe, cache_file, root, **kwargs)


make.datasets = TEXT_DATASETS  # shown by `list`
