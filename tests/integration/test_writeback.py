"""BigTime → Salesforce write-back (core/writeback.py) against the sandbox: figures equal the
emulator's own totals, invoice rows match BigTime's invoices, an idle run costs two BigTime
requests and no Salesforce write, only changed projects are read and only changed fields sent,
and the failure cases (missing field, refused record, lost create, cancel) leave a state the next
run finishes without duplicates.

Every test runs against both readings of BigTime (the ``reading`` fixture): the strict default
(no DtModified in the list, budget rows with the live-checked names only, taxed invoices) and the
lenient set of sandbox switches."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from bigsync_gui.connectors.bigtime import ApiKeyAuth, BigTimeClient
from bigsync_gui.connectors.bigtime_assumptions import project_url
from bigsync_gui.connectors.errors import Offline, ServiceUnavailable
from bigsync_gui.connectors.http import HttpPolicy, RetryPolicy
from bigsync_gui.connectors.salesforce import API_VERSION, SalesforceClient, StaticToken
from bigsync_gui.core.settings import DEFAULT_FIELD_MAP
from bigsync_gui.core.store import Store
from bigsync_gui.core.writeback import REFRESH_MIN_AGE, WritebackResult, rotation_size, run_writeback
from bigsync_gui.sandbox import credentials as cred

FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0)
COLLECTION = f"/services/data/{API_VERSION}/composite/sobjects"
PROJECTS = (1001, 1003, 1005, 1006)  # 2, 2, 2 and 0 posted invoices in the seed at the pinned WORLD_START
FIGURE_FIELDS = {  # Opportunity field → key of the emulator's project_totals (the source field's name)
    "BigTime_Budget_Hours__c": "BudgetHours",
    "BigTime_Budget_Fees__c": "BudgetFees",
    "BigTime_Budget_Expenses__c": "BudgetExps",
    "BigTime_Budget_Total__c": "EstTotal",
    "BigTime_Hours_Logged__c": "HrsIn",
    "BigTime_Expenses_Logged__c": "ExpCostIn",
    "BigTime_WIP__c": "WipTotal",
    "BigTime_Invoiced_To_Date__c": "TotalAmt",
    "BigTime_Paid_To_Date__c": "PaidAmt",
}
# Only the lenient reading sends these (the strict one has no live-checked source for them).
LENIENT_ONLY = {"BigTime_Budget_Expenses__c"}
# The strict reading has no project-level budget on the detail of a project budgeted by task.
TASK_BUDGETED_STRICT = {"BigTime_Budget_Hours__c", "BigTime_Budget_Fees__c"}


# ---- helpers -------------------------------------------------------------------------------------
def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    r = requests.request(method, url + path, json=body, timeout=10)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def clear_logs(sandbox) -> None:
    admin(sandbox.salesforce_admin_url, "DELETE", "/log")
    admin(sandbox.bigtime_admin_url, "DELETE", "/log")


def bt_requests(sandbox) -> list[tuple[str, str]]:
    entries = admin(sandbox.bigtime_admin_url, "GET", "/log")["entries"]
    return [(e["method"], e["path"].lower().removeprefix("/bigtimedata/api/v2")) for e in entries]


def sf_requests(sandbox) -> list[tuple[str, str]]:
    entries = admin(sandbox.salesforce_admin_url, "GET", "/log")["entries"]
    return [(e["method"], e["path"]) for e in entries if e["path"].startswith("/services/data")]


def sf_writes(sandbox) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sf_requests(sandbox) if m in ("POST", "PATCH", "DELETE")]


def budget_reads(sandbox) -> list[str]:
    return [p for m, p in bt_requests(sandbox) if p.startswith("/task/budgetstatusbyproject/")]


@dataclass
class Env:
    reading: str  # "strict" | "lenient"
    sandbox: Any
    store: Store
    sf: SalesforceClient
    bt: BigTimeClient
    opps: dict[int, str]  # project id → opportunity id
    names: dict[str, str]  # opportunity id → name

    def run(
        self,
        field_map: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
        *,
        later: timedelta = timedelta(0),
        interval: float = 900,
    ) -> tuple[WritebackResult, int]:
        """One run, ``later`` after now on the write-back's clock (to reach the rotation)."""
        self.sf.new_cycle()  # as the engine does at the start of each cycle
        with self.store.transaction():
            cycle = self.store.start_cycle("writeback")
        result = run_writeback(
            self.store,
            self.sf,
            self.bt,
            dict(field_map or DEFAULT_FIELD_MAP),
            cycle,
            cancel,
            now=datetime.now(timezone.utc) + later,
            interval_seconds=interval,
        )
        return result, cycle

    @property
    def strict(self) -> bool:
        return self.reading == "strict"

    def warnings(self, cycle: int) -> list[str]:
        """The run's warnings, minus the one about fields the strict reading never sends."""
        return [
            e.message for e in self.events(cycle, "warning") if not (self.strict and "absent is not 0" in e.message)
        ]

    def events(self, cycle: int, kind: str) -> list:
        return [e for e in self.store.events(cycle) if e.kind == kind]

    def opp(self, opp_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            return dict(self.sandbox.world.salesforce.get_record("Opportunity", opp_id))

    def invoice_rows(self) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [
                dict(r)
                for r in self.sandbox.world.salesforce.all_records("BigTime_Invoice__c")
                if not r.get("IsDeleted")
            ]

    def link(self, project_id: int, opp_id: str) -> None:
        with self.store.transaction():
            self.store.add_link(opp_id, project_id, None, None, self.names[opp_id])
        self.opps[project_id] = opp_id


def password_grant(sandbox) -> dict:
    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": cred.SF_CONSUMER_KEY,
            "username": cred.SF_USERNAME,
            "password": cred.SF_PASSWORD,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(params=["strict", "lenient"])
def reading(request, sandbox) -> str:
    """BigTime's reading for the test: the sandbox's default (strict) or every lenient switch on."""
    admin(sandbox.bigtime_admin_url, "POST", "/switches", {"preset": request.param})
    return request.param


@pytest.fixture
def env(sandbox, reading, tmp_path) -> Env:
    e = make_env(sandbox, reading, tmp_path)
    yield e
    e.store.close()


def make_env(sandbox, reading: str, tmp_path) -> Env:
    """The 4 seeded projects linked to 4 opportunities, clients on the sandbox, an empty state database."""
    grant = password_grant(sandbox)
    sf = SalesforceClient(
        sandbox.salesforce_url, StaticToken(grant["access_token"], grant), HttpPolicy("salesforce", policy=FAST)
    )
    bt = BigTimeClient(
        sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, cred.BT_FIRM_ID), HttpPolicy("bigtime", policy=FAST)
    )
    with sandbox.world.lock:
        opps = [r for r in sandbox.world.salesforce.all_records("Opportunity") if not r.get("IsDeleted")]
    e = Env(reading, sandbox, Store(tmp_path / "state.db"), sf, bt, {}, {r["Id"]: r["Name"] for r in opps})
    for pid, opp in zip(PROJECTS, opps):
        e.link(pid, opp["Id"])
    return e


