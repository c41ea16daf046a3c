"""The fields BigSync offers to create follow the registry: every figure of DEFAULT_FIELD_MAP is
created as the wizard's Fields page says, and every wording reads as a Salesforce field type."""

from __future__ import annotations

from bigsync_gui.core.cadence import TriggerInterval
from bigsync_gui.core.cdc_readiness import CdcReadiness, timing_words
from bigsync_gui.core.field_setup import CREATE_AS, INVOICE_FIELDS, WantedField, metadata_for
from bigsync_gui.core.settings import DEFAULT_FIELD_MAP
from bigsync_gui.core.writeback_rows import INVOICE_FIELDS as WRITTEN_INVOICE_FIELDS


def test_every_figure_has_the_type_the_fields_page_shows() -> None:
    from bigsync_gui.gui.pages.fields import FIGURES

    for figure in DEFAULT_FIELD_MAP:
        assert figure in FIGURES, figure
        # a figure added to the registry needs its type in core/field_setup.py CREATE_AS too, or
        # `configure --create-fields` (which cannot import the GUI) would not create its field
        assert CREATE_AS.get(figure) == FIGURES[figure][2], f"add {figure!r}: {FIGURES[figure][2]!r} to CREATE_AS"
        metadata_for(WantedField("Opportunity", DEFAULT_FIELD_MAP[figure], CREATE_AS[figure], figure))  # reads


def test_the_invoice_object_gets_every_field_the_write_back_uses() -> None:
    created = {name for name, _ in INVOICE_FIELDS} | {"Name"}
    assert set(WRITTEN_INVOICE_FIELDS.values()) <= created


def every(seconds: int) -> TriggerInterval:
    return TriggerInterval(seconds, "set")


def test_timing_words() -> None:
    assert timing_words(CdcReadiness(True, True), every(420)) == "Instant"
    assert timing_words(CdcReadiness(True, None), every(420)) == "Instant"
    assert timing_words(CdcReadiness(False, True), every(420)) == "Checks every 7 min"
    assert timing_words(CdcReadiness(True, False), every(60)) == "Checks every 1 min"
    assert timing_words(CdcReadiness(None, None), every(30)) == "Checks every 30 s"
    assert timing_words(None, every(300)) == "Checks every 5 min"
    assert CdcReadiness(False, False).steps()[-1].startswith("Give the connected user View All")
    assert CdcReadiness(True, True).steps() == []


def test_the_account_figure_is_created_on_the_account() -> None:
    from bigsync_gui.core.field_setup import wanted_fields
    from bigsync_gui.core.settings import ACCOUNT_FIGURES

    wanted = {w.name: w.sobject for w in wanted_fields(DEFAULT_FIELD_MAP)}
    assert ACCOUNT_FIGURES == {"client_id"}
    assert wanted["BigTime_Client_Id__c"] == "Account" and wanted["BigTime_Project_Id__c"] == "Opportunity"
    assert metadata_for(WantedField("Account", "BigTime_Client_Id__c", CREATE_AS["client_id"], "client id")) == {
        "label": "BigTime Client Id",
        "required": False,
        "type": "Text",
        "length": 40,
        "externalId": True,
    }
