"""Surrogate benchmarks: fitted models answering queries in place of a table or of training (docs/surrogates.md)."""