def expected_figures(sandbox, pid: int, strict: bool) -> dict[str, float | None]:
    """Each Opportunity field's value from the emulator's own totals (None: never written)."""
    with sandbox.world.lock:
        totals = sandbox.world.bigtime.ledger.project_totals(pid)
        by_task = sandbox.world.bigtime.directory.budgeted_by_task(pid)
    absent = (LENIENT_ONLY | (TASK_BUDGETED_STRICT if by_task else set())) if strict else set()
    return {field: None if field in absent else totals[key] for field, key in FIGURE_FIELDS.items()}


def bigtime_invoices(sandbox, pid: int) -> list[dict[str, Any]]:
    with sandbox.world.lock:
        return [
            dict(i)
            for i in sandbox.world.bigtime.records["invoice"].values()
            if i["ProjectSid"] == pid and i["Status"] != 0
        ]


def paid_to_date(sandbox, pid: int) -> float:
    with sandbox.world.lock:
        return sandbox.world.bigtime.ledger.project_totals(pid)["PaidAmt"]


def assert_opportunity_matches(env: Env, pid: int) -> None:
    opp = env.opp(env.opps[pid])
    for field, value in expected_figures(env.sandbox, pid, env.strict).items():
        if value is None:
            assert opp[field] is None, (pid, field)
        else:
            assert opp[field] == pytest.approx(value, abs=0.005), (pid, field)
    assert opp["BigTime_Project_Id__c"] == str(pid)
    assert opp["BigTime_Project_URL__c"] == project_url(env.sandbox.bigtime_url, pid)


def assert_rows_match(env: Env, pid: int) -> None:
    rows = {r["BigTime_Invoice_Id__c"]: r for r in env.invoice_rows() if r["Opportunity__c"] == env.opps[pid]}
    invoices = bigtime_invoices(env.sandbox, pid)
    assert set(rows) == {str(i["Sid"]) for i in invoices}
    for inv in invoices:
        row = rows[str(inv["Sid"])]
        assert row["Name"] == inv["InvoiceNbr"]
        assert row["Invoice_Date__c"] == inv["InvoiceDt"][:10]
        assert row["Amount__c"] == pytest.approx(inv["TotalAmt"])
        assert row["Paid__c"] == pytest.approx(inv["PaidAmt"])
        assert row["Status__c"] == inv["StatusTxt"]


# ---- the first run -------------------------------------------------------------------------------------
def test_first_run_writes_every_figure_and_one_row_per_posted_invoice(env):
    clear_logs(env.sandbox)
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    result, cycle = env.run()

    posted = sum(len(bigtime_invoices(env.sandbox, pid)) for pid in PROJECTS)
    assert posted == 6  # the seed at WORLD_START: 2, 2, 2 and 0 posted invoices
    assert result == WritebackResult(
        projects_checked=4, projects_changed=4, opportunities_written=4, invoices_written=posted, rejected=0
    )
    for pid in PROJECTS:
        assert_opportunity_matches(env, pid)
        assert_rows_match(env, pid)
    # Concrete values of the seed at the pinned WORLD_START, so a wrong mapping cannot agree with itself.
    # Invoiced and paid are TotalAmt and PaidAmt (taxed T&M invoices): not InvoicedToDate (23892.5).
    erp = env.opp(env.opps[1001])
    assert (
        erp["BigTime_Hours_Logged__c"],
        erp["BigTime_WIP__c"],
        erp["BigTime_Invoiced_To_Date__c"],
        erp["BigTime_Paid_To_Date__c"],
        erp["BigTime_Budget_Expenses__c"],
    ) == (222.0, 14650.0, 25863.63, 13269.42, None if env.strict else 3000.0)
    assert len(env.invoice_rows()) == posted  # project 1001's draft invoice is not a row
    last_sync = datetime.fromisoformat(erp["BigTime_Last_Sync__c"].replace("+0000", "+00:00"))
    assert last_sync >= before

    written = env.events(cycle, "written")
    assert len(written) == 4
    figures = 8 if env.strict else 11  # strict: no budget expenses (no live-checked field), no project budget
    firsts = [e.message.splitlines()[0] for e in written]
    assert f"Updated {figures} BigTime figures and 2 invoice rows on {env.names[env.opps[1001]]}." in firsts
    assert f"Updated {figures} BigTime figures on {env.names[env.opps[1006]]}." in firsts  # a sentence, with its period
    assert all(link.written_back for link in env.store.links("linked"))
    assert len(budget_reads(env.sandbox)) == 4
    # Both readings are happy paths: a figure left empty is explained by the total budget, no warning.
    assert env.events(cycle, "warning") == []
    # One update of the 4 opportunities, one query of their rows, one create of the 6 rows.
    assert sf_writes(env.sandbox) == [("PATCH", COLLECTION), ("POST", COLLECTION)]


