"""Run `harness compare` under torchrun with each rank in its own working directory (argv[1]/rank<r>):
relative --out and --cache then show whatever a rank wrote, so a test can check that rank 1 wrote nothing."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.cli import main

if __name__ == "__main__":
    here = Path(sys.argv[1]) / f"rank{os.environ.get('RANK', '0')}"
    here.mkdir(parents=True, exist_ok=True)
    os.chdir(here)
    sys.exit(main(sys.argv[2:]))
