"""BigTime → Salesforce write-back: a linked project's figures onto its opportunity, and one
``BigTime_Invoice__c`` row per posted invoice.

**Which figure comes from where** is decided in one place, ``bigtime_assumptions.WRITEBACK_CHAINS``:
each figure's sources, tried in order until one answers (docs/sync.md has the table). A figure no
source gave is *not written* — never 0; 0 is written only when BigTime says 0. Which source answered
is kept per opportunity and shown (core/figure_sources.py, which also reads invoice details and
warns, once, about a mapped figure with no source at all). The invoice rows are written by
core/writeback_rows.py; what travels with each project between the reads and the writes is in
core/writeback_work.py.

**How the cost scales, and how figures stay fresh.** A run starts with two BigTime requests,
whatever the number of links: the project list (``GET /project``) and the invoice history (one
``GET /invoice/history`` over the widest date window, which carries each invoice's ``TotalAmt``,
``PaidAmt`` and status — so invoiced and paid are fresh every run). Together with the ``written``
table — for each opportunity the ``DtModified`` and invoice figures last written, the values sent,
the field mapping used and when the project was last re-read — they pick the projects to re-read:
*changed* ones (never written, different invoice figures, a different field mapping, or a
different ``DtModified`` when the list carries one — a hint only: nothing documents that logging
time or expenses changes it) and a bounded *rotation* of the others: those not re-read for
``REFRESH_MIN_AGE``, oldest first, the age of a project linked or changed in the last
``ACTIVE_WINDOW`` counting double, at most :func:`rotation_size` per run (half of BigTime's
~30 requests/min over one write-back interval). Re-reading a project costs
``GET /task/BudgetStatusByProject/{id}`` plus ``GET /project/detail/{id}`` when a budget figure is
mapped. So a run makes **2 + 2 × (changed + rotated)** BigTime requests; an idle run makes 2 plus
the projects that came due, i.e. on average 2 × (linked projects) per ``REFRESH_MIN_AGE`` (plus one
``GET /invoice/detail/{id}`` per invoice new or changed since it was read, where the history lacks
its total or paid amount) — and a
figure is never older than about max(REFRESH_MIN_AGE, linked ÷ rotation_size × interval). On the
Salesforce side the describes of Opportunity and ``BigTime_Invoice__c`` come from the client's
per-cycle cache (at most 2 requests), and per batch of up to 200 changed projects there is one
sObject Collections update of the opportunities (only the fields whose value changed; records with
nothing new are not sent), one query of their existing invoice rows, and one collection create and
one collection update of invoice rows when there is something to create or change (more only
when a batch holds over 200 invoice rows). An idle run writes nothing to Salesforce.

Safety: values count as written only once Salesforce accepted them (a refused record is a
``rejected`` event and is tried again next run; a deleted opportunity is refused, never a crash).
An invoice row is created only after the opportunity's existing rows were read back by
``BigTime_Invoice_Id__c``, and a project's invoices count as written only when all its rows were
accepted — so a create whose answer was lost is found, not duplicated, on the next run. Each
batch's results are committed in one transaction; ``cancel`` stops the run between batches (or
abandons a batch still being read, writing nothing of it). Severed links are never written.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors import bigtime_assumptions as bt_assumptions
from ..connectors.bigtime import BigTimeClient, Invoice, merge_detail, totals_from
from ..connectors.errors import ConnectorError
from ..connectors.salesforce import FieldInfo, SalesforceClient
from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import plural
from . import contacts
from . import figure_sources as fs
from .cycle import CycleRunner, WaitCallback
from .cycle_report import CycleReport
from .settings import DEFAULT_FIELD_MAP, Settings
from .store import Link, Store
from .writeback_rows import invoice_fields, write_invoice_rows
from .writeback_work import BATCH, ProjectWork, chunks, invoice_signature, iso_utc, money, refusal_reason

OPPORTUNITY = "Opportunity"
#: The figures that can flow back, in the order they are reported.
FIGURES = (
    "project_id",
    "project_url",
    "budget_fees",
    "budget_hours",
    "budget_expenses",
    "budget_total",
    "hours_logged",
    "expenses_logged",
    "wip",
    "invoiced_to_date",
    "paid_to_date",
    "last_sync",
)
# Keys of the stored values that are bookkeeping, not figures.
_FIELDS_KEY, _INVOICES_KEY, _ROWS_KEY = "_fields", "_invoices", "_invoice_rows"
_REFRESHED_KEY, _CHANGED_KEY = "_refreshed", "_changed"  # when last re-read; when its figures last changed
# Freshness without DtModified (see the module docstring).
REFRESH_MIN_AGE = timedelta(hours=1)
ACTIVE_WINDOW = timedelta(days=14)
BIGTIME_REQUESTS_PER_MINUTE = 30  # [code] a script that ran live paces itself so (docs/reference/bigtime.md)
ROTATION_SHARE = 0.5  # of that allowance over one write-back interval; the rest is for the sync
_BUDGET_FIGURES = ("budget_hours", "budget_fees")  # read from the project detail


def rotation_size(interval_seconds: float, requests_per_project: int) -> int:
    """How many unchanged projects one run may re-read."""
    allowance = interval_seconds / 60 * BIGTIME_REQUESTS_PER_MINUTE * ROTATION_SHARE
    return max(1, int(allowance) // max(1, requests_per_project))


@dataclass
class WritebackResult:
    projects_checked: int = 0  # linked projects found in BigTime and compared
    projects_changed: int = 0  # of those, read again (budget status) and written
    projects_rotated: int = 0  # of the re-read ones, those re-read only because their turn came
    opportunities_written: int = 0  # opportunities whose figures Salesforce accepted
    invoices_written: int = 0  # invoice rows created or updated
    rejected: int = 0  # records Salesforce refused (tried again next run)
    cancelled: bool = False  # stopped early by ``cancel``


def _opportunity_fields(sf: SalesforceClient, field_map: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The mapped figures whose Opportunity field exists and is updateable (figure → field API name
    as describe spells it), and a description of each mapped field that cannot be written."""
    described = sf.fields(OPPORTUNITY)
    by_lower = {name.lower(): info for name, info in described.items()}
    usable: dict[str, str] = {}
    missing: list[str] = []
    for figure in FIGURES:
        # A figure absent from the map came after the settings were saved: its default ("" is "don't write").
        target = (field_map.get(figure, DEFAULT_FIELD_MAP.get(figure, "")) or "").strip()
        if not target:
            continue  # not mapped: nothing to say
        info = by_lower.get(target.lower())
        if info is None:
            missing.append(f"{target} ({figure}: no such field)")
        elif not info.updateable:
            missing.append(f"{target} ({figure}: not editable)")
        else:
            usable[figure] = info.name
    return usable, missing