def test_idle_run_costs_two_bigtime_requests_and_writes_nothing(env):
    env.run()
    clear_logs(env.sandbox)
    result, cycle = env.run()

    assert result == WritebackResult(
        projects_checked=4, projects_changed=0, opportunities_written=0, invoices_written=0, rejected=0
    )
    assert sorted(bt_requests(env.sandbox)) == [("GET", "/invoice/history"), ("GET", "/project")]
    assert budget_reads(env.sandbox) == []
    assert sf_writes(env.sandbox) == []
    assert [p for _, p in sf_requests(env.sandbox) if "/query" in p] == []
    assert env.store.events(cycle) == []


# ---- what changed, and only that --------------------------------------------------------------------------
def spy_updates(env: Env, monkeypatch) -> list[tuple[str, list[dict]]]:
    calls: list[tuple[str, list[dict]]] = []
    original = env.sf.update_many

    def update_many(sobject, records):
        calls.append((sobject, [dict(r) for r in records]))
        return original(sobject, records)

    monkeypatch.setattr(env.sf, "update_many", update_many)
    return calls


def test_time_logged_on_one_project_is_read_and_only_changed_fields_sent(env, monkeypatch):
    env.run()
    old = env.opp(env.opps[1003])
    with env.sandbox.world.lock:
        env.sandbox.world.bigtime.ledger.log_time({"ProjectSID": 1003, "Hours_IN": 3})
    calls = spy_updates(env, monkeypatch)
    clear_logs(env.sandbox)
    if env.strict:  # no DtModified to hint: the change is found when the rotation re-reads the projects
        result, cycle = env.run()
        assert budget_reads(env.sandbox) == [] and result.projects_changed == 0
        result, cycle = env.run(later=REFRESH_MIN_AGE)
        assert sorted(budget_reads(env.sandbox)) == [f"/task/budgetstatusbyproject/{p}" for p in PROJECTS]
        assert result.projects_rotated == 4 and len(bt_requests(env.sandbox)) == 2 + 2 + 2 * 4
    else:  # DtModified changed: re-read at once, alone
        result, cycle = env.run()
        assert budget_reads(env.sandbox) == ["/task/budgetstatusbyproject/1003"]
        assert len(bt_requests(env.sandbox)) == 2 + 2  # + budget status and detail of 1003
    assert result.opportunities_written == 1 and result.invoices_written == 0
    assert len(calls) == 1
    sobject, records = calls[0]
    assert sobject == "Opportunity"
    assert len(records) == 1 and records[0]["Id"] == env.opps[1003]
    assert set(records[0]) == {"Id", "BigTime_Hours_Logged__c", "BigTime_WIP__c", "BigTime_Last_Sync__c"}
    assert records[0]["BigTime_Hours_Logged__c"] == pytest.approx(old["BigTime_Hours_Logged__c"] + 3)
    assert_opportunity_matches(env, 1003)
    assert env.opp(env.opps[1003])["BigTime_WIP__c"] > old["BigTime_WIP__c"]
    assert [e.message for e in env.events(cycle, "written")] == [
        f"Updated 2 BigTime figures on {env.names[env.opps[1003]]}.\nFrom BigTime: Hours logged: sum of HrsIn on "
        "budget-status rows; Work in progress: sum of WipTotal on budget-status rows."
    ]  # Activity's details
    assert sf_writes(env.sandbox) == [("PATCH", COLLECTION)]


