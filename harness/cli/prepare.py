"""`prepare nb201`: convert NB201 data (exports folder, official .pth or NATS-Bench tss file) into one HDF5 table.
`prepare nb301-mini`: fit the small DARTS-space surrogate from NASLib's zc_nasbench301.json."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from harness.errors import DataError, UnknownNameError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="convert benchmark data into a prepared table")
    p.add_argument("benchmark", help="nb201 or nb301-mini")
    p.add_argument("--source", required=True, help="folder of public exports, an official NAS-Bench-201 .pth, "
                   "or a NATS-Bench tss folder (NATS-tss-v1_0-3ffb9-simple) or .pickle.pbz2 (docs/data.md)")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.benchmark == "nb301-mini":
        return _nb301_mini(args)
    if args.benchmark != "nb201":
        raise UnknownNameError(f"prepare knows only 'nb201' and 'nb301-mini', got {args.benchmark!r}")
    from benchmarks.tabular.nb201_table import prepare

    out = Path(args.out)
    _check_out(out)
    start = time.perf_counter()
    out = prepare(Path(args.source), out)
    print(f"prepared {out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _check_out(out: Path) -> None:
    """Refuse an output the table cannot be written to before spending seconds reading the source."""
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; name the table file to write (e.g. {out / 'nb201.h5'})")
    parent = next((p for p in (out.parent, *out.parent.parents) if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise DataError(f"--out {out}: {parent} is a file, not a folder")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"--out {out}: cannot write in {parent}")


def _nb301_mini(args: argparse.Namespace) -> int:
    """Fit nb301-mini's surrogate file; its held-out figures go beside it."""
    from benchmarks.surrogates.nb301_mini import find_source, prepare
    from benchmarks.surrogates.report import write_report

    out = Path(args.out)
    _check_out(out)
    start = time.perf_counter()
    out, report = prepare(find_source(Path(args.source)), out)
    write_report(report, out)
    tau = report["targets"]["val"].get("kendall_tau", float("nan"))
    print(f"prepared {out} in {time.perf_counter() - start:.1f} s; held-out Kendall tau of the accuracy "
          f"{tau:.2f} on {report['targets']['val']['n']} cells", file=sys.stderr)
    return 0
