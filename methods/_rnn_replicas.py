"""ednas-rnn's data-parallel recurrent steps; the one implementation lives in
``benchmarks/_rnn_replicas.py``, shared with the ``ptb-train`` evaluation (``benchmarks/_lm_train.py``).
ednas-rnn looks the functions up here, at call time, so a test can patch them in one place."""
from __future__ import annotations

from benchmarks._rnn_replicas import mean_loss, own, split_columns, train_step

__all__ = ["mean_loss", "own", "split_columns", "train_step"]
