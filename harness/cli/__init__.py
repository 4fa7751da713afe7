"""`python -m harness <command>` (or `nas-harness <command>`): each command is a public module of
this package with ``add_parser(subparsers)`` setting ``func`` on its parser; they are found
automatically, and every one accepts ``-v`` and ``--plugin`` (added here, before or after the
command's name).

The CLI is the top of the layering: the only place that imports benchmarks, methods and reports
together (the core in ``harness/`` imports none of them).
"""
from __future__ import annotations

import argparse
import builtins
import importlib
import logging
import os
import pkgutil
import sys
from typing import NoReturn

from harness import __version__
from harness.errors import HarnessError

DESCRIPTION = ("Compare neural architecture search methods under identical budgets metered by the "
               "harness; every evaluation is written to HDF5 trajectories that `report` turns into "
               "paper-style tables, plots and statistics.")
EPILOG = ("The default study (random search vs regularized evolution on NB201 cells trained for real on "
          "scikit-learn's digits, no download, ~3 minutes on 2 cores) runs with `compare` and no flags; "
          "`list` shows the methods, benchmarks, executors and built-in studies. "
          "`COMMAND --help` shows a command's flags.")


class _Parser(argparse.ArgumentParser):
    """A malformed flag is one line and exit 2, like every other user error (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


class DefaultsFormatter(argparse.HelpFormatter):
    """Every flag's help ends with its default, unless the text already says it (``default``, or
    ``else`` naming where the value comes from)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is argparse.SUPPRESS or not action.option_strings or \
                any(w in text.lower() for w in ("default", "(else ")) or isinstance(action, argparse._VersionAction):
            return text
        if action.required:
            return f"{text} (required)"
        return f"{text} (default: {_shown(action.default)})"


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if value is False:
        return "off"
    if value is True:
        return "on"
    if isinstance(value, (builtins.list, tuple)):  # `list` here is the command module
        return ", ".join(map(str, value)) if value else "none"
    return str(value).replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    prog = "nas-harness" if os.path.basename(sys.argv[0] or "") == "nas-harness" else "python -m harness"
    parser = _Parser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=DefaultsFormatter)
    parser.add_argument("--version", action="version", version=f"nas-harness {__version__}")
    _common_flags(parser, "_top")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").add_parser(sub)
    for command in sub.choices.values():
        _polish(command)
    return parser


def _polish(command: argparse.ArgumentParser) -> None:
    """Defaults in the help and the common flags on a command and on its own subcommands, if any."""
    command.formatter_class = DefaultsFormatter
    _common_flags(command)
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _polish(nested)


def _common_flags(parser: argparse.ArgumentParser, suffix: str = "") -> None:
    """``-v`` and ``--plugin`` on the top-level parser (``suffix`` keeps its values apart) and on
    every command, with SUPPRESS defaults so neither parser overwrites the other's (``main`` joins them)."""
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, dest="verbose" + suffix,
                        help="debug logging on stderr (default: off)")
    parser.add_argument("--plugin", action="append", metavar="MODULE", default=argparse.SUPPRESS,
                        dest="plugin" + suffix,
                        help="import MODULE first so the methods and benchmarks it registers can be used; "
                             "repeatable (installed plugins, entry points nas_harness.methods / "
                             "nas_harness.benchmarks, load without it) (default: none)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:  # help, and where the default study is
        parser.print_help()
        print(f"\nto run the default study: {parser.prog} compare")
        return 0
    try:
        args, plugins = _parse(parser, argv)
    except SystemExit as exc:  # --help (0) or a malformed flag (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        from harness.registry import check_packages, load_plugins

        check_packages()
        args.plugin = load_plugins(plugins)
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``list | head``): what it wanted was printed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 0
    except OSError as exc:  # a user path: read-only, full disk, a file where a folder goes, ...
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``argv``; ``-v`` and ``--plugin`` count wherever they stand (before or after the command)."""
    args = parser.parse_args(argv)
    given = [*getattr(args, "plugin_top", []), *getattr(args, "plugin", [])]
    args.verbose = bool(getattr(args, "verbose_top", False) or getattr(args, "verbose", False))
    return args, [*dict.fromkeys(given)]


def _os_error(exc: OSError) -> str:
    """``<path>: <reason>`` in one line (both paths for a rename), without the traceback."""
    reason = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