def _age(previous: dict[str, Any], link: Link, now: datetime) -> tuple[float, float]:
    """Seconds since the project was last re-read (due from REFRESH_MIN_AGE), and its place in the
    rotation (larger first): that age, doubled when it was linked or its figures changed within
    ACTIVE_WINDOW."""
    refreshed = _parse_iso(previous.get(_REFRESHED_KEY))
    if refreshed is None:
        return float("inf"), float("inf")
    age = (now - refreshed).total_seconds()
    recent = max(filter(None, (_parse_iso(previous.get(_CHANGED_KEY)), _parse_iso(link.created_at))), default=None)
    return age, age * 2 if recent is not None and now - recent < ACTIVE_WINDOW else age


def _parse_iso(text: Any) -> datetime | None:
    if not text:
        return None
    return parse_timestamp(str(text))


def run_cycle(
    runner: CycleRunner,
    roles_floor: str,
    *,
    cancel: threading.Event | None,
    wait_for_lock: float,
    on_wait: WaitCallback | None,
) -> CycleReport:
    """One write-back cycle under the shared harness (core.cycle): the contacts of new contact roles
    (core.contacts), then the figures. ``roles_floor``: the cursor holding the setup's read (roles
    older than a project went with its creation)."""

    def work(cycle_id: int, settings: Settings, store: Store) -> str:
        sf = runner.salesforce()
        sf.new_cycle()  # describe once per write-back run: fields added in Salesforce are seen
        if store.links("linked"):
            # needed below anyway (cached): its answer tells the roles' poll Salesforce's clock
            sf.fields(OPPORTUNITY)
        added = contacts.sync_new_roles(
            store, sf, runner.bigtime(), cycle_id, store.cursor(roles_floor), now=runner.now()
        )
        result = run_writeback(
            store,
            sf,
            runner.bigtime(),
            settings.sync.field_map,
            cycle_id,
            cancel,
            now=runner.now(),
            interval_seconds=settings.sync.writeback_interval_seconds,
        )
        message = (
            f"Checked {plural(result.projects_checked, 'linked project')}; {result.projects_changed} changed."
            if result.projects_checked
            else ""
        )
        return f"{message} Added {plural(added, 'contact')} from new contact roles.".strip() if added else message

    return runner.run("writeback", work, cancel=cancel, wait_for_lock=wait_for_lock, on_wait=on_wait)


