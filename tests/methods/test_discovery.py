"""Tabular runs never load torch: discovering methods and benchmarks must not import it."""
from __future__ import annotations

import subprocess
import sys


def test_discovery_does_not_import_torch():
    code = ("from harness.registry import METHODS, BENCHMARKS; from harness.studies import STUDIES; "
            "METHODS.names(); BENCHMARKS.names(); STUDIES.names(); import sys; "
            "assert 'pnas' in METHODS and 'predictor_evolution' in METHODS; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
