"""Progress on stderr: a tqdm bar on a terminal, one line per finished run otherwise."""
from __future__ import annotations

import sys
from typing import Any, Iterable, Iterator

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