def run_writeback(
    store: Store,
    sf: SalesforceClient,
    bt: BigTimeClient,
    field_map: dict[str, str],
    cycle_id: int,
    cancel: threading.Event | None = None,
    *,
    now: datetime | None = None,
    interval_seconds: float = 900,
) -> WritebackResult:
    """Write the figures of the linked projects that changed, and of those whose turn in the
    rotation came, onto their opportunities (see the module docstring for what it costs).
    ``interval_seconds``: the write-back interval (sizes the rotation). Connector errors that stop
    the whole run (offline, signed out, API allowance spent) propagate after the batches already
    done were recorded."""
    now = now or datetime.now(timezone.utc)
    result = WritebackResult()
    links = store.links("linked")
    if not links or (cancel is not None and cancel.is_set()):
        result.cancelled = bool(cancel is not None and cancel.is_set())
        return result

    usable, missing_fields = _opportunity_fields(sf, field_map)
    rows_fields, rows_warning = invoice_fields(sf)

    projects = {p.id: p for p in bt.projects() if p.id is not None}
    invoices_by_project: dict[int, list[Invoice]] = {}
    unattributed = 0
    for invoice in bt.all_invoices():
        if invoice.project_id is None:
            unattributed += 1  # whose? no project's invoiced or paid sum can be trusted this run
        else:
            invoices_by_project.setdefault(invoice.project_id, []).append(invoice)
    read_detail = any(f in usable for f in _BUDGET_FIGURES)

    written = store.all_written()
    changed: list[ProjectWork] = []
    due: list[tuple[float, ProjectWork]] = []
    missing_projects: list[str] = []
    for link in links:
        project = projects.get(link.project_id)
        if project is None:
            missing_projects.append(f"{link.project_id} ({link.opportunity_name or link.opportunity_id})")
            continue
        result.projects_checked += 1
        mine = sorted(
            invoices_by_project.get(link.project_id, []), key=lambda i: (i.date or datetime.min.date(), i.id or 0)
        )
        modified = iso_utc(project.modified)
        previous_modified, previous = written.get(link.opportunity_id, ("", None))
        details, pending, empty = fs.cached_details(mine, (previous or {}).get(fs.DETAILS_KEY) or {})
        signature = invoice_signature(merge_detail(i, details.get(i.id or 0)) for i in mine)
        work = ProjectWork(
            link,
            project,
            mine,
            modified,
            signature,
            dict(previous or {}),
            details=details,
            pending=pending,
            empty=empty,
        )
        if (
            previous is not None
            and not pending
            and previous_modified == modified
            and previous.get(_INVOICES_KEY) == signature
            and previous.get(_FIELDS_KEY) == usable
            and (rows_fields is None or previous.get(_ROWS_KEY) == signature)
        ):
            age, key = _age(previous, link, now)
            if age >= REFRESH_MIN_AGE.total_seconds():
                due.append((key, work))
            continue
        changed.append(work)
    due.sort(key=lambda item: -item[0])
    rotated = [work for _, work in due[: rotation_size(interval_seconds, 2 if read_detail else 1)]]
    result.projects_rotated = len(rotated)
    changed.extend(rotated)

    with store.transaction():
        if missing_fields:
            store.event(
                cycle_id,
                "warning",
                "These mapped Salesforce fields are skipped because the Opportunity "
                "object does not have them or they cannot be edited: " + ", ".join(missing_fields) + ".",
            )
        if rows_warning:
            store.event(cycle_id, "warning", rows_warning)
        if missing_projects:
            store.event(
                cycle_id,
                "warning",
                "These linked BigTime projects were not found in BigTime, so their "
                "figures are not written: " + ", ".join(missing_projects) + ".",
            )

    tracker = fs.NoSourceTracker(usable)
    allowance = [rotation_size(interval_seconds, 1)]  # invoice details this run may read
    need_details = rows_fields is not None or bool({"invoiced_to_date", "paid_to_date"} & set(usable))
    try:
        for batch in chunks(changed, BATCH):
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            ready = _read_figures(bt, batch, cancel, read_detail, unattributed == 0, need_details, allowance, tracker)
            if ready is None:
                result.cancelled = True
                break
            _write_batch(store, sf, bt, ready, usable, rows_fields, cycle_id, result, now)
    finally:
        with store.transaction():
            warning = tracker.warning(store)
            if warning:
                store.event(cycle_id, "warning", warning)
    return result


