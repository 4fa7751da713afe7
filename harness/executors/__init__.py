"""Executors: where the chunks of a comparison run. One file each registers itself with
``@EXECUTORS.register(name)`` on a factory ``(workers: int, **options) -> Executor``
(``harness/protocols.py``); ``compare --executor NAME`` picks one (docs/extending.md, docs/scale.md)."""