def test_payment_updates_paid_to_date_and_the_invoice_row(env, monkeypatch):
    env.run()
    unpaid = next(i for i in bigtime_invoices(env.sandbox, 1005) if i["PaidAmt"] == 0)
    paid_before = paid_to_date(env.sandbox, 1005)
    with env.sandbox.world.lock:
        env.sandbox.world.bigtime.ledger.record_payment(unpaid["Sid"], 1000)
    calls = spy_updates(env, monkeypatch)
    clear_logs(env.sandbox)
    result, cycle = env.run()

    assert budget_reads(env.sandbox) == ["/task/budgetstatusbyproject/1005"]
    assert result.projects_changed == 1 and result.invoices_written == 1
    opp = env.opp(env.opps[1005])
    assert opp["BigTime_Paid_To_Date__c"] == pytest.approx(paid_before + 1000)
    assert_opportunity_matches(env, 1005)
    row = next(r for r in env.invoice_rows() if r["BigTime_Invoice_Id__c"] == str(unpaid["Sid"]))
    assert (row["Paid__c"], row["Status__c"], row["Amount__c"]) == (1000.0, "Partially Paid", unpaid["TotalAmt"])
    assert_rows_match(env, 1005)
    assert len(env.invoice_rows()) == sum(len(bigtime_invoices(env.sandbox, pid)) for pid in PROJECTS)
    # The opportunity got paid to date (+ last sync); the row only what changed on it.
    assert [(s, sorted(k for k in r if k != "Id")) for s, recs in calls for r in recs] == [
        ("Opportunity", ["BigTime_Last_Sync__c", "BigTime_Paid_To_Date__c"]),
        ("BigTime_Invoice__c", ["Paid__c", "Status__c"]),
    ]
    assert [e.message.splitlines()[0] for e in env.events(cycle, "written")] == [
        f"Updated 1 BigTime figure and 1 invoice row on {env.names[env.opps[1005]]}."
    ]


def test_bigtime_requests_are_two_plus_two_per_changed_project(env):
    env.run()
    with env.sandbox.world.lock:
        env.sandbox.world.bigtime.ledger.log_time({"ProjectSID": 1001, "Hours_IN": 2})
        env.sandbox.world.bigtime.ledger.log_time({"ProjectSID": 1006, "Hours_IN": 1.5})
        env.sandbox.world.bigtime.ledger.record_payment(bigtime_invoices(env.sandbox, 1003)[-1]["Sid"], 100)
    clear_logs(env.sandbox)
    result, _ = env.run()
    changed = (1003,) if env.strict else (1001, 1003, 1006)  # strict: only the payment is visible at once
    assert result.projects_changed == len(changed)
    # strict: the paid invoice's listing changed and the history has no TotalAmt: its detail is read again
    details = [p for _, p in bt_requests(env.sandbox) if p.startswith("/invoice/detail/")]
    assert details == ([f"/invoice/detail/{bigtime_invoices(env.sandbox, 1003)[-1]['Sid']}"] if env.strict else [])
    assert len(bt_requests(env.sandbox)) == 2 + 2 * len(changed) + len(details)
    assert sorted(budget_reads(env.sandbox)) == [f"/task/budgetstatusbyproject/{p}" for p in changed]
    if env.strict:
        env.run(later=REFRESH_MIN_AGE)  # the rotation's turn: the time logged is found
    for pid in PROJECTS:
        assert_opportunity_matches(env, pid)
        assert_rows_match(env, pid)


# ---- what cannot be written -------------------------------------------------------------------------------
def test_missing_or_read_only_mapped_field_is_skipped_with_one_warning_per_run(env):
    field_map = {**DEFAULT_FIELD_MAP, "wip": "BigTime_Nope__c", "hours_logged": "IsWon"}
    result, cycle = env.run(field_map)

    warnings = env.warnings(cycle)
    assert len(warnings) == 1
    assert "BigTime_Nope__c (wip: no such field)" in warnings[0]
    assert "IsWon (hours_logged: not editable)" in warnings[0]
    assert result.opportunities_written == 4 and result.rejected == 0
    opp = env.opp(env.opps[1001])
    assert opp["BigTime_WIP__c"] is None and opp["BigTime_Hours_Logged__c"] is None
    assert opp["BigTime_Paid_To_Date__c"] == pytest.approx(paid_to_date(env.sandbox, 1001))

    clear_logs(env.sandbox)
    _, cycle = env.run(field_map)
    assert len(env.warnings(cycle)) == 1  # again, once, and nothing else to do
    assert sf_writes(env.sandbox) == []

    # The admin fixes the map: the field is filled although nothing changed in BigTime.
    _, cycle = env.run()
    assert env.opp(env.opps[1001])["BigTime_WIP__c"] == pytest.approx(
        expected_figures(env.sandbox, 1001, env.strict)["BigTime_WIP__c"]
    )
    assert env.warnings(cycle) == []


def test_deleted_opportunity_is_rejected_and_the_others_are_written(env):
    victim = env.opps[1003]
    with env.sandbox.world.lock:
        env.sandbox.world.salesforce.delete("Opportunity", victim, system=True)
    result, cycle = env.run()

    assert result.rejected == 1 and result.opportunities_written == 3
    (rejected,) = env.events(cycle, "rejected")
    assert rejected.opportunity_id == victim and "ENTITY_IS_DELETED" in rejected.message
    assert env.store.written(victim) is None
    for pid in (1001, 1005, 1006):
        assert_opportunity_matches(env, pid)
        assert_rows_match(env, pid)
    assert not [r for r in env.invoice_rows() if r["Opportunity__c"] == victim]

    # Restored: written on the next run (it was not recorded as written), the others untouched.
    with env.sandbox.world.lock:
        env.sandbox.world.salesforce.undelete("Opportunity", victim)
    clear_logs(env.sandbox)
    result, cycle = env.run()
    assert budget_reads(env.sandbox) == ["/task/budgetstatusbyproject/1003"]
    assert result.rejected == 0 and result.opportunities_written == 1 and result.invoices_written == 2
    assert_opportunity_matches(env, 1003)
    assert_rows_match(env, 1003)


