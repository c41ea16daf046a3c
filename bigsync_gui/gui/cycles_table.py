"""Activity's Cycles table, one row per cycle in the five columns an admin reads at a glance: When,
Kind, Result, Changes ("2 created · 1 refused") and Message. The table fits the width the window
has, at 200 % on a 1280×800 screen too, so it never scrolls sideways. The short columns are as
wide as their content. Message takes the rest, elided, with the whole text in its tooltip. In a
narrow window (200 % on 1280×800) Changes gives way first (its tooltip lists the counts). The
duration and the request counts are in When's tooltip and in Copy diagnostics (docs/tray.md).
"""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QTableView

from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import plural
from ..core.problems import UNEXPECTED, cycle_outcome, problem_of
from ..core.store import Cycle
from .activity_feed import AT_ROLE, exact_time, relative_time

CYCLE_COLUMNS = ("When", "Kind", "Result", "Changes", "Message")
WHEN, KIND, RESULT, CHANGES, MESSAGE = range(len(CYCLE_COLUMNS))
SHORT_COLUMNS = (WHEN, KIND, RESULT, CHANGES)
MESSAGE_MIN_CHARS = 12  # Message keeps at least this many average characters, and a third of the width,
MESSAGE_MIN_SHARE = 3  # before Changes gives way
KINDS = {"trigger": "Sync", "writeback": "Write-back"}
# A cycle's counts: (field, short word for the cell, the tooltip's singular and plural).
COUNTS = (
    ("created", "created", "project created", "projects created"),
    ("linked", "linked", "opportunity linked to its project", "opportunities linked to their projects"),
    ("restored", "restored", "link restored", "links restored"),
    ("written", "updated", "opportunity updated", "opportunities updated"),
    ("severed", "severed", "link severed", "links severed"),
    ("rejected", "refused", "opportunity refused", "opportunities refused"),
)


def duration(cycle: Cycle) -> str:
    if not cycle.ended_at:
        return ""
    try:
        seconds = (parse_timestamp(cycle.ended_at) - parse_timestamp(cycle.started_at)).total_seconds()
    except ValueError:
        return ""
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def changes(cycle: Cycle) -> tuple[str, str]:
    """What the cycle changed: the cell ("2 created · 1 refused") and its tooltip, one count a line."""
    counts = [(getattr(cycle, name), short, one, many) for name, short, one, many in COUNTS if getattr(cycle, name)]
    return (
        " · ".join(f"{n} {short}" for n, short, _, _ in counts),
        "\n".join(plural(n, one, many) for n, _, one, many in counts),
    )


def _cell(text: str, tooltip: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally, wrapped: Qt reads a tooltip that looks like markup as
    rich text, so the service's words are escaped (never shown as markup)."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"


def cycle_row(cycle: Cycle, now: datetime | None = None) -> list[QStandardItem]:
    """The row's cells, every one plain text (the message may come from Salesforce or BigTime)."""
    took = duration(cycle)
    requests = f"{plural(cycle.salesforce_requests, 'Salesforce request')}, "
    requests += plural(cycle.bigtime_requests, "BigTime request")
    when_tip = [f"Started {exact_time(cycle.started_at)}"] + ([f"Took {took}"] if took else []) + [requests]
    when = _cell(relative_time(cycle.started_at, now), "\n".join(when_tip))
    when.setData(cycle.started_at, AT_ROLE)
    result = _cell(cycle_outcome(cycle.result, cycle.error_code, cycle.error_system))
    if cycle.result == "failed":
        problem = problem_of(cycle.error_code or UNEXPECTED, cycle.error_system)
        fix = f" — {problem.fix.label}" if problem.fix else ""
        result.setToolTip(f"{problem.headline}{fix}")  # our own words; Message has the detail
        if problem.outcome == "Failed":
            result.setForeground(Qt.GlobalColor.darkRed)
    line, _, _ = cycle.message.partition("\n")  # one line a row; the whole text in the tooltip
    message = _cell(line, plain_tooltip(cycle.message) if cycle.message else "")
    return [when, _cell(KINDS.get(cycle.kind, cycle.kind)), result, _cell(*changes(cycle)), message]


def refresh_times(model: QStandardItemModel, now: datetime | None = None) -> None:
    """ "5 min ago" moves on: When again, nothing else."""
    for row in range(model.rowCount()):
        item = model.item(row, WHEN)
        item.setText(relative_time(item.data(AT_ROLE), now))


def fit_columns(view: QTableView) -> None:
    """The short columns as wide as the rows shown (and their header), Message the rest. When that
    leaves Message less than a third of the width (or MESSAGE_MIN_CHARS), Changes gives way, elided,
    down to its header's width."""
    header = view.horizontalHeader()
    widths = {c: max(view.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in SHORT_COLUMNS}
    width = view.viewport().width()
    room = width - max(view.fontMetrics().averageCharWidth() * MESSAGE_MIN_CHARS, width // MESSAGE_MIN_SHARE)
    excess = sum(widths.values()) - room
    if excess > 0:
        widths[CHANGES] = max(header.sectionSizeHint(CHANGES), widths[CHANGES] - excess)
    for column, width in widths.items():
        if header.sectionSize(column) != width:
            header.resizeSection(column, width)


class ColumnFitter(QObject):
    """Fits the table's columns again whenever its viewport changes width (the window resized, the
    vertical scroll bar came or went)."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self.view = view
        header = view.horizontalHeader()
        header.setStretchLastSection(False)
        for column in SHORT_COLUMNS:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)  # set by fit_columns
        header.setSectionResizeMode(MESSAGE, QHeaderView.ResizeMode.Stretch)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            fit_columns(self.view)
        return False


__all__ = ["CYCLE_COLUMNS", "ColumnFitter", "changes", "cycle_row", "duration", "fit_columns", "refresh_times"]
