"""The summary page runs doctor off the GUI thread before Save and says what it found in plain
words; Save waits only while something needed differs."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QWizard

from test_wizard import (  # noqa: F401 (fixtures)
    PAGE_SUMMARY,
    TIMEOUT,
    connected,
    memory_keyring,
    open_wizard,
    profile,
    wait_stage_ready,
)


def to_summary(qtbot, wizard) -> None:
    wait_stage_ready(qtbot, wizard)
    wizard.next()
    qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
    wizard.next()
    assert wizard.currentId() == PAGE_SUMMARY


def test_summary_checks_before_save_in_plain_words(sandbox, connected, open_wizard, qtbot, tmp_path) -> None:
    wizard = open_wizard(connected, "stage")
    to_summary(qtbot, wizard)
    page = wizard.summary_page
    assert page.doctor_report is None and page.doctor.text().startswith("Checking")  # the GUI thread did not wait
    qtbot.waitUntil(lambda: page.doctor_report is not None, timeout=TIMEOUT)
    text = page.doctor.text()
    assert text.startswith("Checked ") and "things BigSync relies on" in text and "Fix these" not in text
    assert "not checked yet" in text  # nothing is linked before the first sync
    save = wizard.button(QWizard.WizardButton.CommitButton)  # "Save" (the summary is a commit page)
    assert page.isComplete() and save.isEnabled()
    shot = os.environ.get("BIGSYNC_SCREENSHOT_DIR") or str(tmp_path)
    assert page.grab().save(os.path.join(shot, "summary-doctor-ok.png"))


def test_a_needed_difference_holds_save_and_says_what_to_do(
    sandbox, connected, open_wizard, qtbot, tmp_path, monkeypatch
) -> None:
    wizard = open_wizard(connected, "stage")
    to_summary(qtbot, wizard)
    page = wizard.summary_page
    qtbot.waitUntil(lambda: page.doctor_report is not None, timeout=TIMEOUT)
    # The field was deleted in Salesforce after the fields page listed it.
    chosen = wizard.fields_page.field_map()
    monkeypatch.setattr(wizard.fields_page, "field_map", lambda: {**chosen, "wip": "BigTime_WIP_Gone__c"})
    page.check_again.click()
    qtbot.waitUntil(lambda: page.doctor_report is not None, timeout=TIMEOUT)
    text = page.doctor.text()
    assert "1 thing it needs is different" in text and "Opportunity has no field BigTime_WIP_Gone__c: create it" in text
    save = wizard.button(QWizard.WizardButton.CommitButton)  # "Save" (the summary is a commit page)
    assert not page.isComplete() and not save.isEnabled()
    shot = os.environ.get("BIGSYNC_SCREENSHOT_DIR") or str(tmp_path)
    assert page.grab().save(os.path.join(shot, "summary-doctor-needed.png"))

    monkeypatch.setattr(wizard.fields_page, "field_map", lambda: chosen)  # fixed: check again
    page.check_again.click()
    qtbot.waitUntil(lambda: page.doctor_report is not None, timeout=TIMEOUT)
    assert page.isComplete() and save.isEnabled()
