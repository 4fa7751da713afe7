"""Kept for ``compare``'s import: the summary table is ``reports.tables.summary_markdown``."""
from __future__ import annotations

from reports.tables import summary_markdown

__all__ = ["summary_markdown"]
