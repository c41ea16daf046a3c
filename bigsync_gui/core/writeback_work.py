"""What the write-back carries for each linked project between reading BigTime and writing
Salesforce (core.writeback), and the small conversions both its opportunity updates and its invoice
rows (core.writeback_rows) use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..connectors.bigtime import Invoice, Project
from ..connectors.salesforce import SaveResult
from .store import Link

BATCH = 200  # changed projects per batch = records per sObject Collections call
_INVOICE_STATUS = {0: "Draft", 1: "Open", 2: "Partially Paid", 3: "Paid"}


@dataclass
class ProjectWork:
    """One changed project on its way to Salesforce."""

    link: Link
    project: Project
    invoices: list[Invoice]
    modified: str
    signature: dict[str, list[Any]]
    previous: dict[str, Any]
    sent: dict[str, Any] | None = None  # figure → value sent (None: the update was refused)
    read: dict[str, Any] = field(default_factory=dict)  # figure → value read (None: absent)
    rows_written: int = 0
    rows_ok: bool = False
    details: dict[int, dict[str, Any]] = field(default_factory=dict)  # invoice id → what its detail gave
    pending: list[Invoice] = field(default_factory=list)  # invoices whose detail is still to read
    empty: list[Invoice] = field(default_factory=list)  # invoices whose detail gave nothing last time
    deferred: bool = False  # some details wait for the next run: no invoice figure or row this run
    sources: dict[str, str] = field(default_factory=dict)  # figure → the source that answered ("" none)
    kept_details: dict[str, Any] = field(default_factory=dict)  # the invoice details to keep (figure_sources)


def money(value: Any) -> float | None:
    if value is None:
        return None
    number = round(float(value), 2)
    return 0.0 if number == 0 else number


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def status_text(invoice: Invoice) -> str | None:
    if invoice.status_text:
        return invoice.status_text
    return _INVOICE_STATUS.get(invoice.status) if invoice.status is not None else None


def invoice_signature(invoices: Iterable[Invoice]) -> dict[str, list[Any]]:
    """What the write-back shows of a project's invoices (compared with what was last written)."""
    return {
        str(i.id): [
            i.number or "",
            i.date.isoformat() if i.date else None,
            money(i.invoiced),
            money(i.paid),
            status_text(i),
        ]
        for i in invoices
        if i.id is not None
    }


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refusal_reason(result: SaveResult) -> str:
    if not result.errors:
        return "Salesforce refused the record without saying why"
    return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in result.errors)
