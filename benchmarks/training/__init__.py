"""Real training: the training task, trainers, recipes, optimizers, checkpoints, caches and data-parallel
helpers (torch is imported by the modules that train, never by this package)."""
