"""Issue 20 item 4 in Settings › Trigger: the choice for opportunities without an account, against the
sandbox — BigTime's active clients listed, the choice saved (and checked), back to reporting them."""

from __future__ import annotations

import requests
from PySide6.QtCore import Qt

from bigsync_gui.core.settings import Settings
from bigsync_gui.gui.settings_window import SECTIONS
from test_settings_window import configured, open_settings
from test_wizard import TIMEOUT, connected, memory_keyring, profile  # noqa: F401 - fixtures


def clients(sandbox) -> dict[str, dict]:
    return {c["Nm"]: c for c in requests.get(sandbox.bigtime_admin_url + "/records/client", timeout=10).json()}


def test_choose_a_client_then_report_again(sandbox, connected, qtbot) -> None:
    configured(connected)
    window = open_settings(qtbot, connected)
    panel = window.default_client
    window.sidebar.setCurrentRow(SECTIONS.index("Trigger"))
    qtbot.waitUntil(lambda: panel.clients.count() > 0, timeout=TIMEOUT)
    assert panel.report.isChecked() and not panel.clients.isEnabled()  # the default: report them
    names = [panel.clients.itemText(i) for i in range(panel.clients.count())]
    active = {
        f"{name} ({c['ClientId']})" if c.get("ClientId") else name
        for name, c in clients(sandbox).items()
        if not c.get("IsInactive")
    }
    assert set(names) == active and names == sorted(names, key=str.casefold)
    vandelay = clients(sandbox)["Vandelay Industries"]["SystemId"]
    panel.use_client.setChecked(True)
    assert panel.clients.isEnabled()
    panel.clients.setCurrentIndex(panel.clients.findData(vandelay))
    with qtbot.waitSignal(panel.saved, timeout=TIMEOUT):
        panel.save_button.click()
    assert Settings.load(connected).sync.default_client_id == vandelay
    assert "go under the BigTime client Vandelay Industries" in panel.status.text()
    assert panel.status.textFormat() == Qt.TextFormat.PlainText

    panel.report.setChecked(True)
    with qtbot.waitSignal(panel.saved, timeout=TIMEOUT):
        panel.save_button.click()
    assert Settings.load(connected).sync.default_client_id is None
    assert "refused and reported" in panel.status.text()


def test_a_saved_client_since_made_inactive_is_said(sandbox, connected, qtbot) -> None:
    configured(connected)
    globex = clients(sandbox)["Globex Corporation"]["SystemId"]
    settings = Settings.load(connected)
    settings.sync.default_client_id = globex
    settings.save(connected)
    requests.patch(
        f"{sandbox.bigtime_admin_url}/records/client/{globex}", json={"IsInactive": True}, timeout=10
    ).raise_for_status()
    window = open_settings(qtbot, connected)
    panel = window.default_client
    window.sidebar.setCurrentRow(SECTIONS.index("Trigger"))
    qtbot.waitUntil(lambda: "no longer an active BigTime client" in panel.status.text(), timeout=TIMEOUT)
    assert panel.use_client.isChecked() and panel.clients.findData(globex) < 0
