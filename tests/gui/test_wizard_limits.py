"""Issue 18 A, done when, through the wizard: set up with the wizard (Save starts the sync) against
the strict BigTime sandbox; an account renamed to 72 characters then gets, on its first win, one
client whose code and name fit BigTime's limits (no 400), and its 3 wins 3 projects under it. The
rules are the engine's, tested through the CLI in tests/integration/test_limits_cli.py; this holds
them on the path a new admin takes."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from bigsync_gui.core.bigtime_limits import ELLIPSIS, account_of_code, client_code, length
from bigsync_gui.sandbox.salesforce import ids as sf_ids
from test_wizard import (  # noqa: F401 (fixtures)
    API_NAME_ROLE,
    PAGE_DONE,
    PAGE_FIELDS,
    PAGE_SUMMARY,
    TIMEOUT,
    connected,
    make_context,
    memory_keyring,
    profile,
    wait_stage_ready,
)

LONG_NAME = "Globex Corporation International Holdings of North America — Consultants"  # 72 characters


def insert(sandbox, object_name: str, fields: dict[str, Any]) -> str:
    with sandbox.world.lock:
        return sandbox.world.salesforce.insert(object_name, fields)


def win(sandbox, name: str, account: str) -> str:
    fields = {"Name": name, "StageName": "Closed Won", "AccountId": account, "CloseDate": date(2026, 12, 1).isoformat()}
    return insert(sandbox, "Opportunity", fields)


def bigtime(sandbox, kind: str) -> list[dict[str, Any]]:
    with sandbox.world.lock:
        return [dict(r) for r in sandbox.world.bigtime.records[kind].values()]


def test_a_72_character_account_after_the_wizard_gets_one_client_that_fits_and_3_projects(
    sandbox,
    connected,
    qtbot,
    monkeypatch,  # noqa: F811
) -> None:
    from bigsync_gui.gui.session import DesktopSession

    monkeypatch.setattr(DesktopSession, "webengine_loaded", staticmethod(lambda: False))  # the loop starts here
    requests.delete(sandbox.bigtime_admin_url + "/log", timeout=10).raise_for_status()
    session = DesktopSession(make_context(connected))
    try:
        session.open_wizard("stage")
        wizard = session.wizard
        wait_stage_ready(qtbot, wizard)
        page = wizard.stage_page
        page.combo.setCurrentIndex(page.combo.findData("Closed Won", API_NAME_ROLE))
        qtbot.waitUntil(lambda: page.already_past() is not None, timeout=TIMEOUT)
        wizard.next()
        assert wizard.currentId() == PAGE_FIELDS
        qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
        wizard.next()
        assert wizard.currentId() == PAGE_SUMMARY
        reports: list = []
        session.runner.cycle_finished.connect(reports.append)
        with qtbot.waitSignal(wizard.saved, timeout=TIMEOUT):
            qtbot.mouseClick(wizard.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
        assert wizard.currentId() == PAGE_DONE and session.running
        qtbot.waitUntil(lambda: any(r.kind == "trigger" for r in reports), timeout=TIMEOUT)

        account = insert(sandbox, "Account", {"Name": "Globex"})
        with sandbox.world.lock:
            sandbox.world.salesforce.update("Account", account, {"Name": LONG_NAME})  # renamed to 72 characters
        wins = [win(sandbox, f"Globex – Phase {n}", account) for n in (1, 2, 3)]
        session.sync_now()  # or Change Data Capture wakes it: either way the same cycle's rules

        def ours() -> list[dict]:
            return [c for c in bigtime(sandbox, "client") if account_of_code(c["ClientId"]) == sf_ids.to18(account)]

        def projects() -> dict[str, dict]:
            return {p["ProjectCode"]: p for p in bigtime(sandbox, "project")}

        qtbot.waitUntil(lambda: all("SF-" + oid in projects() for oid in wins), timeout=60000)
        (client,) = ours()
        assert client["ClientId"] == client_code(account) and len(client["ClientId"]) <= 15
        assert client["Nm"].endswith(ELLIPSIS) and length(client["Nm"]) <= 50
        assert [projects()["SF-" + oid]["ClientId"] for oid in wins] == [client["SystemId"]] * 3
        log = requests.get(sandbox.bigtime_admin_url + "/log", timeout=10).json()["entries"]
        assert [e for e in log if e["status"] == 400] == []  # nothing over a limit was ever sent
    finally:
        session.shutdown()
