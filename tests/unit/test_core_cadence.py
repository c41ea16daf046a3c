"""How often the trigger cycle runs (core/cadence.py, issue 12.6): the admin's interval when set,
else derived from the org's daily allowance and the budget share, never below 30 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bigsync_gui.core import cadence
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import FORMAT, Settings
from bigsync_gui.core.store import Store


def test_a_large_org_gets_the_floor_and_a_small_one_stays_within_its_budget() -> None:
    assert cadence.derived_seconds(100_000, 5.0, 900) == cadence.FLOOR_SECONDS
    small = cadence.derived_seconds(15_000, 5.0, 900)
    assert cadence.FLOOR_SECONDS < small < 3_600
    # a day of idle cycles and fixed costs stays inside 5% of 15,000, the work share to spare
    budget, fixed = 15_000 * 0.05, cadence.fixed_daily_requests(900)
    day = cadence.DAY_SECONDS / small + fixed
    assert budget - day >= cadence.WORK_SHARE * (budget - fixed) - 1


def test_a_budget_too_small_for_the_fixed_costs_checks_hourly() -> None:
    assert cadence.derived_seconds(1_000, 5.0, 900) == cadence.CEILING_SECONDS


def test_the_admins_interval_wins_and_the_default_waits_for_the_allowance() -> None:
    settings = Settings()
    assert cadence.trigger_interval(settings, None) == cadence.TriggerInterval(300, "default")
    assert cadence.trigger_interval(settings, 100_000).seconds == 30
    settings.sync.interval_seconds, settings.sync.interval_explicit = 600, True
    assert cadence.trigger_interval(settings, 100_000) == cadence.TriggerInterval(600, "set", 100_000)


@pytest.mark.parametrize("saved, explicit", [(300, False), (600, True), (60, True)])
def test_a_settings_file_from_before_reads_the_old_default_as_automatic(
    tmp_path: Path, saved: int, explicit: bool
) -> None:
    profile = Profile.at(tmp_path)
    profile.ensure_dirs()
    profile.settings_file.write_text(json.dumps({"format": FORMAT, "sync": {"interval_seconds": saved}}))
    assert Settings.load(profile).sync.interval_explicit is explicit


def test_the_effective_interval_reads_the_learnt_allowance_from_the_state_database(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path)
    profile.ensure_dirs()
    assert cadence.effective_interval(profile, Settings()).source == "default"
    store = Store(profile.data_dir / "state.db")
    with store.transaction():
        store.set_meta(cadence.DAILY_MAX_KEY, 100_000)
    store.close()
    found = cadence.effective_interval(profile, Settings())
    assert (found.seconds, found.source, found.daily_max) == (30, "derived", 100_000)
    assert "automatic" in found.describe()


def test_status_shows_the_effective_interval(tmp_path: Path) -> None:
    from bigsync_gui.core.status import status_snapshot

    profile = Profile.at(tmp_path)
    settings = Settings()
    settings.sync.interval_seconds, settings.sync.interval_explicit = 900, True
    settings.save(profile)
    assert status_snapshot(profile)["interval"] == {
        "seconds": 900,
        "source": "set",
        "daily_max": None,
        "text": "every 15 min (set by the admin)",
    }