def _read_figures(
    bt: BigTimeClient,
    batch: Sequence[ProjectWork],
    cancel: threading.Event | None,
    read_detail: bool,
    invoices_attributed: bool,
    need_details: bool,
    allowance: list[int],
    tracker: fs.NoSourceTracker,
) -> list[ProjectWork] | None:
    """Per project its budget-status rows (and detail when a budget figure is mapped, and the details
    of invoices new or changed since read where the history lacks an amount); the figures go to
    ``work.sent``, None where no source answered, and which source did to ``work.sources``. Returns
    the projects ready to write (one whose invoice details exceed this run's ``allowance`` waits for
    the next run); None (nothing to write) if cancelled in between."""
    ready = []
    for work in batch:
        if cancel is not None and cancel.is_set():
            return None
        pid = work.project.id or 0
        if need_details and work.pending:
            now_read = work.pending[: allowance[0]]
            allowance[0] -= len(now_read)
            fs.read_details(bt, now_read, work.details)  # kept: the next run reads only the rest
            work.deferred = len(now_read) < len(work.pending)
        if need_details and work.empty and len(work.empty) <= allowance[0]:
            allowance[0] -= len(work.empty)
            fs.read_details(bt, work.empty, work.details)
        rows = bt.budget_status(pid)
        detail = bt.project(pid) if read_detail else None
        totals = totals_from(pid, detail, rows, work.invoices if invoices_attributed else None, work.details)
        if work.deferred:  # invoiced, paid and the rows wait for the remaining details: one source, not two
            for figure in fs.INVOICE_FIGURES:
                totals.figures[figure] = None
                totals.sources.pop(figure, None)
                totals.missing.pop(figure, None)
        tracker.add(totals.sources, totals.missing)
        work.kept_details = fs.details_cache(work.invoices, work.details)  # keyed by the history's listing
        work.invoices = [merge_detail(i, work.details.get(i.id or 0)) for i in work.invoices]  # for the rows
        work.signature = invoice_signature(work.invoices)
        work.sources = {figure: totals.sources.get(figure, "") for figure in totals.figures}
        work.read = {figure: money(value) for figure, value in totals.figures.items()}
        work.sent = {
            "project_id": str(work.project.id),
            "project_url": bt_assumptions.project_url(bt.base_url, pid),
            **work.read,
        }
        ready.append(work)
    return ready


