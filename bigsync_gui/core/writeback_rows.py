"""The write-back's ``BigTime_Invoice__c`` rows: one per posted invoice of a linked project, found
by BigTime invoice id before any is created, so a create whose answer was lost is not repeated
(core.writeback has the whole picture)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..connectors.bigtime import Invoice
from ..connectors.errors import RequestRejected
from ..connectors.salesforce import FieldInfo, SalesforceClient
from ..connectors.soql import format_soql
from .settings import INVOICE_OBJECT
from .writeback_work import BATCH, ProjectWork, chunks, money, refusal_reason, status_text

#: Fields of the invoice-row object: ours → its API name.
INVOICE_FIELDS = {
    "number": "Name",
    "opportunity": "Opportunity__c",
    "invoice_id": "BigTime_Invoice_Id__c",
    "date": "Invoice_Date__c",
    "amount": "Amount__c",
    "paid": "Paid__c",
    "status": "Status__c",
}
_INVOICE_REQUIRED = ("number", "opportunity", "invoice_id")
_NO_OBJECT_CODES = {"NOT_FOUND", "INVALID_TYPE"}


def invoice_fields(sf: SalesforceClient) -> tuple[dict[str, FieldInfo] | None, str | None]:
    """The invoice-row fields the org has (ours → FieldInfo), None when the org has no such object;
    and a warning when it has the object but it cannot be used."""
    try:
        described = sf.fields(INVOICE_OBJECT)
    except RequestRejected as exc:
        if exc.code in _NO_OBJECT_CODES or exc.status == 404:
            return None, None  # the org does not have the object: nothing to say
        return None, f"Invoice rows are not written: Salesforce refused to describe {INVOICE_OBJECT} ({exc.message})."
    by_lower = {name.lower(): info for name, info in described.items()}
    found = {ours: by_lower[api.lower()] for ours, api in INVOICE_FIELDS.items() if api.lower() in by_lower}
    lacking = [INVOICE_FIELDS[k] for k in _INVOICE_REQUIRED if k not in found or not found[k].createable]
    if lacking:
        the_fields = "the field" if len(lacking) == 1 else "the fields"
        return None, (
            f"Invoice rows are not written: {INVOICE_OBJECT} lacks {the_fields} "
            f"{', '.join(lacking)} (or they cannot be set)."
        )
    return found, None


def _row_values(work: ProjectWork, invoice: Invoice, fields: dict[str, FieldInfo]) -> dict[str, Any]:
    """The invoice row as it should be in Salesforce (only the fields the object has)."""
    wanted = {
        "number": invoice.number or f"BigTime {invoice.id}",
        "opportunity": work.link.opportunity_id,
        "invoice_id": str(invoice.id),
        "date": invoice.date.isoformat() if invoice.date else None,
        "amount": money(invoice.invoiced),
        "paid": money(invoice.paid),
        "status": status_text(invoice),
    }  # an amount BigTime did not send is None: left out, never written as 0
    return {fields[k].name: v for k, v in wanted.items() if k in fields and v is not None}


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) or isinstance(theirs, float):
        try:
            return ours is not None and theirs is not None and round(float(ours), 2) == round(float(theirs), 2)
        except (TypeError, ValueError):
            return False
    return (ours or None) == (theirs or None)  # Salesforce stores "" as null


def write_invoice_rows(
    sf: SalesforceClient, batch: Sequence[ProjectWork], fields: dict[str, FieldInfo]
) -> list[tuple[ProjectWork, str]]:
    """Create or update the invoice rows of the batch's opportunities: read the existing rows back
    by BigTime invoice id first (so a create whose answer was lost is not repeated), then create the
    missing ones and update those that differ. Marks each work's ``rows_ok``/``rows_written``;
    returns the refused rows."""
    with_invoices = [w for w in batch if w.invoices]
    for work in batch:
        work.rows_ok = not work.invoices
    if not with_invoices:
        return []
    id_field, opp_field = fields["invoice_id"].name, fields["opportunity"].name
    select = ["Id"] + [f.name for f in fields.values()]
    existing: dict[str, dict[str, Any]] = {}
    for chunk in chunks(with_invoices, BATCH):
        template = f"SELECT {', '.join(select)} FROM {INVOICE_OBJECT} WHERE {opp_field} IN {{}}"
        for found in sf.query(format_soql(template, [w.link.opportunity_id for w in chunk])):
            key = str(found.get(id_field) or "")
            if key and key not in existing:
                existing[key] = found

    creates: list[tuple[ProjectWork, dict[str, Any]]] = []
    updates: list[tuple[ProjectWork, dict[str, Any]]] = []
    for work in with_invoices:
        for invoice in work.invoices:
            if invoice.id is None:
                continue
            wanted = _row_values(work, invoice, fields)
            current = existing.get(str(invoice.id))
            if current is None:
                creates.append((work, wanted))
                continue
            updateable = {f.name for f in fields.values() if f.updateable}
            diff = {k: v for k, v in wanted.items() if k in updateable and not _same(v, current.get(k))}
            if diff:
                updates.append((work, {"Id": current["Id"], **diff}))

    refused: list[tuple[ProjectWork, str]] = []
    failed: set[int] = set()
    written: dict[int, int] = {}
    for items, call in ((creates, sf.create_many), (updates, sf.update_many)):
        if not items:
            continue
        for (work, _), saved in zip(items, call(INVOICE_OBJECT, [rec for _, rec in items])):
            if saved.success:
                written[id(work)] = written.get(id(work), 0) + 1
            else:
                refused.append((work, refusal_reason(saved)))
                failed.add(id(work))
    for work in with_invoices:
        work.rows_written = written.get(id(work), 0)
        work.rows_ok = id(work) not in failed
    return refused
