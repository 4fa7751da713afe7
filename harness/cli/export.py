"""`export`: every evaluation of the runs under DIR as one tidy table (Parquet or CSV), one row per
evaluation with the run's attributes as columns (``reports.load.evaluation_columns``)."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from harness.errors import HarnessError

log = logging.getLogger(__name__)

FORMATS = {"parquet": ".parquet", "csv": ".csv"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write every evaluation under DIR as one Parquet or CSV table")
    p.add_argument("dir", metavar="DIR", help="directory searched recursively for runs (packs, run files, journals)")
    p.add_argument("--format", choices=tuple(FORMATS), default="parquet", help="table format")
    p.add_argument("--out", metavar="FILE", default=None, help="file to write (default: DIR/evaluations.<format>)")
    p.add_argument("--include-running", action="store_true",
                   help="also export runs still in progress (their journals' rows)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import pandas  # noqa: F401 - checked first: one line instead of a traceback
        if args.format == "parquet":
            import pyarrow  # noqa: F401
    except ImportError as exc:
        raise HarnessError(f"export --format {args.format} needs {exc.name}: pip install 'nas-harness[export]'") \
            from None
    from harness.atomic import atomic_path
    from harness.cli._args import writable_dir
    from reports.load import to_dataframe

    out = Path(args.out) if args.out else Path(args.dir) / f"evaluations{FORMATS[args.format]}"
    if out.is_dir():
        raise HarnessError(f"--out {out} is a folder; name the file to write")
    writable_dir(out.parent, "--out")
    start = time.perf_counter()
    log.info("reading the runs under %s", args.dir)
    frame = to_dataframe(args.dir, include_running=args.include_running)
    log.info("read %d evaluations in %.1f s; writing %s", len(frame), time.perf_counter() - start, out)
    with atomic_path(out) as tmp:  # a failed write leaves an earlier export as it was
        if args.format == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    runs = frame.groupby(["benchmark", "dataset", "method", "seed"], dropna=False).ngroups
    print(f"{len(frame)} evaluations of {runs} runs -> {out}", file=sys.stderr)
    return 0
