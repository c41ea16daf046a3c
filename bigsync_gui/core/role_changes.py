"""Which contact roles changed since the last write-back run: Salesforce's getUpdated
(``sobjects/OpportunityContactRole/updated/``), then the changed roles by id.

Why getUpdated and not a query by ``SystemModstamp``: a role committed by a long transaction carries
a stamp from before the commit, so a read that starts where the last one ended can miss it. The
documented rule is to start each poll at the previous answer's ``latestDateCovered`` (during a long
transaction, that transaction's start), never at the previous poll's end: this module keeps that
position (cursor ``contact_roles_covered``) and only moves it once the run got through.

getUpdated covers at most 30 days back. After a longer gap (the app stopped for a month) no poll can
cover it, so the roles of every linked opportunity are read instead (a full resync, 200 opportunities
a query) and polling starts again from that read. Salesforce ignores the seconds of a window and
wants its start before its end: within the same minute there is nothing to ask yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors import soql
from ..connectors.salesforce import SalesforceClient, WindowExceeded
from ..connectors.salesforce.wire import UPDATED_WINDOW_DAYS
from ..connectors.timestamps import parse_timestamp
from .store import Store

OBJECT = "OpportunityContactRole"
COVERED_CURSOR = "contact_roles_covered"  # the next poll's start: the last answer's latestDateCovered
OLD_CURSOR = "contact_roles_modstamp"  # before getUpdated: the time of the last complete query
LOOKBACK = timedelta(minutes=5)  # where only a time of reading is known (first poll, after a resync)
FULL_RESYNC_AFTER = timedelta(days=UPDATED_WINDOW_DAYS)
CHUNK = 200  # ids or opportunities per query


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def start_of_next_poll(store: Store, floor: str | None) -> datetime | None:
    """The previous answer's latestDateCovered; else (first poll) the last query's time or the
    setup's read, minus the lookback. None: nothing linked yet, nothing to read."""
    if not store.links("linked"):
        return None
    covered = store.cursor(COVERED_CURSOR)
    if covered:
        return parse_timestamp(covered)
    text = store.cursor(OLD_CURSOR) or floor
    return parse_timestamp(text) - LOOKBACK if text else None


def changed_roles(
    store: Store, sf: SalesforceClient, fields: Sequence[str], start: datetime, now: datetime
) -> tuple[list[dict[str, Any]], str, bool]:
    """The roles changed since ``start`` (``fields`` of each), the position to keep once they are
    done, and whether this was a full resync. ``now``: ours, used only when no Salesforce answer has
    told its time yet (the stamps and the window are by Salesforce's clock)."""
    now = sf.server_time or now
    if now - start > FULL_RESYNC_AFTER:
        return _all_roles(store, sf, fields), _iso(now - LOOKBACK), True
    end = now.replace(second=0, microsecond=0)
    if end <= start.replace(second=0, microsecond=0):
        return [], _iso(start), False  # the same minute: Salesforce would see an empty window
    try:
        answer = sf.updated(OBJECT, start, end)
    except WindowExceeded:  # Salesforce's clock says the gap is over 30 days after all
        return _all_roles(store, sf, fields), _iso(now - LOOKBACK), True
    rows: list[dict[str, Any]] = []
    for i in range(0, len(answer.ids), CHUNK):
        template = f"SELECT {', '.join(fields)} FROM {OBJECT} WHERE Id IN {{}} ORDER BY SystemModstamp, Id"
        rows.extend(sf.query(soql.format_soql(template, answer.ids[i : i + CHUNK])))
    return rows, _iso(answer.latest_date_covered), False


def _all_roles(store: Store, sf: SalesforceClient, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Every role of every linked opportunity (not queryAll: a deleted role adds nobody)."""
    linked = [link.opportunity_id for link in store.links("linked")]
    rows: list[dict[str, Any]] = []
    for i in range(0, len(linked), CHUNK):
        template = f"SELECT {', '.join(fields)} FROM {OBJECT} WHERE OpportunityId IN {{}} ORDER BY SystemModstamp, Id"
        rows.extend(sf.query(soql.format_soql(template, linked[i : i + CHUNK])))
    return rows


__all__ = ["COVERED_CURSOR", "FULL_RESYNC_AFTER", "changed_roles", "start_of_next_poll"]
