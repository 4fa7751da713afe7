"""Datasets and their benchmark splits (images, text), downloads on request, search splits."""
