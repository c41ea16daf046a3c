"""The one entry point: ``bigsync-gui [command]``.

Command names are stable (docs/design.md, "Command line"); tests and scripts rely on them. Heavy imports (Qt, the
sandbox) happen inside the command that needs them, so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence

from . import APP_NAME, __version__
from .cli_connect import cmd_connect_bigtime, cmd_connect_salesforce, cmd_disconnect
from .cli_support import connector_for, fail, run_guarded
from .core.problems import (  # noqa: F401 - the CLI's exit codes, re-exported
    EXIT_DOCTOR_DIFFERS,
    EXIT_FAILED,
    EXIT_KEYRING,
    EXIT_NOT_CONNECTED,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_USAGE,
)


def app_parser() -> argparse.ArgumentParser:
    """The options of the desktop app itself (no command): all the tray's start needs to parse."""
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Turns Salesforce opportunities that reach your chosen stage into BigTime projects, "
        "and brings BigTime's budgets, time, invoices and payments back into Salesforce.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--profile", metavar="DIR", help="keep settings, state and keyring entries for this setup under DIR"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="open the app against the built-in sandbox of both services, with a throwaway setup",
    )
    return parser


def app_options(argv: Sequence[str]) -> tuple[str | None, bool] | None:
    """``(--profile, --sandbox)`` when the arguments are only the app's own options (no command, no
    --help/--version), read without argparse: building a parser (the commands' one was a tenth of
    the time to "tray ready", even ``app_parser()`` and the gettext look-up it makes a fiftieth)
    is left to everything else. None: anything else, read (or refused) by the commands' parser."""
    profile, sandbox = None, False
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--sandbox":
            sandbox = True
        elif arg.startswith("--profile="):
            profile = arg[len("--profile=") :]
        elif arg == "--profile" and rest and not rest[0].startswith("-"):
            profile = rest.pop(0)
        else:
            return None
    return profile, sandbox


