"""Named comparison presets; modules anywhere register them with ``PRESETS.register(name)(dict)``."""
from __future__ import annotations

from harness.registry import Registry

# presets live next to the benchmarks they use (benchmarks/presets_*.py)
PRESETS: Registry = Registry("preset", "benchmarks")
