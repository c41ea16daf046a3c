"""The sandbox console's "Org setup" section: what the admin of a real org would change in Setup —
BigSync's fields present or not (a fresh org, to try *Create the missing fields*), the demo admin
with or without *Customize Application*, Change Data Capture on or off for Opportunity (instant
triggers or the fallback). The same switches as the admin API's ``/metadata`` and ``/streaming``
(docs/sandbox.md).
"""

from __future__ import annotations

import html
from typing import Any

from werkzeug.routing import Rule

from .salesforce.org_metadata import INVOICE_OBJECT
from .salesforce.permissions import Permissions


def setup_rules() -> list[Rule]:
    return [Rule("/setup/<what>/<value>", endpoint="change_setup", methods=["POST"])]


def change_setup(salesforce_app: Any, what: str, value: str) -> str:
    """One console button: the sentence the page shows after it."""
    on = value == "on"
    data = salesforce_app.data
    if what == "fields":
        if on:
            data.org_metadata.restore_shipped(data)
            return "BigSync's fields are back in the org."
        data.org_metadata.remove_bigsync_metadata(data)
        return (
            "BigSync's fields and the invoice object are gone (a fresh org): the wizard's Fields page now offers "
            "Create the missing fields."
        )
    if what == "customize":
        Permissions(data).set_admin_customize(on)
        return f"The demo admin {'has' if on else 'no longer has'} Customize Application."
    if what == "cdc":
        entities = [e for e in data.settings.get("cdc_entities", []) if e.lower() != "opportunity"]
        data.settings["cdc_entities"] = (["Opportunity"] if on else []) + entities
        return f"Change Data Capture is {'on' if on else 'off'} for Opportunity."
    raise ValueError(f"no setting {what!r}")


def setup_section(salesforce_app: Any) -> str:
    data = salesforce_app.data
    fields_present = INVOICE_OBJECT.lower() in data.schema and "bigtime_wip__c" in data.schema["opportunity"].fields
    admin = data.admin_user_id
    customize = bool(admin and Permissions(data).user_permission(admin, "CustomizeApplication"))
    cdc = any(e.lower() == "opportunity" for e in data.settings.get("cdc_entities", []))

    def row(label: str, state: str, what: str, now_on: bool, on_text: str, off_text: str, tip: str = "") -> str:
        target, text = ("off", off_text) if now_on else ("on", on_text)
        title = f" title='{html.escape(tip)}'" if tip else ""
        return (
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(state)}</td><td class='act'>"
            f"<form class='inline' method='post' action='setup/{what}/{target}'><button{title}>{html.escape(text)}"
            "</button></form></td></tr>"
        )

    return (
        "<section><h2>Org setup</h2><table>"
        + row(
            "BigSync's fields",
            "present" if fields_present else "missing (a fresh org)",
            "fields",
            fields_present,
            "Put them back",
            "Remove them",
            "As in a fresh org: the wizard's Fields page then offers Create the missing fields",
        )
        + row(
            "Demo admin's Customize Application",
            "yes" if customize else "no",
            "customize",
            customize,
            "Give it back",
            "Take it away",
        )
        + row(
            "Change Data Capture for Opportunity", "on" if cdc else "off", "cdc", cdc, "Switch it on", "Switch it off"
        )
        + "</table></section>"
    )


__all__ = ["change_setup", "setup_rules", "setup_section"]
