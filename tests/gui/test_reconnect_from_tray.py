"""The tray's fix for a saved sign-in that stopped working opens the wizard at that connect page
saying so, with the form open — not "✓ Connected to …" from the saved settings beside a tray that
says "needs you to sign in again"."""

from __future__ import annotations

import keyring
import pytest
from PySide6.QtWidgets import QWizard

from bigsync_gui.core.engine import CycleReport
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.session import DesktopSession
from configured_profile import configure_profile


@pytest.fixture
def session(qtbot, sandbox, tmp_path):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    session = DesktopSession(SetupContext(configure_profile(sandbox, tmp_path / "p")))
    yield session
    if session.wizard is not None:
        session.wizard.done(0)
    session.shutdown()
    keyring.set_keyring(previous)


def refused(system: str, label: str) -> CycleReport:
    message = f"{label} needs you to sign in again: the saved sign-in was revoked, expired or replaced."
    return CycleReport(1, "trigger", "failed", message, error="ReconnectNeeded", system=system)


@pytest.mark.parametrize("system, label", [("salesforce", "Salesforce"), ("bigtime", "BigTime")])
def test_the_tray_fix_opens_the_form_and_says_why(qtbot, session, system, label) -> None:
    session.model.cycle_finished(refused(system, label))
    assert session.model.fix is not None and session.model.fix.start_page == system
    session.open_wizard(system)  # what "Reconnect …" in the tray's menu does
    wizard = session.wizard
    qtbot.addWidget(wizard)
    page = wizard.salesforce_page if system == "salesforce" else wizard.bigtime_page
    assert page.connected_label.text() == f"{label} needs you to sign in again: the saved connection no longer works."
    assert page.connected_icon.isHidden() and "Connected" not in page.connected_label.text()
    assert page.form_box.isVisible() and not page.again_button.isVisible()  # no extra click to reach the form
    assert page.primary_button().isDefault()  # Enter signs in (or connects), not Next
    assert not wizard.button(QWizard.WizardButton.NextButton).isDefault()


def test_a_reconnect_without_a_problem_shows_the_saved_connection(qtbot, session) -> None:
    """Settings › Reconnect… while all is well: the saved connection, as before, with Sign in again."""
    session.open_wizard("salesforce")
    wizard = session.wizard
    qtbot.addWidget(wizard)
    page = wizard.salesforce_page
    assert page.connected_label.text().startswith("Connected to Salesforce: ")
    assert page.again_button.isVisible() and not page.form_box.isVisible()
