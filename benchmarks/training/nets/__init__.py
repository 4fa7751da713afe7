"""Torch networks of the search spaces: candidate ops, fixed networks for one architecture."""
