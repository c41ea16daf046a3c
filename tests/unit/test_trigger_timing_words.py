"""The words `status` and Settings give for how triggers arrive read as one sentence: no parentheses
inside the parentheses `status` puts them in ("Triggers: Instant (a win … (Salesforce's …); …)")."""

from __future__ import annotations

from bigsync_gui.core.cadence import TriggerInterval
from bigsync_gui.core.trigger_timing import TriggerTiming


def test_the_instant_detail_has_no_parentheses_of_its_own() -> None:
    detail = TriggerTiming(True, TriggerInterval(440, "derived", 15000)).detail
    assert "(" not in detail and ")" not in detail
    assert detail == (
        "a win becomes a project within seconds, through Salesforce's Change Data Capture stream; "
        "a full check still runs every 30–60 min"
    )


def test_the_polling_detail_says_why_instant_is_off() -> None:
    detail = TriggerTiming(False, TriggerInterval(440, "derived", 15000), "the org's stream is off").detail
    assert detail.endswith("; instant triggers are off: the org's stream is off")