def build_parser() -> argparse.ArgumentParser:
    from .cli_configure import cmd_configure
    from .cli_sync import cmd_run, cmd_status, cmd_sync

    parser = app_parser()
    # Every command also takes --profile after its name.
    profiled = argparse.ArgumentParser(add_help=False)
    profiled.add_argument("--profile", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = commands.add_parser(
        "sandbox",
        help="run local emulators of Salesforce and BigTime in the foreground",
        description="Runs local emulators of Salesforce and BigTime on 127.0.0.1 until Ctrl-C or SIGTERM. "
        "Prints one JSON line with their URLs, the console URL and the demo credentials.",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help="Salesforce on port N, BigTime on N+1 (default: two free ports)",
    )
    sandbox.add_argument(
        "--state", metavar="FILE", help="keep the sandbox's data in FILE across restarts (default: in memory only)"
    )
    sandbox.add_argument(
        "--clock",
        metavar="ISO",
        help="pin the sandbox world's start instant, e.g. 2026-03-14T09:00:00Z (the seed is then the "
        "same on any day; default: real time)",
    )
    sandbox.set_defaults(func=cmd_sandbox)

    connect = commands.add_parser(
        "connect",
        help="sign in to Salesforce or BigTime and keep the grant in the keyring",
        description="Sign in to Salesforce or BigTime. Tokens go to the system keyring only.",
    )
    systems = connect.add_subparsers(dest="system", metavar="SYSTEM", required=True)
    sf = systems.add_parser(
        "salesforce",
        parents=[profiled],
        help="OAuth 2.0 with PKCE in your browser",
        description="Opens Salesforce's sign-in page in your browser (or prints it with --no-browser) "
        "and waits for the redirect on this computer (RFC 8252 loopback).",
    )
    sf.add_argument(
        "--login-url",
        metavar="URL",
        help="https://login.salesforce.com (default), https://test.salesforce.com, or your My Domain URL",
    )
    sf.add_argument("--client-id", metavar="ID", help="the Consumer Key of your External Client App (remembered)")
    sf.add_argument(
        "--redirect-uri", metavar="URI", help=f"the callback URL registered in the app (default {oauth_defaults()[0]})"
    )
    sf.add_argument("--no-browser", action="store_true", help="print the sign-in URL instead of opening a browser")
    sf.add_argument(
        "--timeout", type=float, default=300.0, metavar="SECONDS", help="how long to wait for the sign-in (default 300)"
    )
    sf.set_defaults(func=cmd_connect_salesforce)

    btp = systems.add_parser(
        "bigtime",
        parents=[profiled],
        help="OAuth in your browser, or a firm API key",
        description="Connect BigTime with its OAuth client app (client id + secret) or with a firm API key.",
    )
    btp.add_argument(
        "--base-url", metavar="URL", help="the API base (default https://iq.bigtime.net/BigtimeData/api/v2)"
    )
    mode = btp.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--client-id", metavar="ID", help="OAuth: the client id of your BigTime client app (needs --firm)"
    )
    mode.add_argument(
        "--api-key-stdin", action="store_true", help="API key: read the key from standard input (needs --firm)"
    )
    btp.add_argument(
        "--client-secret-stdin", action="store_true", help="OAuth: read the client secret from standard input"
    )
    btp.add_argument(
        "--firm", metavar="ID", help="your firm id (BigTime: My Company › Company Info); needed by both ways"
    )
    btp.add_argument(
        "--redirect-uri",
        metavar="URI",
        help=f"OAuth: the redirect URI registered in BigTime (default {oauth_defaults()[1]})",
    )
    btp.add_argument(
        "--no-browser", action="store_true", help="OAuth: print the sign-in URL instead of opening a browser"
    )
    btp.add_argument(
        "--timeout", type=float, default=300.0, metavar="SECONDS", help="OAuth: how long to wait (default 300)"
    )
    btp.set_defaults(func=cmd_connect_bigtime)

    disconnect = commands.add_parser(
        "disconnect", parents=[profiled], help="forget (and revoke where possible) a system's tokens"
    )
    disconnect.add_argument("system", choices=("salesforce", "bigtime"))
    disconnect.set_defaults(func=cmd_disconnect)

    stages = commands.add_parser("stages", parents=[profiled], help="list the org's opportunity stages")
    stages.add_argument("--json", action="store_true", help="one JSON array for scripts")
    stages.set_defaults(func=cmd_stages)

    configure = commands.add_parser(
        "configure",
        parents=[profiled],
        help="choose the trigger stage, the interval and the budget",
        description="Opportunities that reach (or pass) the trigger stage become BigTime projects. "
        "Those already past it at the first setup (or when the stage changes) are "
        "left alone unless --backfill. The interval, write-back interval and API "
        "budget change alone, without touching what is already past.",
    )
    configure.add_argument("--trigger-stage", metavar="API_NAME", help="the stage's API name (see `stages`)")
    configure.add_argument(
        "--interval",
        type=interval_arg,
        metavar="SECONDS|auto",
        help="seconds between cycles (at least 60); auto (the default): as often as the API budget "
        "allows all day, at most every 30 s (see `status`)",
    )
    configure.add_argument(
        "--writeback-interval",
        type=int,
        metavar="SECONDS",
        help="seconds between write-backs of BigTime's figures (default 900, at least 60)",
    )
    configure.add_argument(
        "--api-budget-percent",
        type=float,
        metavar="P",
        help="share of the org's daily Salesforce API allowance the sync may use (default 5)",
    )
    configure.add_argument(
        "--backfill", action="store_true", help="also create projects for opportunities already past the stage"
    )
    configure.add_argument(
        "--create-fields",
        action="store_true",
        help="create the Salesforce fields BigSync writes to that the org lacks (and the invoice "
        "object), with a permission set giving the connected user access; lists them and asks "
        "first (needs Customize Application)",
    )
    configure.add_argument(
        "--default-client",
        metavar="ID|CODE|NAME|none",
        help="the BigTime client for projects of opportunities without an account; none (the "
        "default): refuse and report them",
    )
    configure.add_argument("--yes", action="store_true", help="with --create-fields: do not ask (scripts)")
    configure.set_defaults(func=cmd_configure)

    sync = commands.add_parser("sync", parents=[profiled], help="run one sync cycle and exit")
    sync.add_argument("--once", action="store_true", required=True, help="one cycle, then exit (non-zero if it failed)")
    sync.add_argument(
        "--full", action="store_true", help="read every opportunity at or past the stage, not only changes"
    )
    sync.add_argument(
        "--writeback",
        "--all",
        dest="writeback",
        action="store_true",
        help="then the write-back too: BigTime's figures into Salesforce, whatever its timer",
    )
    sync.add_argument("--json", action="store_true", help="print the cycle's report as JSON")
    sync.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait if another copy is syncing (default 60)",
    )
    sync.set_defaults(func=cmd_sync)

    run = commands.add_parser(
        "run",
        parents=[profiled],
        help="sync without a GUI (servers, services)",
        description="Sync until Ctrl-C or SIGTERM, without a GUI. With Change Data Capture on for Opportunity in "
        'Salesforce, a win wakes the sync at once (it prints "Triggers: Instant"); otherwise, or while '
        'the change stream is down, it checks on the interval ("Triggers: Checks every 7 min", with '
        "the reason). Each change of mode is printed and kept in Activity.",
    )
    # The tray's own way to run the loop: events on stdout, commands on stdin (core/loop_events.py).
    run.add_argument("--events", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--paused", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)

    status = commands.add_parser("status", parents=[profiled], help="last cycles, links, what needs attention")
    status.add_argument("--json", action="store_true", help="one JSON object for scripts")
    status.set_defaults(func=cmd_status)

    doctor = commands.add_parser(
        "doctor",
        parents=[profiled],
        help="check every API assumption against the connected services (reads only)",
        description="Reads from Salesforce and BigTime (never writes) and says, for each thing BigSync "
        "assumes about them, whether it is confirmed, different, or not checked yet. Writes a "
        "report without secrets, ids or values to the profile's data folder, to send to support. "
        "Exit 6 when something needed differs.",
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object for scripts (the report's contents)")
    doctor.set_defaults(func=cmd_doctor)
    return parser


def oauth_defaults() -> tuple[str, str]:
    from .connectors.redirects import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI

    return SALESFORCE_DEFAULT_REDIRECT_URI, BIGTIME_DEFAULT_REDIRECT_URI


def cmd_stages(args: argparse.Namespace) -> int:
    def body() -> int:
        stages = connector_for(args).salesforce().stages()
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "api_name": s.api_name,
                            "label": s.label,
                            "sort_order": s.sort_order,
                            "is_active": s.is_active,
                            "is_closed": s.is_closed,
                            "is_won": s.is_won,
                            "is_closed_lost": s.is_closed_lost,
                            "probability": s.probability,
                        }
                        for s in stages
                    ],
                    indent=2,
                )
            )
            return EXIT_OK
        width = max((len(s.label) for s in stages), default=10)
        for s in stages:
            flags = "closed-lost (never triggers)" if s.is_closed_lost else "won" if s.is_won else ""
            flags = (flags + ("; inactive" if not s.is_active else "")).strip("; ")
            api_name = s.api_name if s.api_name != s.label else ""
            print(f"{s.sort_order:>3}  {s.label:<{width}}  {api_name:<{width}}  {flags}".rstrip())
        return EXIT_OK

    return run_guarded(body)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox
    from .sandbox.world import parse_instant

    if not 0 <= args.port <= 65534:
        print(f"{APP_NAME}: --port must be between 0 and 65534", file=sys.stderr)
        return EXIT_USAGE
    try:
        clock = parse_instant(args.clock) if args.clock else None
    except ValueError as exc:
        print(f"{APP_NAME}: --clock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sandbox = Sandbox(port=args.port, state_file=args.state, clock=clock).start()
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


def interval_arg(text: str) -> int:
    """--interval: whole seconds, or "auto" (0: derived from the budget, core.cadence)."""
    if text.strip().lower() == "auto":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of seconds nor 'auto'") from None


def cmd_doctor(args: argparse.Namespace) -> int:
    from .core.doctor import NOT_CHECKED, run_doctor, write_report

    def body() -> int:
        connector = connector_for(args)
        report = run_doctor(connector)
        path = write_report(connector.profile, report)
        if args.json:
            print(json.dumps({**report.to_json(), "report_file": str(path)}))
        else:
            marks = {"confirmed": "ok", "different": "DIFFERS", NOT_CHECKED: "--"}
            said: set[str] = set()  # a service's stopping reason once, not under each of its checks
            for check in report.checks:
                mark = marks[check.status] if not check.blocking else "NEEDED"
                print(f"{mark:<8} {check.system:<10} {check.title}")
                if check.seen and check.status != "confirmed":
                    print(f"{'':<19} seen: {', '.join(check.seen)}")
                if check.note and check.note not in said:
                    print(f"{'':<19} {check.note}")
                    if check.note in report.stopped_why.values():
                        said.add(check.note)
            print(report.summary())
            print(f"Report for support (no secrets, ids or values): {path}")
        if report.stopped:  # stopped by a missing connection (3) or a transient failure (4): the first wins
            from .core.problems import problem_of

            return min(problem_of(code, system).exit_code for system, code in report.stopped.items())
        return EXIT_DOCTOR_DIFFERS if report.blocking else EXIT_OK

    return run_guarded(body)


def preload_before_qt() -> None:
    """Import what the tray needs that is not Qt before PySide6: once PySide6 is loaded, its import
    hook (shibokensupport.feature) reads the whole source of every module imported after it, which
    was a fifth of the time to "tray ready" (benchmarks/tray_startup.py, docs/benchmarks.md)."""
    import importlib

    for name in (
        "socket",  # gui.quit_signals' wake-up pair
        "tempfile",
        "importlib.resources",
        "importlib.readers",  # what importlib.resources loads on its first look-up (assets.resource)
        "bigsync_gui.assets",
        "bigsync_gui.core.logs",
        "bigsync_gui.core.profile",
        "bigsync_gui.core.settings",
        "bigsync_gui.connectors.wording",
        "bigsync_gui.gui.autostart",
        "bigsync_gui.gui.state",
        "bigsync_gui.core.loop_events",  # the sync process's events, read once the icon shows
    ):
        importlib.import_module(name)


def main(argv: Sequence[str] | None = None) -> int:
    if os.environ.get("BIGSYNC_WEBENGINE_PROBE") == "1":  # the sign-in browser's check (gui/webengine_check.py)
        from .gui.webengine_check import probe_main

        return probe_main()
    given = sys.argv[1:] if argv is None else list(argv)
    options = app_options(given)
    if options is not None:
        args = argparse.Namespace(command=None, profile=options[0], sandbox=options[1])
    else:
        args = build_parser().parse_args(given)
    if args.command == "sandbox" and getattr(args, "profile", None):
        return fail("the sandbox has no profile; --profile is for the app's commands.", EXIT_USAGE)
    if args.command is None:  # the desktop app: the wizard if not set up, else the sync
        preload_before_qt()
        from .gui.app import run as run_gui

        return run_gui(args.profile, args.sandbox)
    if args.sandbox:
        return fail("--sandbox opens the desktop app; it does not combine with a command.", EXIT_USAGE)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