def _write_batch(
    store: Store,
    sf: SalesforceClient,
    bt: BigTimeClient,
    batch: Sequence[ProjectWork],
    usable: dict[str, str],
    rows_fields: dict[str, FieldInfo] | None,
    cycle_id: int,
    result: WritebackResult,
    read_at: datetime,
) -> None:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    records: list[dict[str, Any]] = []
    senders: list[ProjectWork] = []
    for work in batch:
        figures = work.sent or {}
        previous_fields = work.previous.get(_FIELDS_KEY) or {}
        changes = {
            figure: value
            for figure, value in figures.items()
            if figure in usable
            and value is not None
            and (work.previous.get(figure) != value or previous_fields.get(figure) != usable[figure])
        }
        if changes and "last_sync" in usable:
            changes["last_sync"] = now
        work.sent = changes
        if changes:
            records.append({"Id": work.link.opportunity_id, **{usable[f]: v for f, v in changes.items()}})
            senders.append(work)

    rejected: list[tuple[ProjectWork, str]] = []
    if records:
        for work, saved in zip(senders, sf.update_many(OPPORTUNITY, records)):
            if not saved.success:
                rejected.append((work, refusal_reason(saved)))
                work.sent = None
    accepted = [w for w in batch if w.sent is not None]

    failure: ConnectorError | None = None
    row_rejections: list[tuple[ProjectWork, str]] = []
    for work in accepted:
        work.rows_ok = False  # a deferred project's rows wait with its invoice figures
    if rows_fields is not None:
        try:
            row_rejections = write_invoice_rows(sf, [w for w in accepted if not w.deferred], rows_fields)
        except ConnectorError as exc:  # recorded below, then raised: the run cannot go on
            failure = exc
    else:
        for work in accepted:
            work.rows_ok = not work.deferred

    with store.transaction():
        for work, reason in rejected:
            store.event(
                cycle_id,
                "rejected",
                f"BigTime figures could not be written on "
                f"{work.link.opportunity_name or work.link.opportunity_id}: {reason}",
                opportunity_id=work.link.opportunity_id,
                project_id=work.link.project_id,
            )
            result.rejected += 1
        for work, reason in row_rejections:
            store.event(
                cycle_id,
                "rejected",
                f"A BigTime invoice row could not be written for "
                f"{work.link.opportunity_name or work.link.opportunity_id}: {reason}",
                opportunity_id=work.link.opportunity_id,
                project_id=work.link.project_id,
            )
            result.rejected += 1
        wrote_project_id = []
        for work in accepted:
            sent = work.sent or {}
            values = {k: v for k, v in work.previous.items() if not k.startswith("_")}
            values.update(sent)
            values[_FIELDS_KEY] = usable
            values[_REFRESHED_KEY] = iso_utc(read_at)
            moved = any(work.previous.get(f) != v for f, v in work.read.items() if v is not None)
            values[_CHANGED_KEY] = iso_utc(read_at) if moved else work.previous.get(_CHANGED_KEY)
            values[_INVOICES_KEY] = work.signature
            values[fs.SOURCES_KEY] = {f: src for f, src in work.sources.items() if f in usable}
            values[fs.DETAILS_KEY] = work.kept_details
            values[_ROWS_KEY] = work.signature if work.rows_ok else work.previous.get(_ROWS_KEY)
            store.set_written(work.link.opportunity_id, work.modified, values)
            result.projects_changed += 1
            written = [f for f in sent if f != "last_sync"]
            if sent:
                result.opportunities_written += 1
            if "project_id" in sent:
                wrote_project_id.append(work.link.opportunity_id)
            result.invoices_written += work.rows_written
            if written or work.rows_written:
                parts = []
                if written:
                    parts.append(plural(len(written), "BigTime figure"))
                if work.rows_written:
                    parts.append(plural(work.rows_written, "invoice row"))
                store.event(
                    cycle_id,
                    "written",
                    f"Updated {' and '.join(parts)} on "
                    f"{work.link.opportunity_name or work.link.opportunity_id}." + _sources_text(written, work.sources),
                    opportunity_id=work.link.opportunity_id,
                    project_id=work.link.project_id,
                )
        if wrote_project_id:
            store.mark_written_back(wrote_project_id)
    if failure is not None:
        raise failure


def _sources_text(figures: Sequence[str], sources: dict[str, str]) -> str:
    """The figures written and the source each came from, for the event's details (Activity)."""
    lines = [f"{fs.FIGURE_WORDS[f]}: {sources[f]}" for f in figures if f in fs.FIGURE_WORDS and sources.get(f)]
    return ("\nFrom BigTime: " + "; ".join(lines) + ".") if lines else ""


__all__ = ["FIGURES", "WritebackResult", "run_writeback"]
