"""Tabular benchmark data: dense tables with documented axes, the readers of their sources, preparation."""