def test_refused_field_value_is_rejected_per_record(env):
    # project_url mapped to a 40-character text field: the long URL is refused for that record only.
    field_map = {**DEFAULT_FIELD_MAP, "project_url": "BigTime_Project_Id__c", "project_id": ""}
    result, cycle = env.run(field_map)
    assert result.rejected == 4 and result.opportunities_written == 0
    assert all("STRING_TOO_LONG" in e.message for e in env.events(cycle, "rejected"))
    assert env.store.all_written() == {}
    assert env.invoice_rows() == []
    _, cycle = env.run()
    assert env.events(cycle, "rejected") == []
    for pid in PROJECTS:
        assert_opportunity_matches(env, pid)


def test_severed_link_is_never_written(env):
    severed = env.opps[1005]
    with env.store.transaction():
        env.store.set_link_status(severed, "severed")
    result, _ = env.run()
    assert result.projects_checked == 3
    assert env.opp(severed)["BigTime_Project_Id__c"] is None
    assert not [r for r in env.invoice_rows() if r["Opportunity__c"] == severed]
    assert env.store.written(severed) is None
    clear_logs(env.sandbox)
    env.run()
    assert "/task/budgetstatusbyproject/1005" not in budget_reads(env.sandbox)


# ---- invoice rows -------------------------------------------------------------------------------------------
def test_lost_invoice_create_is_not_duplicated_next_run(env):
    admin(
        env.sandbox.salesforce_admin_url,
        "POST",
        "/faults",
        {"kind": "drop", "method": "POST", "path": "/composite/sobjects"},
    )
    with pytest.raises(Offline):
        env.run()
    assert len(env.invoice_rows()) == 6  # the create happened; its answer was lost
    # The figures the opportunities accepted were recorded; the rows were not.
    assert all(env.store.written(env.opps[p]) is not None for p in PROJECTS)

    clear_logs(env.sandbox)
    result, cycle = env.run()
    assert len(env.invoice_rows()) == 6
    assert ("POST", COLLECTION) not in sf_writes(env.sandbox)
    assert result.invoices_written == 0
    for pid in PROJECTS:
        assert_rows_match(env, pid)
    clear_logs(env.sandbox)
    env.run()
    assert budget_reads(env.sandbox) == [] and sf_writes(env.sandbox) == []


def test_failed_invoice_create_is_retried_next_run(env):
    # Refused before any work (unlike a drop): the rows do not exist, and a create is never re-sent inline.
    admin(
        env.sandbox.salesforce_admin_url,
        "POST",
        "/faults",
        {"kind": "status", "status": 500, "method": "POST", "path": "/composite/sobjects"},
    )
    with pytest.raises(ServiceUnavailable):
        env.run()
    assert env.invoice_rows() == []
    clear_logs(env.sandbox)
    result, _ = env.run()
    posted = sum(len(bigtime_invoices(env.sandbox, pid)) for pid in PROJECTS)
    assert result.invoices_written == posted and result.opportunities_written == 0  # the figures were already recorded
    assert sorted(budget_reads(env.sandbox)) == [f"/task/budgetstatusbyproject/{p}" for p in (1001, 1003, 1005)]
    for pid in PROJECTS:
        assert_rows_match(env, pid)


def test_org_without_the_invoice_object_writes_figures_only(env, monkeypatch):
    monkeypatch.delitem(env.sandbox.world.salesforce.schema, "bigtime_invoice__c")
    clear_logs(env.sandbox)
    result, cycle = env.run()
    assert result.opportunities_written == 4 and result.invoices_written == 0 and result.rejected == 0
    assert env.warnings(cycle) == []
    assert sf_writes(env.sandbox) == [("PATCH", COLLECTION)]
    assert not [p for _, p in sf_requests(env.sandbox) if "/query" in p]
    for pid in PROJECTS:
        assert_opportunity_matches(env, pid)
    # A payment changes an invoice, not the project: still noticed without invoice rows.
    paid_before = paid_to_date(env.sandbox, 1001)
    with env.sandbox.world.lock:
        env.sandbox.world.bigtime.ledger.record_payment(
            bigtime_invoices(env.sandbox, 1004)[-1]["Sid"], 2500
        )  # not linked
        env.sandbox.world.bigtime.ledger.record_payment(bigtime_invoices(env.sandbox, 1001)[-1]["Sid"], 500)
    clear_logs(env.sandbox)
    result, _ = env.run()
    assert budget_reads(env.sandbox) == ["/task/budgetstatusbyproject/1001"]
    assert env.opp(env.opps[1001])["BigTime_Paid_To_Date__c"] == pytest.approx(paid_before + 500)


# ---- scale and cancel --------------------------------------------------------------------------------------
def add_linked_projects(env: Env, n: int) -> list[int]:
    world = env.sandbox.world
    pids = []
    with world.lock:
        for i in range(n):
            # Project-level budget = its one task's (as in the seed; BigTime keeps both).
            pid = world.bigtime.directory.create_project(
                {"Nm": f"Bulk project {i:03d}", "BudgetHours": 10 + i, "BudgetFees": 1000 + i}
            )
            tid = world.bigtime.directory.add_task(
                pid, {"TaskNm": "Work", "BudgetHours": 10 + i, "BudgetFees": 1000 + i, "BudgetExps": 5}
            )
            world.bigtime.ledger.log_time({"ProjectSID": pid, "TaskSID": tid, "Hours_IN": 1 + i % 8})
            opp = world.salesforce.insert(
                "Opportunity",
                {"Name": f"Bulk deal {i:03d}", "StageName": "Closed Won", "CloseDate": "2026-12-31"},
                system=True,
            )
            env.names[opp] = f"Bulk deal {i:03d}"
            pids.append(pid)
            with env.store.transaction():
                env.store.add_link(opp, pid, None, None, env.names[opp])
            env.opps[pid] = opp
    return pids


