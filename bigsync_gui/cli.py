"""The one entry point: ``bigsync-gui [command]``.

Command names are stable (DESIGN §3); tests and scripts rely on them. Heavy imports (Qt, the
sandbox) happen inside the command that needs them, so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from . import APP_NAME, __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Turns Salesforce opportunities that reach your chosen stage into BigTime projects, "
                    "and brings BigTime's budgets, time, invoices and payments back into Salesforce.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = commands.add_parser(
        "sandbox",
        help="run local emulators of Salesforce and BigTime in the foreground",
        description="Runs local emulators of Salesforce and BigTime on 127.0.0.1 until Ctrl-C or SIGTERM. "
                    "Prints one JSON line with their URLs, the console URL and the demo credentials.",
    )
    sandbox.add_argument("--port", type=int, default=0, metavar="N",
                         help="Salesforce on port N, BigTime on N+1 (default: two free ports)")
    sandbox.add_argument("--state", metavar="FILE",
                         help="keep the sandbox's data in FILE across restarts (default: in memory only)")
    sandbox.set_defaults(func=cmd_sandbox)
    return parser


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    if not 0 <= args.port <= 65534:
        print(f"{APP_NAME}: --port must be between 0 and 65534", file=sys.stderr)
        return EXIT_USAGE
    try:
        sandbox = Sandbox(port=args.port, state_file=args.state).start()
    except ValueError as exc:  # unreadable state file
        print(f"{APP_NAME}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"{APP_NAME}: cannot listen on 127.0.0.1 port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps(sandbox.info()), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    print(f"{APP_NAME}: sandbox stopped", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
