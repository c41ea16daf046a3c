"""Issue 18 B, done when: against the strict sandbox, through the CLI, `sync --once --writeback` writes
the total budget = Σ EstTotal and invoiced to date from the first source that answers (the strict
history lists no TotalAmt: each invoice's detail), the fields with no source stay empty, and this
happy path says no warning; `status --json` and `doctor` say which source answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from bigsync_gui.core.profile import Profile
from bigsync_gui.core.store import Store
from bigsync_gui.sandbox import Sandbox
from configured_profile import win_opportunities
from test_cli_connect import env, profile, run, set_up  # noqa: F401  (fixtures)

SALES_TAX = 0.0825


def world_project(sandbox: Sandbox, opp_id: str) -> int:
    with sandbox.world.lock:
        return int(sandbox.world.salesforce.get_record("Opportunity", opp_id)["BigTime_Project_Id__c"])


def deliver(sandbox: Sandbox, pid: int) -> None:
    """A project budgeted by task, with time and expenses logged, one taxed invoice and a part payment."""
    bt = sandbox.world.bigtime
    with sandbox.world.lock:
        design = bt.directory.add_task(
            pid, {"TaskNm": "Design", "BudgetHours": 10, "BudgetFees": 1500, "BudgetExps": 300}
        )
        build = bt.directory.add_task(pid, {"TaskNm": "Build", "BudgetHours": 30, "BudgetFees": 4500})
        bt.ledger.log_time({"ProjectSID": pid, "TaskSID": design, "Hours_IN": 6})
        bt.ledger.log_time({"ProjectSID": pid, "TaskSID": build, "Hours_IN": 4})
        invoice = bt.ledger.create_invoice({"ProjectSid": pid}, tax_rate=SALES_TAX)
        bt.ledger.record_payment(invoice, 250)
        bt.ledger.log_time({"ProjectSID": pid, "TaskSID": build, "Hours_IN": 2})  # after the invoice: WIP


def opportunity(sandbox: Sandbox, opp_id: str) -> dict:
    with sandbox.world.lock:
        return dict(sandbox.world.salesforce.get_record("Opportunity", opp_id))


def test_strict_sandbox_writeback_through_the_cli_total_budget_and_invoiced_from_the_first_source(
    sandbox: Sandbox, env: dict[str, str], profile: Path
) -> None:  # noqa: F811
    assert (
        requests.get(sandbox.bigtime_admin_url + "/switches", timeout=10).json()["history_total_amt"]["value"] is False
    )
    set_up(sandbox, env, profile)
    (opp_id,) = win_opportunities(sandbox.salesforce_admin_url, 1)
    created = run(env, profile, "sync", "--once")
    assert created.returncode == 0, created.stderr
    pid = world_project(sandbox, opp_id)
    deliver(sandbox, pid)

    synced = run(env, profile, "sync", "--once", "--writeback", "--json")
    assert synced.returncode == 0, synced.stderr
    assert [json.loads(line)["kind"] for line in synced.stdout.splitlines()] == ["trigger", "writeback"]

    with sandbox.world.lock:
        totals = sandbox.world.bigtime.ledger.project_totals(pid)
    opp = opportunity(sandbox, opp_id)
    assert totals["EstTotal"] == 6300.0  # 1500 + 300 + 4500
    assert opp["BigTime_Budget_Total__c"] == pytest.approx(totals["EstTotal"])
    assert totals["TotalAmt"] > totals["InvoicedToDate"] > 0  # taxed: the two sources differ
    assert opp["BigTime_Invoiced_To_Date__c"] == pytest.approx(totals["TotalAmt"])  # from the invoice's detail
    assert opp["BigTime_Paid_To_Date__c"] == pytest.approx(250.0)
    assert opp["BigTime_Hours_Logged__c"] == pytest.approx(12.0)
    # No source in the strict reading: a task-budgeted project's detail has no project budget, rows no BudgetExps.
    assert (opp["BigTime_Budget_Fees__c"], opp["BigTime_Budget_Hours__c"], opp["BigTime_Budget_Expenses__c"]) == (
        None,
    ) * 3

    store = Store(Profile.at(profile).data_dir / "state.db")
    try:
        events = store.events(limit=500)
    finally:
        store.close()
    assert [e.message for e in events if e.kind == "warning"] == []  # the happy path: no warning
    (written,) = [e.message for e in events if e.kind == "written"]
    assert "Budget (total): sum of EstTotal on budget-status rows" in written
    assert "Invoiced to date: TotalAmt from invoice details" in written

    status = json.loads(run(env, profile, "status", "--json").stdout)
    sources = status["figure_sources"]
    assert sources["budget_total"] == {"sum of EstTotal on budget-status rows": 1}
    assert sources["invoiced_to_date"] == {"TotalAmt from invoice details": 1}
    assert sources["paid_to_date"] == {"PaidAmt in the invoice history": 1}
    assert sources["budget_fees"] == {"none": 1} and sources["budget_expenses"] == {"none": 1}

    doctor = json.loads(run(env, profile, "doctor", "--json").stdout)
    checks = {c["key"]: c for c in doctor["checks"]}
    assert checks["bigtime.figure_sources.invoiced_to_date"]["seen"] == ["source: TotalAmt from invoice details"]
    assert checks["bigtime.figure_sources.budget_total"]["status"] == "confirmed"
