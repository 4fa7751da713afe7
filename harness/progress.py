"""Progress on stderr: a tqdm bar on a terminal, one line per finished run otherwise; for training,
one line per epoch (loss, accuracy, images/s, data wait, ETA) and a step bar on a terminal."""
from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Iterator

from tqdm import tqdm


def runs(items: Iterable[Any], total: int, desc: str = "runs") -> Iterator[Any]:
    if sys.stderr.isatty():
        yield from tqdm(items, total=total, desc=desc, file=sys.stderr, unit="run")
        return
    step = max(1, total // 20)  # at most ~20 lines for long grids
    for i, item in enumerate(items, 1):
        if i % step == 0 or i == total or total <= 50:
            r = item if isinstance(item, dict) else {}
            tag = f" {r.get('method')}/{r.get('dataset')}/seed {r.get('seed')}" if r else ""
            print(f"[{i}/{total}] finished{tag}", file=sys.stderr, flush=True)
        yield item


def duration(seconds: float) -> str:
    """``H:MM:SS`` (or ``M:SS`` under an hour)."""
    s = max(0, int(round(seconds)))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def epoch_line(fig: dict[str, float], label: str = "") -> str:
    """One epoch's figures as one line (the keys a trainer reports, benchmarks/training/trainer.py)."""
    head = f"{label} " if label else ""
    return (f"{head}epoch {int(fig['epoch'])}/{int(fig['epochs'])}: loss {fig['loss']:.4f}, "
            f"train acc {fig['train_acc']:.2f}%, {fig['images_per_s']:,.0f} images/s, "
            f"data wait {100 * fig['data_wait']:.0f}%, {fig['epoch_s']:.1f} s, ETA {duration(fig['eta_s'])}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Epochs:
    """What a trainer calls (``start``/``step``/``end``): a step bar while an epoch runs when ``bar``
    (default: stderr is a terminal), then the epoch's line through ``emit`` (default: stderr)."""

    def __init__(self, label: str = "", emit: Callable[[str], None] | None = None, bar: bool | None = None) -> None:
        self.label, self.emit = label, emit or _stderr
        self.bar_on = sys.stderr.isatty() if bar is None else bar
        self._bar: Any = None

    def start(self, epoch: int, epochs: int, steps: int) -> None:
        if self.bar_on:
            self._bar = tqdm(total=steps, desc=f"{self.label} epoch {epoch + 1}/{epochs}".strip(),
                             file=sys.stderr, unit="step", leave=False)

    def step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def end(self, fig: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.emit(epoch_line(fig, self.label))
