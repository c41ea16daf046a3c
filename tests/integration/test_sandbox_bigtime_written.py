"""The BigTime emulator holds to what BigTime writes down (docs/reference/bigtime.md, "Written limits"):
the detail views' default, the mandatory and unique codes, and the character limits of every field the
API takes that BigTime's help lists. Each refusal is BigTime's 400 with a message, and changes nothing;
each switch plays the other reading."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bigsync_gui.connectors.bigtime import ApiKeyAuth, BigTimeClient
from bigsync_gui.connectors.errors import RequestRejected
from bigsync_gui.connectors.http import HttpPolicy
from bigsync_gui.sandbox import credentials as cred

KEY_HEADERS = {
    "X-Auth-ApiToken": cred.BT_API_KEY,
    "X-Auth-Realm": cred.BT_FIRM_ID,
    "Accept": "application/json",
    "Content-Type": "application/json",
}
PROJECT = 1001  # the seed's first project
CLIENT = 201  # the seed's first client


def api(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, sandbox.bigtime_url + path, headers=KEY_HEADERS, timeout=10, **kwargs)


def admin(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, sandbox.bigtime_admin_url + path, timeout=10, **kwargs)


def switch(sandbox, **values) -> None:
    admin(sandbox, "POST", "/switches", json=values).raise_for_status()


def refused(answer: requests.Response, message: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"Message": message}


# ---- "Note that the BASIC view fields will be returned by default" (help/Project, help/Client) -------
@pytest.mark.parametrize("path, ident", [("/project/detail", PROJECT), ("/client/detail", CLIENT)])
def test_a_detail_answers_the_basic_view_unless_asked_for_the_detailed_one(sandbox, path, ident):
    listing = {r["SystemId"]: r for r in api(sandbox, "GET", "/" + path.split("/")[1]).json()}
    plain = api(sandbox, "GET", f"{path}/{ident}").json()
    assert plain == listing[ident]  # the list's basic view
    assert api(sandbox, "GET", f"{path}/{ident}", params={"view": "basic"}).json() == plain
    detailed = api(sandbox, "GET", f"{path}/{ident}", params={"View": "Detailed"}).json()
    assert set(plain) < set(detailed) and "Notes" in detailed and "Notes" not in plain


def test_the_client_asks_for_the_detailed_views(sandbox):
    bt = BigTimeClient(sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, cred.BT_FIRM_ID), HttpPolicy("bigtime"))
    api(sandbox, "POST", f"/client/detail/{CLIENT}", json={"MainPH": "555-0199", "Address": "1 Main St"})
    client = bt.client(CLIENT)
    assert client.raw["MainPH"] == "555-0199" and client.raw["Address"] == "1 Main St"
    assert "UdfList" in bt.project(PROJECT).raw


# ---- the mandatory codes ------------------------------------------------------------------------------
def test_a_project_without_a_code_is_refused_unless_switched(sandbox):
    """ "A project code is a unique way to identify a project. It's a mandatory field" (BigTime's help)."""
    before = len(api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json())
    for body in ({"Nm": "Codeless", "ClientId": CLIENT}, {"Nm": "Blank", "ClientId": CLIENT, "projectcode": "  "}):
        refused(api(sandbox, "POST", "/project/detail", json=body), "The project code (ProjectCode) is required.")
    assert len(api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json()) == before
    switch(sandbox, project_code_auto=True)
    made = api(sandbox, "POST", "/project/detail", json={"Nm": "Codeless", "ClientId": CLIENT})
    assert made.status_code == 200 and made.json()["ProjectCode"]  # numbered, as BigTime's web app does


def test_a_client_without_a_code_is_refused_unless_switched(sandbox):
    """ "BigTime requires every client in the system to have a unique Id" (BigTime's help)."""
    before = len(api(sandbox, "GET", "/client", params={"ShowInactive": "true"}).json())
    refused(api(sandbox, "POST", "/client/detail", json={"Nm": "Codeless"}), "The client id (ClientId) is required.")
    assert len(api(sandbox, "GET", "/client", params={"ShowInactive": "true"}).json()) == before
    switch(sandbox, client_id_auto=True)
    assert api(sandbox, "POST", "/client/detail", json={"Nm": "Codeless"}).status_code == 200


def test_project_codes_are_unique_ignoring_case_unless_switched(sandbox):
    """ "The project code is a unique id that identifies each project in the system" (BigTime's help)."""
    first = api(sandbox, "POST", "/project/detail", json={"Nm": "One", "ProjectCode": "SF-ABC", "ClientId": CLIENT})
    assert first.status_code == 200
    message = "ProjectCode must be unique: another record already has 'sf-abc'."
    refused(
        api(sandbox, "POST", "/project/detail", json={"Nm": "Two", "ProjectCode": " sf-abc ", "ClientId": CLIENT}),
        message,
    )
    assert [p["Nm"] for p in api(sandbox, "GET", "/project").json()].count("Two") == 0
    other = api(sandbox, "POST", "/project/detail", json={"Nm": "Three", "ProjectCode": "SF-XYZ", "ClientId": CLIENT})
    moved = api(sandbox, "POST", f"/project/detail/{other.json()['SystemId']}", json={"ProjectCode": "Sf-Abc"})
    assert moved.status_code == 400 and moved.json()["Message"].startswith("ProjectCode must be unique")
    assert api(sandbox, "GET", f"/project/detail/{other.json()['SystemId']}").json()["ProjectCode"] == "SF-XYZ"
    mine = first.json()["SystemId"]  # its own code again: not a duplicate
    assert api(sandbox, "POST", f"/project/detail/{mine}", json={"ProjectCode": "SF-ABC"}).status_code == 200
    switch(sandbox, project_code_unique=False)
    again = api(sandbox, "POST", "/project/detail", json={"Nm": "Two", "ProjectCode": "SF-ABC", "ClientId": CLIENT})
    assert again.status_code == 200


def test_the_client_reports_a_missing_or_taken_code_as_a_rejection(sandbox):
    bt = BigTimeClient(sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, cred.BT_FIRM_ID), HttpPolicy("bigtime"))
    with pytest.raises(RequestRejected) as missing:
        bt.create_client({"Nm": "No code"})
    assert missing.value.status == 400 and "ClientId" in missing.value.message
    taken = bt.projects()[0].code
    with pytest.raises(RequestRejected) as duplicate:
        bt.create_project({"Nm": "Twin", "ProjectCode": taken, "ClientId": CLIENT})
    assert duplicate.value.status == 400 and "unique" in duplicate.value.message


