"""The CLI's cycle commands and their reports: ``sync`` (one cycle), ``run`` (the loop, or its events
for the desktop app) and ``status`` (the last cycles), in the words they share. Imported when the
parser is built, not on the tray's start (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import APP_NAME
from .cli_support import connector_for, engine_for, run_guarded
from .connectors.wording import plural
from .core.problems import EXIT_OK, cycle_outcome


def cycle_counts(counts: dict[str, Any]) -> str:
    """What a cycle did, in the words `sync --once` and `status` share: "9 created, 1 opportunity
    written", or "nothing to do"."""
    parts = [f"{counts[key]} {key}" for key in ("created", "linked", "severed", "restored") if counts.get(key)]
    if counts.get("written"):
        parts.append(plural(counts["written"], "opportunity", "opportunities") + " written")
    if counts.get("rejected"):
        parts.append(f"{counts['rejected']} rejected")
    return ", ".join(parts) or "nothing to do"


def print_report(report: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json()))
        return
    summary = cycle_counts(report.to_json())
    outcome = cycle_outcome(report.result, report.error, report.system).lower()
    print(
        f"{report.kind.capitalize()} cycle {report.cycle_id}: {outcome} — {summary} "
        f"({report.salesforce_requests} Salesforce, {report.bigtime_requests} BigTime requests)."
        + (f" {report.message}" if report.message else ""),
        flush=True,
    )


def cmd_sync(args: argparse.Namespace) -> int:
    def body() -> int:
        engine = engine_for(args)
        report = engine.run_cycle(full=args.full, wait_for_lock=args.wait)
        print_report(report, args.json)
        if report.result != "failed" and args.writeback:
            report = engine.run_writeback_cycle(wait_for_lock=args.wait)
            print_report(report, args.json)
        if report.result == "failed":
            print(f"{APP_NAME}: {report.message}", file=sys.stderr)
            return report.problem().exit_code
        return EXIT_OK

    return run_guarded(body)


def cmd_run(args: argparse.Namespace) -> int:
    if args.events:
        from .core.loop_service import serve

        events, sys.stdout = sys.stdout, sys.stderr  # only events on stdout: any other print goes to stderr
        return serve(lambda: engine_for(args), sys.stdin, events, paused=args.paused)
    from .core import streaming, trigger_timing
    from .core.loop import QuietObserver, run_forever

    class Printing(QuietObserver):
        """`run` prints each cycle's report, and to stderr what kept a round from starting."""

        def on_report(self, report: Any) -> None:
            print_report(report, False)

        def on_error(self, exc: Exception) -> None:
            print(f"{APP_NAME}: {exc}", file=sys.stderr, flush=True)

    def body() -> int:
        engine = engine_for(args)
        stream = streaming.optional_for(engine)
        if stream is not None:

            def said(up: bool, reason: str) -> None:
                timing = trigger_timing.TriggerTiming(up, engine.trigger_interval(), reason)
                print(f"Triggers: {timing.words}" + (f" ({reason})" if reason else ""), flush=True)

            stream.on_mode = said
        return run_forever(engine, Printing(), stream=stream)

    return run_guarded(body)


def cmd_status(args: argparse.Namespace) -> int:
    from .core.status import local_clock, status_snapshot

    def body() -> int:
        snapshot = status_snapshot(connector_for(args).profile)
        if args.json:
            print(json.dumps(snapshot))
        else:
            print(snapshot["summary"])
            if snapshot.get("triggers"):
                print(f"  Triggers: {snapshot['triggers']['text']} ({snapshot['triggers']['detail']}).")
            for cycle in snapshot["cycles"][:5]:
                outcome = cycle_outcome(cycle["result"], cycle["error_code"], cycle["error_system"]).lower()
                print(
                    f"  {local_clock(cycle['started_at'])}  {outcome:<13} {cycle['kind'].capitalize()}: "
                    f"{cycle_counts(cycle)}." + (f" {cycle['message']}" if cycle["message"] else "")
                )
            for item in snapshot["attention"]:
                print(f"  ! {item}")
        return EXIT_OK

    return run_guarded(body)
