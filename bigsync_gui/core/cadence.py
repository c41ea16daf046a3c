"""How often the trigger cycle runs: the admin's interval when one was set, else the shortest one
the org's Salesforce API budget pays for all day long (issue 12.6; docs/sync.md, "How often").

The budget is ``api_budget_percent`` of the org's daily allowance (learnt from
``Sforce-Limit-Info``; the engine keeps the last maximum seen). Out of it come first the requests
that do not depend on the interval — each write-back run's describes and contact-role poll (getUpdated), the
trigger cycle's metadata refresh every 15 minutes, token refreshes — then a share kept for real
work (creates write project ids back; a changed opportunity is re-read). What remains pays for the
idle trigger cycles, one request each: ``86 400 s ÷ that`` is the interval, never below
``FLOOR_SECONDS`` nor above ``CEILING_SECONDS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .profile import Profile
from .settings import Settings
from .store import Store

DAY_SECONDS = 86_400
FLOOR_SECONDS = 30
CEILING_SECONDS = 3_600
UNKNOWN_MAX_SECONDS = 300  # before the first cycle has learnt the org's allowance
WRITEBACK_REQUESTS = 3  # per idle write-back run: 2 describes (Opportunity, invoice rows) + 1 getUpdated of roles
METADATA_REQUESTS = 2  # stages + Opportunity describe, every METADATA_EVERY seconds
METADATA_EVERY = 900
TOKEN_REFRESHES = 24  # a day's access-token refreshes, generously (Salesforce sessions last ≥ 2 h by default)
WORK_SHARE = 0.2  # of what remains, kept for the work changes bring
DAILY_MAX_KEY = "salesforce_daily_max"  # where the engine keeps the org's allowance (the state database)


@dataclass(frozen=True)
class TriggerInterval:
    seconds: int
    source: str  # "set" (the admin's), "derived" (from the org's allowance) or "default" (allowance not known yet)
    daily_max: int | None = None

    def describe(self) -> str:
        every = f"every {self.seconds} s" if self.seconds < 120 else f"every {self.seconds // 60} min"
        if self.source == "set":
            return f"{every} (set by the admin)"
        if self.source == "derived":
            return f"{every} (automatic: fits the budget of an org allowing {self.daily_max:,} requests a day)"
        return f"{every} (automatic; faster once the org's daily allowance is known after the first sync)"


def fixed_daily_requests(writeback_interval: float) -> float:
    """Salesforce requests a day that do not depend on the trigger interval."""
    return (
        DAY_SECONDS / max(60.0, writeback_interval) * WRITEBACK_REQUESTS
        + DAY_SECONDS / METADATA_EVERY * METADATA_REQUESTS
        + TOKEN_REFRESHES
    )


def derived_seconds(daily_max: int, budget_percent: float, writeback_interval: float) -> int:
    """The shortest trigger interval the budget pays for (see the module docstring)."""
    budget = daily_max * budget_percent / 100
    for_cycles = (budget - fixed_daily_requests(writeback_interval)) * (1 - WORK_SHARE)
    if for_cycles <= DAY_SECONDS / CEILING_SECONDS:
        return CEILING_SECONDS
    return min(CEILING_SECONDS, max(FLOOR_SECONDS, math.ceil(DAY_SECONDS / for_cycles)))


def trigger_interval(settings: Settings, daily_max: int | None) -> TriggerInterval:
    sync = settings.sync
    if sync.interval_explicit:
        return TriggerInterval(sync.interval_seconds, "set", daily_max)
    if not daily_max:
        return TriggerInterval(UNKNOWN_MAX_SECONDS, "default")
    return TriggerInterval(
        derived_seconds(daily_max, sync.api_budget_percent, sync.writeback_interval_seconds), "derived", daily_max
    )


def stored_daily_max(store: Store) -> int | None:
    value = store.get_meta(DAILY_MAX_KEY)
    return value if isinstance(value, int) else None


def remember_daily_max(profile: Profile, daily_max: int) -> None:
    """Keep the org's allowance a connect or set-up saw (``Sforce-Limit-Info``), so the interval said
    before the first sync — the wizard, `status` — is the one the loop will use."""
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            store.set_meta(DAILY_MAX_KEY, daily_max)
    finally:
        store.close()


def known_daily_max(profile: Profile) -> int | None:
    """The org's daily API allowance as last seen (connecting, or a cycle), from the state database."""
    db = profile.data_dir / "state.db"
    if not db.exists():
        return None
    store = Store(db)
    try:
        return stored_daily_max(store)
    finally:
        store.close()


def effective_interval(profile: Profile, settings: Settings | None = None) -> TriggerInterval:
    """The interval the loop uses now, from settings and the state database only (no network): what
    `status` and the GUI's Settings show."""
    return trigger_interval(settings or Settings.load(profile), known_daily_max(profile))
