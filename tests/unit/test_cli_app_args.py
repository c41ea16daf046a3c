"""The desktop app's start parses its own options without building the commands' parser
(cli.app_options): the fast path must read them exactly as the full parser does, and never
swallow a command, --help, --version or a malformed option."""

from __future__ import annotations

import pytest

from bigsync_gui import cli

APP_ONLY = [
    [],
    ["--sandbox"],
    ["--profile", "/tmp/p"],
    ["--profile=/tmp/p", "--sandbox"],
    ["--sandbox", "--profile", "x"],
    ["--profile", "a", "--profile", "b"],
    ["--profile="],
    ["--profile", "dir with spaces"],
]


@pytest.mark.parametrize("argv", APP_ONLY)
def test_the_app_options_alone_take_the_fast_path_and_read_as_the_full_parser_reads_them(argv: list[str]) -> None:
    fast = cli.app_options(argv)
    full = cli.build_parser().parse_args(argv)
    assert fast == (full.profile, full.sandbox)
    assert full.command is None


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["--help"],
        ["-h"],
        ["--version"],
        ["--profile"],
        ["--profile", "/tmp/p", "sync", "--once"],
        ["--sandbox", "doctor"],
        ["--unknown"],
        ["--profile", "--sandbox"],
        ["--profile", "-x"],
        ["--prof", "x"],
        ["--", "status"],
    ],
)
def test_anything_else_goes_to_the_full_parser(argv: list[str]) -> None:
    assert cli.app_options(argv) is None
