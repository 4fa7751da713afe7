"""One torch thread for the weight-sharing tests (CI runs on shared cores); no-op without torch."""
from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
