"""The wizard's Fields page offers "Create the missing fields": it lists them and asks first, creates
them (with the permission set), reads describe again; without Customize Application it says so and
keeps the hand-made way. Screenshots of the page are written for docs/wizard.md."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from bigsync_gui.core.field_setup import INVOICE_FIELDS
from bigsync_gui.core.settings import DEFAULT_FIELD_MAP
from test_wizard import TIMEOUT, connected, memory_keyring, open_wizard, profile  # noqa: F401  (fixtures)

CREATED = len(DEFAULT_FIELD_MAP) + len(INVOICE_FIELDS) + 1  # every figure's field, the object and its fields
SHOTS = Path(os.environ.get("BIGSYNC_SHOTS", "")) if os.environ.get("BIGSYNC_SHOTS") else None


def sandbox_metadata(sandbox, **body) -> dict:
    url = sandbox.salesforce_admin_url + "/metadata"
    r = requests.post(url, json=body, timeout=10) if body else requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def fields_page(open_wizard, connected, qtbot):  # noqa: F811
    wizard = open_wizard(connected, "fields")
    page = wizard.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    return wizard, page


def statuses(page) -> dict[str, str]:
    table = page.table
    return {table.item(row, 0).toolTip(): table.item(row, 2).toolTip() for row in range(table.rowCount())}


def shot(widget, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / name))


def test_creates_the_missing_fields_after_asking(sandbox, connected, open_wizard, qtbot) -> None:  # noqa: F811
    sandbox_metadata(sandbox, bigsync_fields="absent")
    wizard, page = fields_page(open_wizard, connected, qtbot)
    panel = page.create_panel
    assert set(statuses(page).values()) == {"✗ missing"}
    assert panel.isVisible() and panel.button.isEnabled() and not panel.note.isVisible()
    shot(wizard, "fields-missing.png")

    panel.button.click()
    qtbot.waitUntil(lambda: panel.confirm is not None and panel.confirm.isVisible(), timeout=TIMEOUT)
    box = panel.confirm
    listed = [box.items.item(i).text() for i in range(box.items.count())]
    assert any(line.startswith("Opportunity.BigTime_WIP__c — Currency(16, 2)") for line in listed)
    assert any(line.startswith("the custom object BigTime_Invoice__c") for line in listed)
    assert box.create_button.isDefault()
    assert sandbox_metadata(sandbox)["custom_fields"] == []  # asked first: nothing sent yet
    shot(box, "fields-create-confirm.png")
    box.create_button.click()

    qtbot.waitUntil(lambda: panel.outcome.isVisible() and page.isComplete(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: set(statuses(page).values()) == {"✓ exists"}, timeout=TIMEOUT)
    assert panel.outcome.text() == (
        f"✓ Created {CREATED - 1} fields and the object BigTime_Invoice__c in "
        "Salesforce. The permission set “BigSync fields” gives the connected user "
        "access to them."
    )
    assert "has the BigTime_Invoice__c object" in page.invoice.text()
    assert page.problems() == [] and not panel.button.isVisible()
    assert len(sandbox_metadata(sandbox)["custom_fields"]) == CREATED - 1  # all but the object
    shot(wizard, "fields-created.png")


def test_cancel_creates_nothing(sandbox, connected, open_wizard, qtbot) -> None:  # noqa: F811
    sandbox_metadata(sandbox, bigsync_fields="absent")
    _wizard, page = fields_page(open_wizard, connected, qtbot)
    page.create_panel.button.click()
    qtbot.waitUntil(lambda: page.create_panel.confirm is not None, timeout=TIMEOUT)
    page.create_panel.confirm.cancel_button.click()
    qtbot.wait(200)
    assert sandbox_metadata(sandbox)["custom_fields"] == [] and "✗ missing" in statuses(page).values()


def test_without_customize_application_the_page_says_so(sandbox, connected, open_wizard, qtbot) -> None:  # noqa: F811
    sandbox_metadata(sandbox, bigsync_fields="absent", customize_application=False)
    wizard, page = fields_page(open_wizard, connected, qtbot)
    panel = page.create_panel
    assert panel.isVisible() and not panel.button.isEnabled()
    assert panel.note.isVisible() and "lacks the Customize Application permission" in panel.note.text()
    assert "Setup › Object Manager › Opportunity" in page.missing.text()  # the hand-made way stays
    shot(wizard, "fields-no-right.png")


def test_nothing_missing_no_button(sandbox, connected, open_wizard, qtbot) -> None:  # noqa: F811
    _wizard, page = fields_page(open_wizard, connected, qtbot)
    assert not page.create_panel.isVisible()


def test_settings_fields_offers_it_too(sandbox, connected, qtbot) -> None:  # noqa: F811
    from test_settings_window import configured, open_settings

    from bigsync_gui.gui.settings_window import SECTIONS

    configured(connected)
    sandbox_metadata(sandbox, bigsync_fields="absent")
    window = open_settings(qtbot, connected)
    window.sidebar.setCurrentRow(SECTIONS.index("Fields"))
    page = window.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    panel = page.create_panel
    assert panel.isVisible() and panel.button.isEnabled()
    panel.button.click()
    qtbot.waitUntil(lambda: panel.confirm is not None, timeout=TIMEOUT)
    panel.confirm.create_button.click()
    qtbot.waitUntil(lambda: panel.outcome.isVisible() and page.isComplete() and page.problems() == [], timeout=TIMEOUT)
    assert panel.outcome.text().startswith("✓ Created")


def test_the_question_fits_a_small_screen_at_200_percent(sandbox, connected, open_wizard, qtbot) -> None:  # noqa: F811
    from bigsync_gui.gui.pages.create_fields import ConfirmCreate

    lines = [f"Opportunity.Field_{n}__c — Currency(16, 2) (a figure)" for n in range(40)]
    box = ConfirmCreate(lines)
    qtbot.addWidget(box)
    box.show()
    room = box.screen().availableGeometry()
    assert box.height() <= room.height() and box.width() <= room.width()
    assert box.create_button.isVisible() and box.items.count() == 40