# ---- "BigTime Character Limits": the fields beyond projects' and clients' own ---------------------------
def _time(sandbox, notes: str) -> requests.Response:
    body = {"ProjectSID": PROJECT, "Dt": "2026-11-02", "Hours_IN": 1, "Notes": notes}
    return api(sandbox, "POST", "/time", json=body)


def _custom(sandbox, value: str) -> requests.Response:
    return api(sandbox, "POST", "/project/CustomFields", json={"ProjectSid": PROJECT, "Sid": 3, "Value": value})


def _task(sandbox, field: str, value: Any) -> requests.Response:
    return admin(sandbox, "POST", "/records/task", json={"ProjectSid": PROJECT, "TaskNm": "Task", field: value})


def _staff(sandbox, field: str, value: str) -> requests.Response:
    return admin(sandbox, "POST", "/records/staff", json={"FName": "Ann", "SName": "Lee", field: value})


LIMITS = [
    ("timesheet Notes", _time, 1000, "Notes"),
    ("Custom Field (string)", _custom, 1000, "Value"),
    ("Task Name", lambda sb, v: _task(sb, "TaskNm", v), 750, "TaskNm"),
    ("Task Notes", lambda sb, v: _task(sb, "Notes", v), 2500, "Notes"),
    ("staff First Name", lambda sb, v: _staff(sb, "FName", v), 25, "FName"),
    ("staff Last Name", lambda sb, v: _staff(sb, "SName", v), 25, "SName"),
    ("staff Title", lambda sb, v: _staff(sb, "Title", v), 100, "Title"),
]


