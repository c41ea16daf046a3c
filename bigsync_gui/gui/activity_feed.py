"""Activity's first view, "What happened": the deals, newest first, each a sentence with when it
happened ("5 min ago", the exact local time in its tooltip) and its two links — Open opportunity,
Open project — as Maestral's and Dropbox's activity lists show files. An admin asks "what happened
to my deals?"; the cycles that did it are one tab away (gui/activity.py).

Also here: what a link does when no browser can be opened (no desktop handler, a server, a
container): the address shown with Copy, as the wizard's console button does.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..connectors.bigtime_assumptions import project_url
from ..connectors.timestamps import parse_timestamp
from ..core.store import Event

URL_ROLE = Qt.ItemDataRole.UserRole + 1
AT_ROLE = Qt.ItemDataRole.UserRole + 5
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 4
FEED_COLUMNS = ("When", "What happened", "Salesforce", "BigTime")
WHEN, WHAT, SF_LINK, BT_LINK = range(4)
PROBLEM_EVENTS = {"rejected", "warning", "severed"}
GOOD_EVENTS = {"created", "linked", "restored", "client", "contacts"}
EMPTY = "Nothing has happened to your deals yet: projects BigSync creates and figures it writes show here."


def relative_time(iso: str | None, now: datetime | None = None) -> str:
    """When, as people say it: "just now", "5 min ago", "today 09:14", "yesterday 17:02",
    "Mon 11:30" within the week, then "3 Mar" (and the year when it is not this one)."""
    if not iso:
        return ""
    try:
        moment = parse_timestamp(iso).astimezone()
    except ValueError:
        return iso
    now = (now or datetime.now().astimezone()).astimezone(moment.tzinfo)
    seconds = (now - moment).total_seconds()
    if -60 < seconds < 60:
        return "just now"
    if 0 < seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    clock = moment.strftime("%H:%M")
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"yesterday {clock}"
    if 1 < days < 7:
        return f"{moment.strftime('%a')} {clock}"
    day = f"{moment.day} {moment.strftime('%b')}"
    return day if moment.year == now.year else f"{day} {moment.year}"


def exact_time(iso: str | None) -> str:
    try:
        return parse_timestamp(iso or "").astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso or ""


def opportunity_url(instance_url: str, opportunity_id: str | None) -> str:
    return f"{instance_url}/{opportunity_id}" if instance_url and opportunity_id else ""


def plain_item(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item


def link_item(label: str, url: str) -> QStandardItem:
    item = plain_item(label if url else "")
    if url:
        item.setData(url, URL_ROLE)
        item.setToolTip(url)
        font = QFont()
        font.setUnderline(True)
        item.setFont(font)
        item.setForeground(QGuiApplication.palette().link())
    return item


class FeedFilter(QSortFilterProxyModel):
    """The window's text filter (over the sentence) and "Problems only"."""

    def __init__(self) -> None:
        super().__init__()
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(WHAT)
        self.problems_only = False

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802 - Qt's name
        if self.problems_only and not self.sourceModel().data(self.sourceModel().index(row, 0, parent), PROBLEM_ROLE):
            return False
        return super().filterAcceptsRow(row, parent)


class FeedView(QTableView):
    """The sentences, newest first. Sized to content: When and the links as wide as their text, the
    sentence takes the rest and wraps (rows grow to fit)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QStandardItemModel(0, len(FEED_COLUMNS), self)
        self.source.setHorizontalHeaderLabels(list(FEED_COLUMNS))
        self.proxy = FeedFilter()
        self.proxy.setSourceModel(self.source)
        self.setModel(self.proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the sentence wraps instead
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        for column in (WHEN, SF_LINK, BT_LINK):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHAT, QHeaderView.ResizeMode.Stretch)
        self._rows_later = QTimer(self)  # rows follow the sentence column's width, once per burst of resizes
        self._rows_later.setSingleShot(True)
        self._rows_later.setInterval(0)
        self._rows_later.timeout.connect(self.resizeRowsToContents)
        header.sectionResized.connect(lambda column, *_: column == WHAT and self._rows_later.start())
        icon_size = self.fontMetrics().height()
        style = self.style()
        self._icons = {
            "good": style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
            "problem": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            "other": style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload),
        }
        self.setIconSize(QSize(icon_size, icon_size))

    def fill(self, events: list[Event], instance_url: str, bigtime_base_url: str, now: datetime | None = None) -> None:
        model = self.source
        model.removeRows(0, model.rowCount())
        for e in events:  # newest first, as the store reads them
            sf = opportunity_url(instance_url, e.opportunity_id)
            bt = project_url(bigtime_base_url, e.project_id) if bigtime_base_url and e.project_id else ""
            when = plain_item(relative_time(e.at, now))
            when.setToolTip(exact_time(e.at))
            when.setData(e.at, AT_ROLE)
            when.setData(e.kind in PROBLEM_EVENTS, PROBLEM_ROLE)
            sentence, _, more = e.message.partition("\n")  # the sentence; details (figure sources) in its tooltip
            what = plain_item(sentence)  # a plain-text cell; the service's words are never rich text
            if more:
                what.setToolTip(f"<p style='white-space:pre-wrap'>{html.escape(e.message)}</p>")  # shown literally
            sentence, _, details = e.message.partition("\n")
            if details:  # e.g. which BigTime source gave each figure: in the tooltip and the Cycles tab's details
                what.setText(sentence)
                what.setToolTip(f"<p style='white-space:pre-wrap'>{html.escape(e.message)}</p>")
            kind = "problem" if e.kind in PROBLEM_EVENTS else "good" if e.kind in GOOD_EVENTS else "other"
            what.setIcon(self._icons[kind])
            model.appendRow([when, what, link_item("Open opportunity", sf), link_item("Open project", bt)])
        self.resizeRowsToContents()

    def refresh_times(self, now: datetime | None = None) -> None:
        """ "5 min ago" moves on: the When column again, nothing else."""
        for row in range(self.source.rowCount()):
            item = self.source.item(row, WHEN)
            item.setText(relative_time(item.data(AT_ROLE), now))


class LinkFallback(QWidget):
    """Shown when a link could not be opened: the address, selectable, with Copy and a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("No web browser could be opened. The address:")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Address of the link")
        self.copy_button = QPushButton("Copy a&ddress")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.url.text()))
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.hide)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.url, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.close_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.label)
        column.addLayout(row)
        self.hide()

    def show_url(self, url: str) -> None:
        self.url.setText(url)
        self.url.setCursorPosition(0)
        self.show()
        self.copy_button.setFocus()


def open_link(url: str, fallback: LinkFallback, open_url: Callable[[str], bool]) -> None:
    """Open ``url`` in the browser; if the desktop cannot, show it with Copy."""
    if not url:
        return
    if open_url(url):
        fallback.hide()
    else:
        fallback.show_url(url)


def desktop_open(url: str) -> bool:
    return QDesktopServices.openUrl(QUrl(url))


def local_now() -> datetime:
    return datetime.now().astimezone()


__all__ = [
    "EMPTY",
    "FeedView",
    "LinkFallback",
    "desktop_open",
    "exact_time",
    "local_now",
    "open_link",
    "opportunity_url",
    "relative_time",
]
