"""The console page: a person moves stages, deletes/restores, logs delivery in BigTime."""

from __future__ import annotations

from datetime import date

import requests

from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox.bigtime.data import EXPENSE_CODES


def _open_opportunity(sandbox: Sandbox) -> dict:
    rows = [
        r
        for r in sandbox.world.salesforce.all_records("Opportunity")
        if not r.get("IsDeleted") and r["StageName"] == "Prospecting"
    ]
    assert rows, "the seed has prospecting opportunities"
    return rows[0]


def act(sandbox: Sandbox, path: str, **form: object) -> None:
    """Post a console form; it must redirect back with a success message."""
    answer = requests.post(sandbox.console_url + path, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert "?ok=" in answer.headers["Location"], answer.headers["Location"]


def test_page_lists_both_services(sandbox: Sandbox) -> None:
    page = requests.get(sandbox.console_url, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    opp = _open_opportunity(sandbox)
    assert opp["Id"] in page.text
    project = sandbox.world.bigtime.directory.project_list()[0]
    assert f"<td data-label='Id'>{project['SystemId']}</td>" in page.text
    assert "Log time" in page.text and "Record a payment" in page.text


def test_without_trailing_slash_redirects_so_forms_post_to_the_console(sandbox: Sandbox) -> None:
    answer = requests.get(sandbox.console_url.rstrip("/"), allow_redirects=False, timeout=10)
    assert answer.status_code == 308
    assert answer.headers["Location"].endswith("/__sandbox__/console/")


def test_move_stage_delete_and_restore(sandbox: Sandbox) -> None:
    sf = sandbox.world.salesforce
    opp = _open_opportunity(sandbox)
    before = opp["SystemModstamp"]
    answer = requests.post(
        f"{sandbox.console_url}opportunity/{opp['Id']}/stage",
        data={"stage": "Closed Won"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    assert "ok=" in answer.headers["Location"]
    moved = sf.get("Opportunity", opp["Id"])
    assert moved["StageName"] == "Closed Won" and moved["IsWon"] is True
    assert moved["SystemModstamp"] > before

    act(sandbox, f"opportunity/{opp['Id']}/delete")
    assert sf.get("Opportunity", opp["Id"]) is None
    assert sf.get("Opportunity", opp["Id"], include_deleted=True)["IsDeleted"] is True
    act(sandbox, f"opportunity/{opp['Id']}/restore")
    assert sf.get("Opportunity", opp["Id"])["IsDeleted"] is False


def test_text_from_records_is_escaped(sandbox: Sandbox) -> None:
    name = "<script>alert('x')</script> & Co"
    answer = requests.post(sandbox.console_url + "opportunity", data={"name": name, "stage": "Prospecting"}, timeout=10)
    assert answer.status_code == 200  # followed the redirect back to the page
    assert "<script>alert" not in answer.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in answer.text


def test_refused_change_shows_the_reason_and_changes_nothing(sandbox: Sandbox) -> None:
    opp = _open_opportunity(sandbox)
    answer = requests.post(
        f"{sandbox.console_url}opportunity/{opp['Id']}/stage",
        data={"stage": "No Such Stage"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303 and "err=" in answer.headers["Location"]
    assert sandbox.world.salesforce.get("Opportunity", opp["Id"])["StageName"] == "Prospecting"
    shown = requests.get(sandbox.salesforce_url + answer.headers["Location"], timeout=10)
    assert "class='msg err'" in shown.text


def test_delivery_in_bigtime_moves_the_totals(sandbox: Sandbox) -> None:
    bt = sandbox.world.bigtime
    project = bt.directory.project_list()[0]
    staff = bt.directory.staff_list()[0]
    before = bt.ledger.project_totals(project["SystemId"])
    act(sandbox, "bigtime/time", project=project["SystemId"], staff=staff["SystemId"], hours="2.5", notes="workshop")
    act(
        sandbox,
        "bigtime/expense",
        project=project["SystemId"],
        staff=staff["SystemId"],
        category=EXPENSE_CODES[0]["Id"],
        amount="120",
    )
    after = bt.ledger.project_totals(project["SystemId"])
    assert after["HrsIn"] == round(before["HrsIn"] + 2.5, 2)
    assert after["ExpCostIn"] == round(before["ExpCostIn"] + 120, 2)

    act(sandbox, "bigtime/invoice", project=project["SystemId"], amount="1000")
    invoiced = bt.ledger.project_totals(project["SystemId"])
    assert invoiced["InvoicedToDate"] == round(after["InvoicedToDate"] + 1000, 2)
    newest = max(
        (
            i
            for i in bt.ledger.invoice_history(date(1900, 1, 1), date(2999, 1, 1))
            if i["ProjectSid"] == project["SystemId"]
        ),
        key=lambda i: i["Sid"],
    )
    act(sandbox, "bigtime/payment", invoice=newest["Sid"], amount="400")
    assert bt.ledger.get_invoice(newest["Sid"])["PaidAmt"] == 400
    assert bt.ledger.project_totals(project["SystemId"])["PaidAmt"] == round(invoiced["PaidAmt"] + 400, 2)


def test_org_setup_buttons(sandbox: Sandbox) -> None:
    """The console's Org setup section drives the same switches as the admin API's /metadata."""
    page = requests.get(sandbox.console_url, timeout=10).text
    assert "Org setup" in page and ">Remove them<" in page and "Take it away" in page
    act(sandbox, "setup/fields/off")
    meta = requests.get(sandbox.salesforce_admin_url + "/metadata", timeout=10).json()
    assert "Opportunity.BigTime_WIP__c" in meta["removed"] and "BigTime_Invoice__c" in meta["removed"]
    assert "missing (a fresh org)" in requests.get(sandbox.console_url, timeout=10).text
    act(sandbox, "setup/customize/off")
    assert requests.get(sandbox.salesforce_admin_url + "/metadata", timeout=10).json()["customize_application"] is False
    act(sandbox, "setup/cdc/off")
    assert requests.get(sandbox.salesforce_admin_url + "/streaming", timeout=10).json()["entities"] == []
    act(sandbox, "setup/cdc/on")
    act(sandbox, "setup/fields/on")
    act(sandbox, "setup/customize/on")
    meta = requests.get(sandbox.salesforce_admin_url + "/metadata", timeout=10).json()
    assert meta["removed"] == [] and meta["customize_application"] is True
    assert requests.get(sandbox.salesforce_admin_url + "/streaming", timeout=10).json()["entities"] == ["Opportunity"]