@pytest.mark.parametrize("label, send, limit, field", LIMITS, ids=[row[0] for row in LIMITS])
def test_the_other_written_character_limits_are_refused_by_default(sandbox, label, send, limit, field):
    fits = send(sandbox, "x" * limit)
    assert fits.status_code in (200, 201), fits.text
    counts = {k: len(v) for k, v in sandbox.world.bigtime.records.items()}
    customs = {p: dict(v) for p, v in sandbox.world.bigtime.custom_values.items()}
    over = send(sandbox, "y" * (limit + 1))
    assert over.status_code == 400
    body = over.json()  # the API's {"Message"}, or the admin API's {"error", "message"} (tasks, staff)
    assert body.get("Message", body.get("message")) == f"{field} is too long: at most {limit} characters are allowed."
    assert {k: len(v) for k, v in sandbox.world.bigtime.records.items()} == counts  # nothing made
    assert {p: dict(v) for p, v in sandbox.world.bigtime.custom_values.items()} == customs  # nothing changed


@pytest.mark.parametrize("label, send, limit, field", LIMITS, ids=[row[0] for row in LIMITS])
def test_the_other_character_limits_cut_under_the_switch(sandbox, label, send, limit, field):
    switch(sandbox, limit_overflow="truncate")
    answer = send(sandbox, "z" * (limit + 3))
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    # The custom fields' answer is every field of the project; the others answer the record.
    kept = next(r["Value"] for r in body if r["Sid"] == 3) if isinstance(body, list) else body[field]
    assert kept == "z" * limit


# ---- "we figure out what type of data you'd like ... by reading the content-type header" (help/Overview) -
AUTH_ONLY = {"X-Auth-ApiToken": cred.BT_API_KEY, "X-Auth-Realm": cred.BT_FIRM_ID}


@pytest.mark.parametrize(
    "asked", [{}, {"Accept": "application/json"}, {"Content-Type": "text/plain"}], ids=["nothing", "accept", "text"]
)
def test_only_a_json_content_type_gets_json_unless_switched(sandbox, asked):
    url = sandbox.bigtime_url + f"/client/detail/{CLIENT}"
    as_json = requests.get(url, headers={**AUTH_ONLY, "Content-Type": "application/json"}, timeout=10)
    assert as_json.headers["Content-Type"].startswith("application/json")
    other = requests.get(url, headers={**AUTH_ONLY, **asked}, timeout=10)
    assert other.status_code == 200 and other.headers["Content-Type"].startswith("application/xml")
    assert f"<SystemId>{CLIENT}</SystemId>" in other.text and f"<Nm>{as_json.json()['Nm']}</Nm>" in other.text
    missing = requests.get(sandbox.bigtime_url + "/client/detail/999999", headers={**AUTH_ONLY, **asked}, timeout=10)
    assert missing.status_code == 404 and missing.text.startswith("<Error") and "<Message>" in missing.text
    switch(sandbox, json_by_accept=True)
    again = requests.get(url, headers={**AUTH_ONLY, **asked}, timeout=10)
    if asked.get("Content-Type") == "text/plain":  # it asked for another format: still not JSON
        assert again.headers["Content-Type"].startswith("application/xml")
    else:
        assert again.json() == as_json.json()


def test_lists_come_as_an_xml_array(sandbox):
    answer = requests.get(sandbox.bigtime_url + "/project", headers=AUTH_ONLY, timeout=10)
    assert answer.text.startswith("<ArrayOfanyType") and answer.text.count("<Item>") == len(
        api(sandbox, "GET", "/project").json()
    )


# ---- help/Picklist, help/Task: what the lists leave out ------------------------------------------------
@pytest.mark.parametrize("name, kind", [("projects", "project"), ("clients", "client"), ("staff", "staff")])
def test_picklists_leave_out_inactive_items(sandbox, name, kind):
    """ "Inactive/Completed items are not included" (help/Picklist)."""
    listed = {i["Id"] for i in api(sandbox, "GET", f"/picklist/{name}").json()}
    one = sorted(listed)[-1]
    admin(sandbox, "PATCH", f"/records/{kind}/{one}", json={"IsInactive": True}).raise_for_status()
    assert {i["Id"] for i in api(sandbox, "GET", f"/picklist/{name}").json()} == listed - {one}