def test_250_linked_projects_take_two_collection_updates(env):
    pids = add_linked_projects(env, 246)  # + the 4 seeded links = 250
    clear_logs(env.sandbox)
    result, _ = env.run()
    assert result.projects_changed == 250 and result.opportunities_written == 250
    assert [w for w in sf_writes(env.sandbox) if w[0] == "PATCH"] == [("PATCH", COLLECTION)] * 2
    posted = sum(len(bigtime_invoices(env.sandbox, pid)) for pid in PROJECTS)  # the bulk ones have none
    assert len(bt_requests(env.sandbox)) == 2 + 2 * 250 + (posted if env.strict else 0)  # strict: + each detail once
    for pid in (pids[0], pids[123], pids[-1]):
        assert_opportunity_matches(env, pid)
    assert env.opp(env.opps[pids[-1]])["BigTime_Hours_Logged__c"] == 1 + 245 % 8


def test_cancel_stops_between_batches_and_the_next_run_finishes(env, monkeypatch):
    add_linked_projects(env, 246)
    cancel = threading.Event()
    original = env.sf.update_many

    def update_many(sobject, records):
        results = original(sobject, records)
        cancel.set()  # the admin quits while the first batch is being written
        return results

    monkeypatch.setattr(env.sf, "update_many", update_many)
    result, _ = env.run(cancel=cancel)
    assert result.cancelled and result.projects_changed == 200 and result.opportunities_written == 200
    assert len(env.store.all_written()) == 200

    monkeypatch.setattr(env.sf, "update_many", original)
    clear_logs(env.sandbox)
    result, _ = env.run()
    assert not result.cancelled and result.projects_changed == 50
    assert len(budget_reads(env.sandbox)) == 50
    assert len(env.store.all_written()) == 250


def test_cancel_while_reading_a_batch_writes_nothing_of_it(env, monkeypatch):
    cancel = threading.Event()
    original = env.bt.budget_status
    reads = []

    def budget_status(pid):
        reads.append(pid)
        if len(reads) == 2:
            cancel.set()
        return original(pid)

    monkeypatch.setattr(env.bt, "budget_status", budget_status)
    clear_logs(env.sandbox)
    result, _ = env.run(cancel=cancel)
    assert result.cancelled and result.projects_changed == 0
    assert len(reads) == 2 and sf_writes(env.sandbox) == [] and env.store.all_written() == {}
    result, _ = env.run()
    assert result.projects_changed == 4


