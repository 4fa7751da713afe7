"""`data fetch NAME | list | verify [DIR]`: get the benchmark data from the committed manifest
(``benchmarks/tabular/data_manifest.json``), see what it holds, check a folder against it."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.config import DATA_ENV, cache_dir
from harness.errors import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="fetch, list and verify benchmark data (pinned URLs, sha256-checked)")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    f = dsub.add_parser("fetch", help="download a data set, check every sha256, build derived files and the table")
    f.add_argument("name", help="data set name (see `data list`): nb201 or nats-samples")
    f.add_argument("--dest", help=f"folder to fill (default: ${DATA_ENV} if set, else <cache>/data/NAME)")
    f.add_argument("--mirror", help="base URL laid out like https://raw.githubusercontent.com (a local copy)")
    f.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    f.set_defaults(func=run_fetch)
    ls = dsub.add_parser("list", help="data sets in the manifest, their files, and official files to get by hand")
    ls.add_argument("--files", action="store_true", help="also list every file with its size, sha256 and URL")
    ls.set_defaults(func=run_list)
    v = dsub.add_parser("verify", help="check a folder's files against the manifest's sha256 (exit 2 if any differ)")
    v.add_argument("dir", nargs="?", help=f"data folder (default: ${DATA_ENV})")
    v.add_argument("--name", default="nb201", help="data set to check against (default: nb201)")
    v.set_defaults(func=run_verify)


def _default_dest(name: str) -> Path:
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env and name == "nb201" else cache_dir(create=False) / "data" / name


def run_fetch(args: argparse.Namespace) -> int:
    from benchmarks.tabular.fetch import fetch

    dest = Path(args.dest).expanduser() if args.dest else _default_dest(args.name)
    where = fetch(args.name, dest, mirror=args.mirror, quiet=args.quiet)
    print(where)
    if args.name == "nb201":
        print(f"NB201 data ready in {where}: pass --data {where} or export {DATA_ENV}={where}", file=sys.stderr)
        print("(seed means only; the per-seed official files are too large to fetch here: "
              "`python -m harness data list` says where to get them)", file=sys.stderr)
    else:
        print(f"{args.name} ready in {where}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from benchmarks.tabular.data_manifest import datasets

    for ds in datasets().values():
        print(f"{ds.name}: {ds.description}")
        print(f"  {len(ds.files)} files, {ds.download_bytes / 1e6:.1f} MB to download"
              + (f"; builds {len(ds.derived)} derived files" if ds.derived else "")
              + (f" and the table {ds.table}" if ds.table else ""))
        for f in ds.files if args.files else ():
            print(f"    {f.path}  {f.size:,} B  sha256 {f.sha256[:12]}  {f.url}")
        for o in ds.official:
            print(f"  not fetched (too large for this route): {o.name}, {o.size}")
            print(f"    get it from {o.where}; {o.why}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from benchmarks.tabular.fetch import verify

    folder = args.dir or os.environ.get(DATA_ENV)
    if not folder:
        raise DataError(f"data verify needs a folder: pass DIR or set {DATA_ENV}")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; get the data with `python -m harness data fetch {args.name} "
                        f"--dest {folder}`")
    checks = verify(args.name, folder)
    for c in checks:
        print(f"{'ok ' if c.ok else 'BAD'} {c.path}{'' if c.status == 'ok' else ': ' + c.status}")
    bad = [c for c in checks if not c.ok]
    if bad:
        raise DataError(f"{folder}: {len(bad)} of {len(checks)} files missing or wrong (first: {bad[0].path}, "
                        f"{bad[0].status}); fix with `python -m harness data fetch {args.name} --dest {folder}`")
    print(f"{folder}: all {len(checks)} files match the manifest", file=sys.stderr)
    return 0
