"""One vocabulary: the services' names (connectors/systems.py), durations in words and the one
timestamp reader (connectors/wording.py, connectors/timestamps.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bigsync_gui.connectors.systems import System, label_of
from bigsync_gui.connectors.timestamps import parse_timestamp, timestamp_or_none
from bigsync_gui.connectors.wording import duration


def test_a_system_is_its_value_for_code_and_its_label_for_people() -> None:
    assert System.SALESFORCE == "salesforce" and json.dumps([System.BIGTIME]) == '["bigtime"]'
    assert [s.label for s in System] == ["Salesforce", "BigTime"]
    assert label_of("bigtime") == "BigTime" and label_of("salesforce") == "Salesforce"
    assert label_of(None) == "A service" and label_of("jira", unknown="the service") == "the service"


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "1 s"),
        (0.3, "1 s"),
        (37.2, "38 s"),
        (59, "59 s"),
        (59.4, "1 min"),
        (60, "1 min"),
        (90, "2 min"),
        (300, "5 min"),
        (150, "2 min"),
        (3599, "1 h"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (26 * 3600 + 60, "26 h 1 min"),
    ],
)
def test_one_wording_for_durations(seconds: float, words: str) -> None:
    assert duration(seconds) == words


UTC = timezone.utc


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-26T10:00:00.000+0000", datetime(2026, 11, 26, 10, tzinfo=UTC)),  # Salesforce's
        ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, tzinfo=UTC)),
        ("2026-11-26T10:00:00.123+00:00", datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)),  # ours
        ("2026-11-26T10:00:00", datetime(2026, 11, 26, 10, tzinfo=UTC)),  # no offset: UTC
        (" 2026-11-26T12:00:00+0200 ", datetime(2026, 11, 26, 12, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_one_reader_for_every_timestamp_we_meet(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()
    assert timestamp_or_none(text) == expected


@pytest.mark.parametrize("value", [None, "", "soon", 1700000000, "2026-13-01T00:00:00Z"])
def test_a_missing_or_malformed_stamp_is_an_error_or_none(value: object) -> None:
    assert timestamp_or_none(value) is None
    if isinstance(value, str):
        with pytest.raises(ValueError):
            parse_timestamp(value)