# ---- absent is never 0 ---------------------------------------------------------------------------------
def history_without(env: Env, drop: dict[int, tuple[str, ...]]) -> list[dict[str, Any]]:
    """BigTime's invoice history as the client would read it, with some fields left out of some invoices."""
    r = requests.get(
        env.sandbox.bigtime_url + "/invoice/history",
        params={"startDt": "2000-01-01", "endDt": "2100-01-01"},
        headers={
            "X-Auth-ApiToken": cred.BT_API_KEY,
            "X-Auth-Realm": cred.BT_FIRM_ID,
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    invoices = r.json()
    for inv in invoices:
        for name in drop.get(inv["Sid"], ()):
            inv.pop(name, None)
    return invoices


def invoiced_before_tax(sandbox, pid: int) -> float:
    with sandbox.world.lock:
        return sandbox.world.bigtime.ledger.project_totals(pid)["InvoicedToDate"]


def test_an_invoice_without_its_amount_is_read_from_its_detail_else_the_next_source(env):
    victim = bigtime_invoices(env.sandbox, 1003)[0]
    body = history_without(env, {victim["Sid"]: ("TotalAmt", "PaidAmt")})
    admin(
        env.sandbox.bigtime_admin_url,
        "POST",
        "/faults",
        {"kind": "status", "status": 200, "body": body, "count": None, "method": "GET", "path": "/invoice/history"},
    )
    admin(
        env.sandbox.bigtime_admin_url,
        "POST",
        "/faults",
        {
            "kind": "status",
            "status": 404,
            "count": None,
            "body": {"Message": "Invoice not found."},
            "method": "GET",
            "path": f"/invoice/detail/{victim['Sid']}$",
        },
    )
    _, cycle = env.run()
    # Its detail refused: invoiced falls to the next source (Σ InvoicedToDate, before tax); paid has none.
    opp = env.opp(env.opps[1003])
    assert opp["BigTime_Invoiced_To_Date__c"] == pytest.approx(invoiced_before_tax(env.sandbox, 1003))
    assert opp["BigTime_Paid_To_Date__c"] is None  # not 0
    row = next(r for r in env.invoice_rows() if r["BigTime_Invoice_Id__c"] == str(victim["Sid"]))
    assert row["Amount__c"] is None and row["Paid__c"] is None  # not 0, and not its InvoiceAmt
    assert_opportunity_matches(env, 1001)  # the others are whole
    sources = env.store.written(env.opps[1003])[1]["_sources"]
    assert (
        sources["invoiced_to_date"] == "sum of InvoicedToDate on budget-status rows" and sources["paid_to_date"] == ""
    )
    assert env.events(cycle, "warning") == []  # paid came for the 3 other projects: a source exists

    # The detail answers again: asked again when the project's turn in the rotation comes (the listing is unchanged).
    admin(env.sandbox.bigtime_admin_url, "DELETE", "/faults")
    admin(
        env.sandbox.bigtime_admin_url,
        "POST",
        "/faults",
        {"kind": "status", "status": 200, "body": body, "count": None, "method": "GET", "path": "/invoice/history"},
    )
    clear_logs(env.sandbox)
    env.run()
    assert not [p for _, p in bt_requests(env.sandbox) if p.startswith("/invoice/detail/")]  # not every run
    env.run(later=REFRESH_MIN_AGE)
    assert_opportunity_matches(env, 1003)  # TotalAmt and PaidAmt, from the detail
    assert_rows_match(env, 1003)
    assert env.store.written(env.opps[1003])[1]["_sources"]["invoiced_to_date"] == "TotalAmt from invoice details"


def test_invoices_without_a_project_fall_back_to_the_rows_and_leave_paid_empty(env):
    stray = bigtime_invoices(env.sandbox, 1004)[0]  # a project nobody linked
    body = history_without(env, {stray["Sid"]: ("ProjectSid",)})
    admin(
        env.sandbox.bigtime_admin_url,
        "POST",
        "/faults",
        {"kind": "status", "status": 200, "body": body, "method": "GET", "path": "/invoice/history"},
    )
    _, cycle = env.run()
    for pid in PROJECTS:  # whose is the stray invoice? no project's invoice sum can be trusted
        opp = env.opp(env.opps[pid])
        assert opp["BigTime_Invoiced_To_Date__c"] == pytest.approx(invoiced_before_tax(env.sandbox, pid))
        assert opp["BigTime_Paid_To_Date__c"] is None
        assert opp["BigTime_Hours_Logged__c"] is not None
        assert_rows_match(env, pid)  # the rows of invoices that do name their project are written
    (warning,) = [e.message for e in env.events(cycle, "warning")]  # paid: no source at all, said once
    assert warning.startswith("Paid to date stays empty: BigTime gave it for none of the 4 projects read")
    assert "Settings › Fields" in warning and "absent" not in warning
    _, again = env.run(later=REFRESH_MIN_AGE)
    assert env.events(again, "warning") == []


# ---- freshness without DtModified --------------------------------------------------------------------
def test_rotation_rereads_at_most_its_share_oldest_first(env):
    pids = add_linked_projects(env, 6)  # 10 links
    env.run()
    interval = 60  # 30 requests/min x 1 min x 0.5 = 15 → 7 projects (2 requests each) per run
    size = rotation_size(interval, 2)
    assert size == 7
    clear_logs(env.sandbox)
    result, _ = env.run(later=REFRESH_MIN_AGE / 2, interval=interval)
    assert result.projects_rotated == 0 and budget_reads(env.sandbox) == []  # none due yet

    with env.sandbox.world.lock:  # a week's work on the last one: strict BigTime does not say so in the list
        env.sandbox.world.bigtime.ledger.log_time({"ProjectSID": pids[-1], "Hours_IN": 5})
    clear_logs(env.sandbox)
    result, _ = env.run(later=REFRESH_MIN_AGE, interval=interval)
    first = [int(p.rsplit("/", 1)[1]) for p in budget_reads(env.sandbox)]
    if env.strict:
        assert result.projects_rotated == size and len(first) == size
        assert len(bt_requests(env.sandbox)) == 2 + 2 * size
    clear_logs(env.sandbox)
    result, _ = env.run(later=REFRESH_MIN_AGE, interval=interval)
    second = [int(p.rsplit("/", 1)[1]) for p in budget_reads(env.sandbox)]
    # Between them, every project was re-read once: the second run took those the first left.
    assert sorted(first + second) == sorted(env.opps)
    assert_opportunity_matches(env, pids[-1])


# ---- every combination of the figures' strict readings -------------------------------------------------
@pytest.mark.parametrize("history_total", [False, True])
@pytest.mark.parametrize("budget_on_detail", [False, True])
def test_each_figure_from_the_first_source_under_every_reading(sandbox, tmp_path, history_total, budget_on_detail):
    """The two switches of the figures (strict: off) in all four combinations: the same values reach
    Salesforce (TotalAmt from the history or the invoice's detail; the project budget from the detail
    or not at all), the source recorded says which, the invoice details are read once, and no warning."""
    admin(
        sandbox.bigtime_admin_url,
        "POST",
        "/switches",
        {"history_total_amt": history_total, "task_budget_on_detail": budget_on_detail},
    )
    e = make_env(sandbox, "strict", tmp_path)
    clear_logs(sandbox)
    _, cycle = e.run()
    posted = {pid: bigtime_invoices(sandbox, pid) for pid in PROJECTS}
    details = sorted(p for _, p in bt_requests(sandbox) if p.startswith("/invoice/detail/"))
    assert details == (
        [] if history_total else sorted(f"/invoice/detail/{i['Sid']}" for v in posted.values() for i in v)
    )
    for pid in PROJECTS:
        opp = e.opp(e.opps[pid])
        with sandbox.world.lock:
            totals = sandbox.world.bigtime.ledger.project_totals(pid)
            by_task = sandbox.world.bigtime.directory.budgeted_by_task(pid)
        assert opp["BigTime_Invoiced_To_Date__c"] == pytest.approx(totals["TotalAmt"])
        assert opp["BigTime_Budget_Total__c"] == pytest.approx(totals["EstTotal"])
        no_budget = by_task and not budget_on_detail
        assert opp["BigTime_Budget_Fees__c"] == (None if no_budget else pytest.approx(totals["BudgetFees"]))
        assert opp["BigTime_Budget_Hours__c"] == (None if no_budget else pytest.approx(totals["BudgetHours"]))
        sources = e.store.written(e.opps[pid])[1]["_sources"]
        assert sources["invoiced_to_date"] == (
            "TotalAmt in the invoice history" if history_total or not posted[pid] else "TotalAmt from invoice details"
        )
        assert sources["budget_fees"] == ("" if no_budget else "BudgetFees on the project detail")
        assert_rows_match(e, pid)
    assert e.events(cycle, "warning") == []
    clear_logs(sandbox)
    e.run()  # idle: nothing read again
    assert sorted(bt_requests(sandbox)) == [("GET", "/invoice/history"), ("GET", "/project")]
    e.store.close()


# ---- a bad invoice detail --------------------------------------------------------------------------------
def test_a_garbled_invoice_detail_falls_back_for_its_project_only(sandbox, tmp_path):
    """A detail answered with an HTML page (200, not JSON): that project's invoiced comes from its
    next source (sum of InvoicedToDate), its paid from the history, and the other projects are whole."""
    e = make_env(sandbox, "strict", tmp_path)
    try:
        victim = bigtime_invoices(sandbox, 1003)[0]
        admin(
            sandbox.bigtime_admin_url,
            "POST",
            "/faults",
            {
                "kind": "html",
                "status": 200,
                "count": None,
                "method": "GET",
                "path": f"/invoice/detail/{victim['Sid']}$",
            },
        )
        result, cycle = e.run()
        assert result.projects_changed == 4 and result.rejected == 0
        opp = e.opp(e.opps[1003])
        assert opp["BigTime_Invoiced_To_Date__c"] == pytest.approx(invoiced_before_tax(sandbox, 1003))
        assert opp["BigTime_Paid_To_Date__c"] == pytest.approx(paid_to_date(sandbox, 1003))
        for pid in (1001, 1005, 1006):
            assert_opportunity_matches(e, pid)
        assert e.events(cycle, "warning") == []
    finally:
        e.store.close()


def test_bigtime_failing_on_a_detail_stops_the_run_and_the_next_one_finishes(sandbox, tmp_path):
    e = make_env(sandbox, "strict", tmp_path)
    try:
        victim = bigtime_invoices(sandbox, 1005)[0]
        admin(
            sandbox.bigtime_admin_url,
            "POST",
            "/faults",
            {
                "kind": "status",
                "status": 500,
                "count": None,
                "method": "GET",
                "path": f"/invoice/detail/{victim['Sid']}$",
            },
        )
        with pytest.raises(ServiceUnavailable):
            e.run()
        admin(sandbox.bigtime_admin_url, "DELETE", "/faults")
        result, _ = e.run()
        assert result.rejected == 0
        for pid in PROJECTS:
            assert_opportunity_matches(e, pid)
            assert_rows_match(e, pid)
        assert len(e.invoice_rows()) == sum(len(bigtime_invoices(sandbox, pid)) for pid in PROJECTS)  # none twice
    finally:
        e.store.close()


def test_details_beyond_a_runs_allowance_are_read_over_the_next_runs_invoiced_from_one_source(
    sandbox, tmp_path, monkeypatch
):
    """A write-back interval of 4 s allows 1 invoice detail a run: the seed's 6 invoices take 6 runs.
    Meanwhile every other figure is written at once, and invoiced to date is never written from
    another source (sum of InvoicedToDate) in between: only TotalAmt, once all its project's details are in."""
    e = make_env(sandbox, "strict", tmp_path)
    try:
        assert rotation_size(4, 1) == 1
        calls = spy_updates(e, monkeypatch)
        posted = {pid: bigtime_invoices(sandbox, pid) for pid in PROJECTS}
        e.run(interval=4)
        for pid in PROJECTS:
            opp = e.opp(e.opps[pid])
            assert opp["BigTime_Hours_Logged__c"] is not None and opp["BigTime_Budget_Total__c"] is not None
            assert (opp["BigTime_Invoiced_To_Date__c"] is None) is bool(posted[pid])  # 1006 has none: 0 at once
        runs = 1
        while any(e.opp(e.opps[pid])["BigTime_Invoiced_To_Date__c"] is None for pid in PROJECTS):
            clear_logs(sandbox)
            e.run(interval=4)
            runs += 1
            assert len([p for _, p in bt_requests(sandbox) if p.startswith("/invoice/detail/")]) <= 1
            assert runs <= 8
        assert runs == sum(len(v) for v in posted.values())  # one detail a run, each read once
        for pid in PROJECTS:
            assert_opportunity_matches(e, pid)
            assert_rows_match(e, pid)
        invoiced = {
            (r["Id"], r["BigTime_Invoiced_To_Date__c"])
            for _, recs in calls
            for r in recs
            if r.get("BigTime_Invoiced_To_Date__c") is not None
        }
        with sandbox.world.lock:
            totals = {e.opps[pid]: sandbox.world.bigtime.ledger.project_totals(pid)["TotalAmt"] for pid in PROJECTS}
        assert {oid for oid, _ in invoiced} == set(totals)  # 1006 (no invoice): 0 in the first run
        assert all(value == pytest.approx(totals[oid]) for oid, value in invoiced)  # only ever TotalAmt
    finally:
        e.store.close()
