"""The Salesforce emulator honours If-Unmodified-Since on a PATCH of an sObject row, as Salesforce
documents (Conditional Request Headers): modified after the date → 412 and nothing written; an
unreadable date → 400. Dates are whole seconds (HTTP-date), so the comparison is by whole seconds."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta

from test_sandbox_salesforce_rest import V, api  # noqa: F401  (fixture)


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.replace(microsecond=0), usegmt=True)


def stamp(api, oid: str) -> datetime:
    row = api.query(f"SELECT LastModifiedDate FROM Opportunity WHERE Id = '{oid}'")["records"][0]
    return datetime.fromisoformat(row["LastModifiedDate"].replace("+0000", "+00:00"))


def patch(api, oid: str, body: dict, since: str):
    import requests

    return requests.patch(
        api.base + f"/sobjects/Opportunity/{oid}",
        json=body,
        timeout=10,
        headers={**api.headers, "If-Unmodified-Since": since},
    )


def test_unmodified_since_writes_and_a_later_change_gets_412(api) -> None:
    oid = api.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    seen = stamp(api, oid)
    first = patch(api, oid, {"Description": "claim A"}, http_date(seen))
    assert first.status_code == 204, first.text
    later = stamp(api, oid)
    # the second writer read the same stamp as the first: Salesforce refuses once the row is newer
    second = patch(api, oid, {"Description": "claim B"}, http_date(later - timedelta(seconds=1)))
    assert second.status_code == 412, second.text
    assert second.json()[0]["errorCode"] == "PRECONDITION_FAILED"
    row = api.query(f"SELECT Description FROM Opportunity WHERE Id = '{oid}'")["records"][0]
    assert row["Description"] == "claim A"  # nothing written by the refused request


def test_unreadable_date_is_400(api) -> None:
    oid = api.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    r = patch(api, oid, {"Description": "x"}, "yesterday-ish")
    assert r.status_code == 400, r.text


def test_an_update_naming_no_field_touches_only_under_the_lenient_reading(api, sandbox) -> None:
    """The docs say nothing of a PATCH with no field: by default (strict) it changes nothing, so it
    cannot serve as a claim; switch ``empty_update_touches`` gives Salesforce's well-known "touch"."""
    import requests

    admin = sandbox.salesforce_admin_url + "/switches"
    assert requests.get(admin, timeout=5).json()["empty_update_touches"]["value"] is False
    oid = api.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    before = stamp(api, oid)
    sandbox.world.clock.advance(5)
    assert patch(api, oid, {}, http_date(before)).status_code == 204
    assert stamp(api, oid) == before  # nothing moved: a second claimer with the same stamp would pass too
    requests.post(admin, json={"empty_update_touches": True}, timeout=5).raise_for_status()
    assert patch(api, oid, {}, http_date(before)).status_code == 204
    touched = stamp(api, oid)
    assert touched > before
    assert patch(api, oid, {}, http_date(before)).status_code == 412  # now the stamp holds a claim
