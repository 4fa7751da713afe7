"""`python -m harness <command>`: each command is a public module of this package with
``add_parser(subparsers)`` setting ``func`` on its parser; they are found automatically.

The CLI is the top of the layering: the only place that imports benchmarks, methods and reports
together (the core in ``harness/`` imports none of them).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from typing import NoReturn

from harness.errors import HarnessError


class _Parser(argparse.ArgumentParser):
    """A malformed flag is one line and exit 2, like every other user error (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        argv = ["compare"]  # the embedded default study
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a malformed flag (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a user path: read-only, full disk, a file where a folder goes, ...
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


def _os_error(exc: OSError) -> str:
    """``<path>: <reason>`` in one line (both paths for a rename), without the traceback."""
    reason = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
