"""How triggers arrive, computed once and worded once for every place that says it — the wizard's
Summary and Done pages, Settings, the tray's tooltip, `status` and `status --json`: **"Instant"**
while the change stream is up, else **"Checks every N min"** from the effective interval
(core/cadence.py). docs/sync.md, "How often" and "Instant triggers".

The loop records each change of mode in the state database (metadata ``trigger_mode``) and in
Activity; everything else reads it from there, with no network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..connectors.wording import duration
from .cadence import TriggerInterval, effective_interval, stored_daily_max, trigger_interval
from .profile import Profile
from .settings import Settings
from .store import Store

MODE_KEY = "trigger_mode"  # {"instant": bool, "reason": str, "since": ISO time}
INSTANT = "Instant"


@dataclass(frozen=True)
class TriggerTiming:
    instant: bool
    interval: TriggerInterval
    reason: str = ""  # why triggers are not instant ("" when they are, or streaming was never tried)

    @property
    def words(self) -> str:
        """The short form every place shows: "Instant" or "Checks every 7 min"."""
        return INSTANT if self.instant else f"Checks every {duration(self.interval.seconds)}"

    @property
    def detail(self) -> str:
        """One sentence more, for where there is room (Settings, `status`)."""
        if self.instant:
            return (
                "a win becomes a project within seconds, through Salesforce's Change Data Capture stream; "
                "a full check still runs every 30–60 min"
            )
        why = f"; instant triggers are off: {self.reason}" if self.reason else ""
        text = self.interval.describe()  # "every 7 min (automatic: …)": the words say the first half
        return (text.split(" (", 1)[1].rstrip(")") if " (" in text else text) + why

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": "instant" if self.instant else "polling",
            "text": self.words,
            "reason": self.reason,
            "interval": {
                "seconds": self.interval.seconds,
                "source": self.interval.source,
                "daily_max": self.interval.daily_max,
                "text": self.interval.describe(),
            },
        }


def read_mode(store: Store) -> tuple[bool, str]:
    value = store.get_meta(MODE_KEY)
    if not isinstance(value, dict):
        return False, ""
    return bool(value.get("instant")), str(value.get("reason") or "")


def of_store(store: Store, settings: Settings) -> TriggerTiming:
    instant, reason = read_mode(store)
    return TriggerTiming(instant, trigger_interval(settings, stored_daily_max(store)), reason)


def timing(profile: Profile, settings: Settings | None = None) -> TriggerTiming:
    """The words for this profile now, from settings and the state database only (before the
    first Save too: then the default interval, not instant)."""
    settings = settings or Settings.load(profile)
    db = profile.data_dir / "state.db"
    if not db.exists():
        return TriggerTiming(False, effective_interval(profile, settings))
    store = Store(db)
    try:
        return of_store(store, settings)
    finally:
        store.close()


def planned(settings: Settings, daily_max: int | None, interval_seconds: int | None = None) -> TriggerTiming:
    """Before Save (the wizard's Summary and Done pages): the words for a choice not saved yet —
    ``interval_seconds`` (0: automatic) over the saved settings, with the allowance the set-up's
    reads saw. Never "Instant": the stream connects once the sync runs."""
    chosen = copy.deepcopy(settings)
    if interval_seconds == 0:
        chosen.sync.interval_explicit = False
    elif interval_seconds is not None:
        chosen.sync.interval_seconds, chosen.sync.interval_explicit = interval_seconds, True
    return TriggerTiming(False, trigger_interval(chosen, daily_max))


def record_mode(store: Store, instant: bool, reason: str, interval: TriggerInterval) -> bool:
    """Keep the mode the loop is in; a change is said in Activity. True when it changed."""
    was_instant, was_reason = read_mode(store)
    known = store.get_meta(MODE_KEY) is not None
    if known and was_instant == instant and (instant or was_reason == reason):
        return False
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    words = TriggerTiming(instant, interval, reason).words
    message = (
        f"Triggers: {words} — Salesforce's change stream is connected."
        if instant
        else f"Triggers: {words}" + (f" — {reason[0].upper() + reason[1:]}." if reason else ".")
    )
    with store.transaction():
        store.set_meta(MODE_KEY, {"instant": instant, "reason": reason, "since": now})
        store.event(None, "mode", message)
    return True
