"""nas-harness: compare NAS methods under identical, metered budgets."""
from __future__ import annotations

__version__ = "0.1.0"
