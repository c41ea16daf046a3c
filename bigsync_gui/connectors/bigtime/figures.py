"""A project's write-back figures, each from the first of its sources that answers.

The sources and their order are decided in one place, ``bigtime_assumptions.WRITEBACK_CHAINS``; this
module only walks them. A source answers when every row or invoice it sums carries its field (one
row without it and the sum is unknown); none answering leaves the figure None — never 0 — and the
figure's ``missing`` text says what was tried. 0 is a figure only when BigTime says 0: a row's 0, no
rows at all for a figure a live-checked row shows exists, or no invoices for the project in a history
where every invoice names its project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from .. import bigtime_assumptions as A
from .models import BudgetRow, Invoice, Project
from .parsing import pick, to_number


@dataclass
class ProjectTotals:
    """A project's figures for the write-back, by the names of core.settings.DEFAULT_FIELD_MAP.
    ``sources``: for each figure written, the source that answered (in words); ``missing``: for
    each figure left None, the sources tried. ``invoices``: the project's posted invoices, each with
    what its detail added (so the invoice rows carry the same amounts as the figures)."""

    project_id: int
    figures: dict[str, float | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)


def merge_detail(invoice: Invoice, detail: Mapping[str, object] | None) -> Invoice:
    """The invoice as the history listed it, with the fields its detail adds (the detail's own
    values for those; the history's for the rest)."""
    if not detail:
        return invoice
    added = {k: v for k, v in detail.items() if pick(invoice.raw, k) is None and v is not None}
    return Invoice.from_api({**invoice.raw, **added}) if added else invoice


def _rows_sum(rows: list[BudgetRow], name: str) -> float | None:
    values = [getattr(r, name) for r in rows]
    if any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 2)


def _invoices_sum(invoices: list[Invoice], name: str) -> float | None:
    amounts = [to_number(pick(i.raw, name)) for i in invoices]
    if any(a is None for a in amounts):
        return None
    return round(sum(a for a in amounts if a is not None), 2)


def totals_from(
    project_id: int,
    project: Project | None,
    rows: list[BudgetRow] | None,
    invoices: list[Invoice] | None,
    details: Mapping[int, Mapping[str, object]] | None = None,
) -> ProjectTotals:
    """The write-back figures of one project from what was read (pure; the unit tests call it).
    ``project``: its detail (None: not read); ``rows``: its budget-status rows (None: not read);
    ``invoices``: every posted invoice of the history (None: the history cannot be attributed);
    ``details``: invoice id → the fields its detail gave (only invoices whose detail was read)."""
    totals = ProjectTotals(project_id=project_id)
    listed: list[Invoice] = []
    if invoices is not None:
        listed = sorted(
            (i for i in invoices if i.project_id == project_id), key=lambda i: (i.date or date.min, i.id or 0)
        )
    details = details or {}
    merged = [merge_detail(i, details.get(i.id or 0)) for i in listed]
    totals.invoices = merged
    for figure, chain in A.WRITEBACK_CHAINS.items():
        tried: list[str] = []
        for where, name in chain:
            value, label = _answer(where, name, project, rows, listed if invoices is not None else None, merged)
            if value is not None:
                totals.figures[figure], totals.sources[figure] = value, label
                break
            tried.append(label)
        else:
            totals.figures[figure] = None
            totals.missing[figure] = "; ".join(tried)
    return totals


def _answer(
    where: str,
    name: str,
    project: Project | None,
    rows: list[BudgetRow] | None,
    listed: list[Invoice] | None,
    merged: list[Invoice],
) -> tuple[float | None, str]:
    """One source's value (None: it did not answer) and its words."""
    if where == "project":
        return (to_number(pick(project.raw, name)) if project is not None else None), A.source_label(where, name)
    if where == "rows":
        answered = {r.names.get(name) for r in rows or ()} - {None}
        label = (
            f"sum of {'/'.join(sorted(n for n in answered if n))} on budget-status rows"
            if answered
            else A.source_label(where, name)
        )
        if rows is None or (not rows and name in A.NO_ROWS_NO_ANSWER):  # no row: no answer for these
            return None, label
        return _rows_sum(rows, name), label
    if listed is None:  # an invoice without ProjectSid: whose is it? no project's invoice sum can be trusted
        return None, f"{A.source_label(where, name)} (an invoice of the history names no project)"
    if where == "history":
        return _invoices_sum(listed, name), A.source_label(where, name)
    # invoice_detail: answers only where a detail added something the history lacked
    if all(pick(i.raw, name) is not None for i in listed):
        return None, A.source_label(where, name)  # the history had it: that source already answered
    return _invoices_sum(merged, name), A.source_label(where, name)


__all__ = ["ProjectTotals", "merge_detail", "totals_from"]
