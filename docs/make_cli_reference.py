"""Writes docs/cli.md from the program's own --help texts, so the reference never drifts.

    .venv/bin/python docs/make_cli_reference.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COMMANDS = [[], ["sandbox"], ["connect", "salesforce"], ["connect", "bigtime"], ["stages"], ["configure"],
            ["sync"], ["run"], ["status"], ["disconnect"]]


def main() -> None:
    parts = ["# Command-line reference", "",
             "Generated from `bigsync-gui … --help` by `docs/make_cli_reference.py`; do not edit by hand.", ""]
    for command in COMMANDS:
        text = subprocess.run([sys.executable, "-m", "bigsync_gui", *command, "--help"], capture_output=True,
                              text=True, check=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"}).stdout
        title = " ".join(["bigsync-gui", *command])
        parts += [f"## `{title}`", "", "```", text.rstrip(), "```", ""]
    target = Path(__file__).resolve().parent / "cli.md"
    target.write_text("\n".join(parts))
    print(target)


if __name__ == "__main__":
    main()
