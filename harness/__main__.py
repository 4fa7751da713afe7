import sys

from harness.registry import unshadow_cwd

unshadow_cwd()  # a user's own `benchmarks/` in the current folder must not hide the harness's

from harness.cli import main  # noqa: E402

sys.exit(main())
