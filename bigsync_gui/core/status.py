"""What `status` (and later the tray's status line) shows: read from settings and the state
database only — no network, no Qt — so it answers at once even while a cycle runs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import plural
from . import trigger_timing
from .figure_sources import sources_summary
from .errors import ConfigInvalid
from .profile import Profile
from .settings import Settings
from .problems import cycle_outcome
from .store import Store
from .where_to_act import for_surface


def local_clock(iso: str) -> str:
    """A stored UTC instant as people read it: this computer's local time, to the minute (the JSON
    keeps the instant itself)."""
    try:
        return parse_timestamp(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def status_snapshot(profile: Profile) -> dict[str, Any]:
    attention: list[str] = []
    try:
        settings = Settings.load(profile)
    except ConfigInvalid as exc:
        return {
            "configured": False,
            "summary": exc.message,
            "attention": [exc.message],
            "cycles": [],
            "links": {},
            "pending": 0,
            "rejected": [],
        }
    if not settings.salesforce.connected:
        attention.append("Salesforce is not connected (bigsync-gui connect salesforce).")
    if not settings.bigtime.connected:
        attention.append("BigTime is not connected (bigsync-gui connect bigtime).")
    if not settings.sync.configured:
        attention.append("No trigger stage is set (bigsync-gui configure --trigger-stage API_NAME).")

    db = profile.data_dir / "state.db"
    cycles: list[dict[str, Any]] = []
    links: dict[str, int] = {}
    pending = 0
    rejected: list[dict[str, Any]] = []
    figure_sources: dict[str, dict[str, int]] = {}
    if db.exists():
        store = Store(db)
        try:
            cycles = [asdict(c) for c in store.cycles(10)]
            links = store.count_links()
            pending = len(store.intents("pending"))
            rejected = [
                {"opportunity_id": i.opportunity_id, "reason": for_surface(i.reason, "cli")}
                for i in store.intents("failed")
            ]
            figure_sources = sources_summary(store.all_written())
        finally:
            store.close()
    last = next((c for c in cycles if c["result"] != "running"), None)
    if last and last["result"] == "failed":
        attention.append(last["message"])
    if rejected:
        attention.append(
            f"{len(rejected)} opportunit{'y was' if len(rejected) == 1 else 'ies were'} refused "
            "(see `status --json` or the Activity window for why)."
        )

    if last is None:
        summary = "Not synced yet."
    else:
        summary = (
            f"Last sync {local_clock(last['ended_at'] or last['started_at'])}: "
            f"{cycle_outcome(last['result'], last['error_code'], last['error_system']).lower()}; "
            f"{plural(links.get('linked', 0), 'linked project')}, {links.get('severed', 0)} severed."
        )
    if settings.sync.configured:
        summary += f" Trigger stage: {settings.sync.trigger_stage_label or settings.sync.trigger_stage}."
    timing = trigger_timing.timing(profile, settings)
    interval = timing.interval
    return {
        "configured": settings.sync.configured,
        "trigger_stage": settings.sync.trigger_stage,
        # seconds between trigger cycles now; source: "set" (the admin's), "derived" or "default"
        "interval": {
            "seconds": interval.seconds,
            "source": interval.source,
            "daily_max": interval.daily_max,
            "text": interval.describe(),
        },
        # how triggers arrive, in the words every place shows: "Instant" or "Checks every N min"
        "triggers": timing.to_json() | {"detail": timing.detail},
        "summary": summary,
        "attention": attention,
        "cycles": cycles,
        "links": links,
        "pending": pending,
        "rejected": rejected,
        # each written figure → {the BigTime source that gave it last (or "none"): opportunities}
        "figure_sources": figure_sources,
    }
