"""Which source gave each written figure, the invoice details read for it, and the one warning
when a mapped figure has no source at all (core/writeback.py uses these; docs/sync.md, "Write-back").

**Invoice details.** Where the invoice history's simple view lacks ``TotalAmt`` or ``PaidAmt``, the
invoice's detail (``GET /invoice/detail/{id}``) is read — once: what it gave is kept with the
opportunity's written values, under a fingerprint of the invoice as the history listed it, and read
again only when that listing changes (a payment, a new status, an edit). A detail that gave nothing
(refused, or without the field) is asked again when the project's turn in the rotation comes. At most
the rotation's share of BigTime's rate limit in details a run; a project whose details could not all
be read this run gets its other figures now and its invoiced, paid and invoice rows once the rest are
read (the next runs) — never a figure from one source now and another later.

**The warning.** A figure BigTime did not give for a project is left empty there, and the source
that answered (or none) is recorded per opportunity: Activity's "written" events, ``status --json``
and ``doctor`` show it. Activity warns only when a figure the admin mapped got no source at all in a
run — for none of the projects read — and the total budget does not explain it (a budget kept by
task has no project-level parts), once until that figure answers again, in plain words with what to do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import BigTimeClient, Invoice, pick
from ..connectors.errors import RequestRejected, UnexpectedResponse
from .store import Store

INVOICE_FIGURES = ("invoiced_to_date", "paid_to_date")  # the figures that wait for a project's invoice details
SOURCES_KEY = "_sources"  # in the written values: figure → the source that answered ("" none)
DETAILS_KEY = "_invoice_details"  # invoice id → {"seen": fingerprint, field: value, ...}
WARNED_META = "figures_without_source_warned"  # the figures already warned about (until they answer)
#: How each figure is named to an admin.
FIGURE_WORDS = {
    "budget_total": "Budget (total)",
    "budget_fees": "Budget (fees)",
    "budget_hours": "Budget (hours)",
    "budget_expenses": "Budget (expenses)",
    "hours_logged": "Hours logged",
    "expenses_logged": "Expenses logged",
    "wip": "Work in progress",
    "invoiced_to_date": "Invoiced to date",
    "paid_to_date": "Paid to date",
}


def fingerprint(invoice: Invoice) -> str:
    """The invoice as the history listed it, in a few characters (a change means: read it again)."""
    text = json.dumps(invoice.raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def lacks_detail_field(invoice: Invoice) -> bool:
    return any(pick(invoice.raw, name) is None for name in A.INVOICE_DETAIL_FIELDS)


def cached_details(
    invoices: Iterable[Invoice], cache: Mapping[str, Any]
) -> tuple[dict[int, dict[str, Any]], list[Invoice], list[Invoice]]:
    """The details kept for invoices unchanged since they were read; the invoices new or changed
    since (to read now); and those whose detail gave nothing last time (read again only when the
    project is re-read anyway: its turn in the rotation)."""
    found: dict[int, dict[str, Any]] = {}
    pending: list[Invoice] = []
    empty: list[Invoice] = []
    for invoice in invoices:
        if invoice.id is None or not lacks_detail_field(invoice):
            continue
        kept = cache.get(str(invoice.id))
        if isinstance(kept, dict) and kept.get("seen") == fingerprint(invoice):
            found[invoice.id] = {k: v for k, v in kept.items() if k != "seen"}
            if not found[invoice.id]:
                empty.append(invoice)
        else:
            pending.append(invoice)
    return found, pending, empty


def read_details(bt: BigTimeClient, pending: list[Invoice], found: dict[int, dict[str, Any]]) -> None:
    """Read each pending invoice's detail into ``found`` (only the fields the history lacked). A
    detail BigTime refuses (400, 404, no right) or garbles (not JSON) gives nothing: the chain goes on
    to its next source, and the other invoices and projects are not held up. A failure of BigTime
    itself (offline, 5xx, rate limit) stops the run as any other read does; the next run resumes."""
    for invoice in pending:
        assert invoice.id is not None
        try:
            detail = bt.invoice(invoice.id).raw
        except (RequestRejected, UnexpectedResponse):  # PermissionDenied is a RequestRejected
            detail = {}
        found[invoice.id] = {
            name: pick(detail, name)
            for name in A.INVOICE_DETAIL_FIELDS
            if pick(invoice.raw, name) is None and pick(detail, name) is not None
        }


def details_cache(invoices: Iterable[Invoice], found: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """What to keep: for each invoice whose detail was used, its fingerprint and what the detail gave."""
    return {str(i.id): {"seen": fingerprint(i), **found[i.id]} for i in invoices if i.id is not None and i.id in found}


class NoSourceTracker:
    """Counts, over one run, the projects each mapped figure got a value for, to warn (once) about
    the figures with no source at all."""

    def __init__(self, mapped: Iterable[str]) -> None:
        self.mapped = [f for f in mapped if f in A.WRITEBACK_CHAINS]
        self.answered: dict[str, int] = {f: 0 for f in self.mapped}
        self.tried: dict[str, str] = {}
        self.projects = 0

    def add(self, sources: Mapping[str, str], missing: Mapping[str, str]) -> None:
        self.projects += 1
        for figure in self.mapped:
            if figure in sources:
                self.answered[figure] += 1
            elif figure in missing:
                self.tried[figure] = missing[figure]

    def warning(self, store: Store) -> str | None:
        """The run's one warning (None: nothing new to say); remembers what it warned about."""
        if not self.projects:
            return None
        warned = set(store.get_meta(WARNED_META) or [])
        warned -= {f for f, n in self.answered.items() if n}  # answered again: a later loss is news
        silent = []
        for figure, n in self.answered.items():
            explained = A.EXPLAINED_BY.get(figure)
            if n or (explained in self.answered and self.answered[explained]):
                continue
            silent.append(figure)
        new = [f for f in silent if f not in warned]
        store.set_meta(WARNED_META, sorted(warned | set(silent)))
        if not new:
            return None
        read = "the one project read" if self.projects == 1 else f"none of the {self.projects} projects read"
        lines = [
            f"{FIGURE_WORDS.get(f, f)} stays empty: BigTime gave it for {read} "
            f"(BigSync looked for: {self.tried.get(f, 'its sources')})."
            for f in new
        ]
        return (
            " ".join(lines) + " This is how this firm's BigTime reports; nothing is written as 0 in its place. "
            "If BigTime keeps these figures elsewhere, or you do not need them, choose another field or "
            '"(don\'t write)" for them in Settings › Fields; `bigsync-gui doctor` shows what BigTime sends.'
        )


def sources_summary(written: Mapping[str, tuple[str, Mapping[str, Any]]]) -> dict[str, dict[str, int]]:
    """For ``status --json``: figure → {source that answered (or "none"): opportunities}."""
    out: dict[str, dict[str, int]] = {}
    for _modified, values in written.values():
        for figure, source in (values.get(SOURCES_KEY) or {}).items():
            key = source or "none"
            out.setdefault(figure, {})[key] = out.setdefault(figure, {}).get(key, 0) + 1
    return {f: dict(sorted(v.items())) for f, v in sorted(out.items())}


__all__ = [
    "DETAILS_KEY",
    "FIGURE_WORDS",
    "SOURCES_KEY",
    "NoSourceTracker",
    "cached_details",
    "details_cache",
    "fingerprint",
    "lacks_detail_field",
    "read_details",
    "sources_summary",
]
