"""`report`: tables, figures, statistics and an index.html from a directory of trajectories."""
from __future__ import annotations

import argparse
import logging
import shlex
import sys

log = logging.getLogger(__name__)

FORMATS = ("md", "tex", "csv", "html")  # reports.report.FORMATS; here so `--help` imports no reports


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="turn trajectories under DIR into paper tables and plots")
    p.add_argument("dir", metavar="DIR", help="directory searched recursively for *.h5 trajectories")
    p.add_argument("--out", metavar="REPORT_DIR", default=None, help="output directory (default DIR/report)")
    p.add_argument("--format", default=",".join(FORMATS),
                   help=f"comma list of table formats among {','.join(FORMATS)} (default: all); "
                        "figures (PNG, PDF) are always written")
    p.add_argument("--median", action="store_true",
                   help="median [IQR] instead of mean ± std / 95%% CI, in every column")
    p.add_argument("--names", metavar="NAME=SHOWN,...", default=None,
                   help="display names, e.g. random_search=Random,cifar10-valid=C10 (defaults: RS, REA, ...)")
    p.add_argument("--datasets", metavar="D1,D2,...", default=None,
                   help="column order of the datasets (default: the NB201 paper's, then as found)")
    p.add_argument("--posthoc", choices=("wilcoxon", "nemenyi"), default="wilcoxon",
                   help="post-hoc test across tasks after Friedman: Wilcoxon + Holm (default) or Nemenyi")
    p.add_argument("--include-running", action="store_true",
                   help="also use runs whose status is still 'running' (default: skip them)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.names import parse_names
    from reports.report import parse_formats, write_report

    formats = parse_formats(args.format)
    order = [d.strip() for d in (args.datasets or "").split(",") if d.strip()]
    paths = write_report(args.dir, args.out, formats, median=args.median,
                         include_running=args.include_running, names=parse_names(args.names),
                         order=order, posthoc=args.posthoc,
                         command="python -m harness " + shlex.join(sys.argv[1:]))
    table = next((p for p in paths if p.name == "table.md"), None)
    if table is not None:
        print(table.read_text(encoding="utf-8"), end="")
    index = next((p for p in paths if p.name == "index.html"), paths[0].parent)
    log.info("report written to %s", index)
    return 0