def test_a_projects_task_list_holds_tasks_in_process_unless_completed_ones_are_asked_for(sandbox):
    """ "By default, we return only tasks that are 'in process', but you can pass ShowCompleted=True"."""
    made = [_task(sandbox, "IsInactive", done).json()["SystemId"] for done in (False, True)]
    in_process = {t["SystemId"] for t in api(sandbox, "GET", f"/task/ListByProject/{PROJECT}").json()}
    every = {t["SystemId"] for t in api(sandbox, "GET", f"/task/ListByProject/{PROJECT}?ShowCompleted=true").json()}
    assert made[0] in in_process and made[1] not in in_process and set(made) <= every


# ---- help/Time: "unsubmitted entries have a negative 'SID' value and submitted entries have a positive value"
def test_time_entry_ids_are_negative_until_submitted_and_change_then(sandbox):
    made = _time(sandbox, "draft").json()
    assert made["SID"] < 0 and made["IsSubmitted"] is False
    assert api(sandbox, "GET", f"/time/detail/{made['SID']}").json()["Notes"] == "draft"
    submitted = admin(sandbox, "PATCH", f"/records/time/{made['SID']}", json={"IsSubmitted": True}).json()
    assert submitted["SID"] > 0 and submitted["Notes"] == "draft"  # the same entry, under a new id
    assert api(sandbox, "GET", f"/time/detail/{made['SID']}").status_code == 404
    listed = api(sandbox, "GET", f"/time/ByProject/{PROJECT}").json()
    assert [e["Notes"] for e in listed if e["SID"] == submitted["SID"]] == ["draft"]
    assert made["SID"] not in {e["SID"] for e in listed}
    body = {"ProjectSID": PROJECT, "Dt": "2026-11-03", "Hours_IN": 2, "IsSubmitted": True}
    assert api(sandbox, "POST", "/time", json=body).json()["SID"] > 0  # logged as submitted: positive at once


def test_an_invoice_line_follows_its_time_entry_when_the_entry_is_submitted(sandbox):
    entry = _time(sandbox, "billed").json()
    invoice = admin(
        sandbox, "POST", "/records/invoice", json={"ProjectSid": PROJECT, "Status": 0, "InvoiceDt": "2026-12-31"}
    ).json()
    sources = {line["SourceSid"] for line in invoice["Lines"] if line["Type"] == "Time"}
    assert entry["SID"] in sources
    new = admin(sandbox, "PATCH", f"/records/time/{entry['SID']}", json={"IsSubmitted": True}).json()["SID"]
    lines = admin(sandbox, "GET", f"/records/invoice/{invoice['Sid']}").json()["Lines"]
    assert new in {line["SourceSid"] for line in lines} and entry["SID"] not in {line["SourceSid"] for line in lines}


def test_the_drafts_list_takes_optional_dates(sandbox):
    """ "you have the option of including startDt and endDt in order to limit the list" (help/Invoice)."""
    for day in ("2026-10-15", "2026-12-15"):
        body = {"ProjectSid": PROJECT, "Status": 0, "InvoiceDt": day, "InvoiceAmt": 100}
        admin(sandbox, "POST", "/records/invoice", json=body).raise_for_status()
    every = {i["InvoiceDt"][:10] for i in api(sandbox, "GET", "/invoice/drafts").json()}
    assert {"2026-10-15", "2026-12-15"} <= every
    november_on = api(sandbox, "GET", "/invoice/drafts", params={"startDt": "2026-11-01"}).json()
    assert "2026-12-15" in {i["InvoiceDt"][:10] for i in november_on}
    assert all(i["InvoiceDt"][:10] >= "2026-11-01" for i in november_on)
    window = api(sandbox, "GET", "/invoice/drafts", params={"startDt": "2026-10-01", "endDt": "2026-10-31"}).json()
    days = {i["InvoiceDt"][:10] for i in window}
    assert "2026-10-15" in days and all("2026-10-01" <= d <= "2026-10-31" for d in days)
