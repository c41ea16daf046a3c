"""The CLI's ``configure``: the trigger stage and the sync's settings, and its two modes that go alone,
``--create-fields`` (the fields the org lacks) and ``--default-client``. Imported when the parser is
built, not on the tray's start (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import sys

from .cli_support import connector_for, engine_for, fail, run_guarded
from .core.problems import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def cmd_create_fields(args: argparse.Namespace) -> int:
    """configure --create-fields: list what the org lacks, ask, create, say what happened."""
    from .core.field_setup import HAND_MADE, CannotCreateFields, create_fields, plan_fields

    def body() -> int:
        connector = connector_for(args)
        sf = connector.salesforce()
        field_map = connector.settings().sync.field_map
        plan = plan_fields(sf, field_map)
        if plan.empty:
            print("Nothing to create: the org has every field BigSync writes to.")
            return EXIT_OK
        print("The org lacks these (BigSync skips them until they exist):")
        for line in plan.lines():
            print(f"  • {line}")
        if plan.may_create is False:
            return fail(
                "The connected Salesforce user lacks the Customize Application permission, which creating "
                f"fields needs. Sign in with an administrator, or ask one. {HAND_MADE}",
                EXIT_FAILED,
            )
        if not args.yes:
            if not sys.stdin.isatty():
                return fail("add --yes to create them without being asked.", EXIT_USAGE)
            if input(
                "Create them, with a permission set that lets the connected user read and edit them? [y/N] "
            ).strip().lower() not in ("y", "yes"):
                print("Nothing was created.")
                return EXIT_OK
        try:
            result = create_fields(sf, plan, field_map, progress=lambda text: print(text, flush=True))
        except CannotCreateFields as exc:
            return fail(str(exc), EXIT_FAILED)
        print(result.summary())
        return EXIT_OK if result.ok else EXIT_FAILED

    return run_guarded(body)


def cmd_default_client(args: argparse.Namespace) -> int:
    from .core import default_client

    def body() -> int:
        connector = connector_for(args)
        choice = default_client.resolve(connector, args.default_client)
        default_client.choose(connector, choice.id if choice else None)
        print(default_client.describe(choice))
        return EXIT_OK

    return run_guarded(body)


def _sync_settings_given(args: argparse.Namespace) -> bool:
    """Any of the stage and schedule options, which --default-client and --create-fields do not go with."""
    return bool(
        args.trigger_stage
        or args.interval is not None
        or args.writeback_interval is not None
        or args.api_budget_percent is not None
        or args.backfill
    )


def cmd_configure(args: argparse.Namespace) -> int:
    if args.default_client is not None:
        if _sync_settings_given(args) or args.create_fields:
            return fail("--default-client goes alone; run configure again for the other settings.", EXIT_USAGE)
        return cmd_default_client(args)
    if args.create_fields:
        if _sync_settings_given(args):
            return fail("--create-fields goes alone; run configure again for the other settings.", EXIT_USAGE)
        return cmd_create_fields(args)
    automatic = args.interval == 0
    if automatic and args.trigger_stage:
        args.interval = None  # saved by update_settings below, not by configure
    settings_only = args.writeback_interval is not None or args.api_budget_percent is not None or automatic
    if not args.trigger_stage and (args.backfill or not (settings_only or args.interval is not None)):
        return fail(
            "configure needs --trigger-stage API_NAME, or a setting to change (--interval, "
            "--writeback-interval, --api-budget-percent).",
            EXIT_USAGE,
        )

    def body() -> int:
        engine = engine_for(args)
        if not args.trigger_stage:
            sync = engine.update_settings(
                interval_seconds=args.interval,
                writeback_interval_seconds=args.writeback_interval,
                api_budget_percent=args.api_budget_percent,
            ).sync
            print(
                f"Saved: a cycle {engine.trigger_interval().describe()}, "
                f"write-back every {sync.writeback_interval_seconds} s, "
                f"at most {sync.api_budget_percent:g}% of the org's daily API allowance."
            )
            return EXIT_OK
        before = engine.connector.settings().sync
        same = before.configured and before.trigger_stage == args.trigger_stage and not args.backfill
        if settings_only:
            engine.update_settings(
                writeback_interval_seconds=args.writeback_interval,
                api_budget_percent=args.api_budget_percent,
                interval_seconds=0 if automatic else None,
            )
        stage, already = engine.configure(args.trigger_stage, interval_seconds=args.interval, backfill=args.backfill)
        if same:
            print(
                f"The trigger stage is still {stage.label!r}; settings saved. What was already past it is unchanged "
                f"({already} left alone)."
            )
            return EXIT_OK
        print(
            f"Opportunities that reach {stage.label!r} (or a later stage that is not closed-lost) "
            "will become BigTime projects."
        )
        if already:
            print(
                f"{already} opportunit{'y is' if already == 1 else 'ies are'} already past it: "
                + (
                    "projects will be created for them in the next cycle."
                    if args.backfill
                    else "left alone (use --backfill to create projects for them too)."
                )
            )
        return EXIT_OK

    return run_guarded(body)
