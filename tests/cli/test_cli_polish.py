"""The command line as a new user meets it: help without arguments, --version, every flag's default
in its help, -v and --plugin before or after the command, and the nas-harness console script."""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from harness import __version__
from harness.cli import DefaultsFormatter, _parse, build_parser, main

REPO = Path(__file__).resolve().parents[2]


def test_no_arguments_prints_help_and_points_at_the_default_study(capsys: pytest.CaptureFixture) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m harness")
    assert "to run the default study: python -m harness compare" in out
    description = build_parser().description
    assert description.endswith(".") and "report" in description  # a whole sentence, not a cut first line


def test_version(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nas-harness {__version__}"


def _commands(parser: argparse.ArgumentParser | None = None, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every parser by its command path ("" for the top level), subcommands of subcommands too."""
    parser = parser or build_parser()
    out = {prefix.strip(): parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, nested in action.choices.items():
                out.update(_commands(nested, f"{prefix} {name}"))
    return out


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_flag_says_its_default(command: str) -> None:
    parser = _commands()[command]
    formatter = DefaultsFormatter(parser.prog)
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or \
                isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        assert action.help, f"{command} {action.option_strings[0]} has no help text (argparse would show nothing)"
        text = formatter._get_help_string(action).lower()
        assert "default" in text or "(else " in text or "(required)" in text, \
            f"{command} {action.option_strings[0]}: {text}"
    parser.format_help()  # formats (a stray % in a help text would raise here)


@pytest.mark.parametrize("argv, verbose, plugins", [
    (["list"], False, []),
    (["-v", "list"], True, []),
    (["list", "-v"], True, []),
    (["--plugin", "a", "list", "--plugin", "b", "--plugin", "a"], False, ["a", "b"]),
    (["compare", "--plugin", "a", "--verbose"], True, ["a"]),
])
def test_v_and_plugin_count_before_and_after_the_command(argv: list[str], verbose: bool, plugins: list[str]) -> None:
    args, found = _parse(build_parser(), argv)
    assert args.verbose is verbose and found == plugins


def test_the_console_script_is_the_cli_main() -> None:
    """Its installed form runs in tests/harness/test_plugin_venv.py (NAS_HARNESS_VENV_TEST=1)."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["nas-harness"].partition(":")
    assert (module, name) == ("harness.cli", "main") and callable(main)
