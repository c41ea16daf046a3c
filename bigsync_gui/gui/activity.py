"""The Activity window. It opens on "What happened" (gui/activity_feed.py): what happened to the
deals, newest first, in sentences with relative times and links to the opportunity in Salesforce
and the project in BigTime. One click away, "Cycles": recent cycles (when, kind, result, changes,
message: gui/cycles_table.py) above the events of the selected cycle. A filter and "Problems only" narrow both; "Copy
diagnostics" copies a redacted summary for a support request.

The store is read off the GUI thread (``gui.worker``); every cell is plain text — opportunity
names and refusal reasons come from Salesforce/BigTime and are never shown as rich text.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..connectors.bigtime_assumptions import project_url
from ..connectors.redact import redact
from ..connectors.timestamps import parse_timestamp
from ..core.profile import Profile
from ..core.settings import Settings
from ..core.problems import cycle_outcome
from ..core.store import Cycle, Event, Store
from ..core.where_to_act import for_surface
from ..connectors.wording import plural
from .activity_feed import EMPTY, URL_ROLE, FeedView, LinkFallback, desktop_open, link_item, open_link, opportunity_url
from .cycles_table import CYCLE_COLUMNS, ColumnFitter, cycle_row, duration, fit_columns, plain_tooltip, refresh_times
from .screen_fit import fit_to_screen
from .worker import run_in_background

CYCLES_SHOWN = 200
TIMES_REFRESH_MS = 60_000  # "5 min ago" moves on while the window is open
DEFAULT_SIZE = QSize(980, 600)
MINIMUM_SIZE = QSize(520, 340)
CYCLE_ROLE = Qt.ItemDataRole.UserRole + 2
QUIET_ROLE = Qt.ItemDataRole.UserRole + 3
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 4

EVENT_COLUMNS = ("Time", "What", "Details", "Salesforce", "BigTime")
EVENT_KINDS = {
    "created": "Project created",
    "linked": "Linked",
    "severed": "Link severed",
    "restored": "Link restored",
    "written": "Figures written",
    "rejected": "Refused",
    "client": "Client",
    "warning": "Warning",
    "mode": "Triggers",
}
PROBLEM_EVENTS = {"rejected", "warning", "severed"}


@dataclass
class ActivityData:
    cycles: list[Cycle] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    instance_url: str = ""
    bigtime_base_url: str = ""
    settings_summary: dict[str, Any] = field(default_factory=dict)


def load_activity(profile: Profile, cycles: int = CYCLES_SHOWN) -> ActivityData:
    """Everything the window shows (runs on a worker thread)."""
    data = ActivityData()
    try:
        settings = Settings.load(profile)
    except Exception:  # a broken settings file is shown elsewhere; activity still loads
        settings = None
    if settings is not None:
        data.instance_url = settings.salesforce.instance_url.rstrip("/")
        data.bigtime_base_url = settings.bigtime.base_url if settings.bigtime.connected else ""
        s = settings.sync
        data.settings_summary = {
            "salesforce": {
                "login_url": settings.salesforce.login_url,
                "instance_url": settings.salesforce.instance_url,
                "connected": settings.salesforce.connected,
            },
            "bigtime": {"base_url": settings.bigtime.base_url, "auth_mode": settings.bigtime.auth_mode},
            "sync": {
                "trigger_stage": s.trigger_stage,
                "interval_seconds": s.interval_seconds,
                "writeback_interval_seconds": s.writeback_interval_seconds,
                "backfill": s.backfill,
                "api_budget_percent": s.api_budget_percent,
            },
        }
    db = profile.data_dir / "state.db"
    if db.exists():
        store = Store(db)
        try:
            data.cycles, events = store.recent_activity(cycles)
            data.events = [replace(e, message=for_surface(e.message, "gui")) for e in events]  # the GUI's pointers
        finally:
            store.close()
    return data


def local_time(iso: str | None, with_date: bool = True) -> str:
    if not iso:
        return ""
    try:
        moment = parse_timestamp(iso).astimezone()
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _item(text: Any) -> QStandardItem:
    item = QStandardItem("" if text is None else str(text))
    item.setEditable(False)
    return item


def _text_item(text: str) -> QStandardItem:
    """A sentence that may come from a service: shown as plain text; its tooltip (which Qt would
    read as rich text if it looked like markup) is escaped, so it shows the text literally, wrapped."""
    item = _item(text)
    if text:
        item.setToolTip(plain_tooltip(text))
    return item


class CycleFilter(QSortFilterProxyModel):
    """Text filter (over the row, or any of the cycle's events), "problems only", "hide quiet"."""

    def __init__(self) -> None:
        super().__init__()
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.matching_cycles: set[int] | None = None  # cycles with an event that matches the text
        self.problems_only = False
        self.hide_quiet = False

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802 - Qt's name
        model = self.sourceModel()
        index = model.index(row, 0, parent)
        if self.problems_only and not model.data(index, PROBLEM_ROLE):
            return False
        if self.hide_quiet and model.data(index, QUIET_ROLE):
            return False
        if self.matching_cycles is not None and model.data(index, CYCLE_ROLE) in self.matching_cycles:
            return True
        return super().filterAcceptsRow(row, parent)


class EventFilter(QSortFilterProxyModel):
    def __init__(self) -> None:
        super().__init__()
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.cycles: set[int] | None = None  # only these cycles' events (the selection), None: all
        self.problems_only = False

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        model = self.sourceModel()
        index = model.index(row, 0, parent)
        if self.cycles is not None and model.data(index, CYCLE_ROLE) not in self.cycles:
            return False
        if self.problems_only and not model.data(index, PROBLEM_ROLE):
            return False
        return super().filterAcceptsRow(row, parent)


class ActivityWindow(QWidget):
    loaded = Signal()

    def __init__(
        self, profile: Profile, status_text: Callable[[], str] = lambda: "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.status_text = status_text
        self.data = ActivityData()
        self._generation = 0
        self._loading = False
        self.setWindowTitle("Activity")  # Qt adds " — BigSync" (the application's display name)
        self.open_url: Callable[[str], bool] = desktop_open  # tests replace it

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: opportunity, project, message…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter")
        self.problems_box = QCheckBox("&Problems only")
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.problems_box)

        # -- What happened (the first tab) --
        self.feed = FeedView()
        self.feed.clicked.connect(self._on_feed_clicked)
        self.feed_empty = QLabel(EMPTY)
        self.feed_empty.setTextFormat(Qt.TextFormat.PlainText)
        self.feed_empty.setWordWrap(True)
        self.feed_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.feed_stack = QStackedWidget()
        self.feed_stack.addWidget(self.feed)
        self.feed_stack.addWidget(self.feed_empty)

        # -- Cycles (one click away) --
        self.quiet_box = QCheckBox("Hide &quiet cycles")
        self.quiet_box.setToolTip("Cycles that found nothing to do")
        self.quiet_box.setChecked(True)
        self.cycle_model = QStandardItemModel(0, len(CYCLE_COLUMNS), self)
        self.cycle_model.setHorizontalHeaderLabels(list(CYCLE_COLUMNS))
        self.cycle_proxy = CycleFilter()
        self.cycle_proxy.setSourceModel(self.cycle_model)
        self.cycle_view = self._table(self.cycle_proxy)
        self.cycle_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._cycle_fitter = ColumnFitter(self.cycle_view)  # fits the window's width: never scrolls sideways

        self.event_model = QStandardItemModel(0, len(EVENT_COLUMNS), self)
        self.event_model.setHorizontalHeaderLabels(list(EVENT_COLUMNS))
        self.event_proxy = EventFilter()
        self.event_proxy.setSourceModel(self.event_model)
        self.event_view = self._table(self.event_proxy)
        self.event_view.clicked.connect(self._on_event_clicked)
        self.event_view.setMouseTracking(True)
        self.event_view.selectionModel().currentRowChanged.connect(self._show_detail)
        # Widening the window widens Details; the other columns are as wide as their content.
        events_header = self.event_view.horizontalHeader()
        events_header.setStretchLastSection(False)
        events_header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        self.events_label = QLabel("Events")
        self.events_label.setTextFormat(Qt.TextFormat.PlainText)
        self.events_label.setWordWrap(True)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.events_label)
        lower_layout.addWidget(self.event_view)
        # The whole sentence of the current event, wrapped: a plain-text widget, never rich text.
        self.detail_pane = QPlainTextEdit()
        self.detail_pane.setReadOnly(True)
        self.detail_pane.setPlaceholderText("Select an event to read it in full.")
        self.detail_pane.setMaximumHeight(self.detail_pane.fontMetrics().lineSpacing() * 4 + 12)
        lower_layout.addWidget(self.detail_pane)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.cycle_view)
        splitter.addWidget(lower)
        splitter.setSizes([300, 300])
        cycles_page = QWidget()
        cycles_layout = QVBoxLayout(cycles_page)
        cycles_layout.addWidget(self.quiet_box)
        cycles_layout.addWidget(splitter, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.feed_stack, "&What happened")
        self.tabs.addTab(cycles_page, "C&ycles")

        self.link_fallback = LinkFallback()
        self.summary_label = QLabel("Loading…")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)  # never wider than the window: the buttons stay on screen
        self.refresh_button = QPushButton("&Refresh")
        self.copy_button = QPushButton("&Copy diagnostics")
        self.copy_button.setToolTip(
            "Copies versions, settings and recent activity, with tokens hidden, for a support request"
        )
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary_label, 1)
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.copy_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.link_fallback)
        layout.addLayout(bottom)

        self.filter_edit.textChanged.connect(self._apply_filter)
        self.problems_box.toggled.connect(self._apply_filter)
        self.quiet_box.toggled.connect(self._apply_filter)
        self.cycle_view.selectionModel().selectionChanged.connect(self._on_selection)
        self.refresh_button.clicked.connect(self.reload)
        self.copy_button.clicked.connect(self.copy_diagnostics)
        self._times = QTimer(self)
        self._times.setInterval(TIMES_REFRESH_MS)
        self._times.timeout.connect(self._refresh_times)
        self._placed = False
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)  # as a dialog: the keyboard's way out

    def _table(self, model: QSortFilterProxyModel) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().setVisible(False)
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
        header = view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return view

    # ---- loading -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the store again in the background (results from an older read are dropped)."""
        self._generation += 1
        generation = self._generation
        self._loading = True
        profile = self.profile
        run_in_background(
            lambda: load_activity(profile),
            lambda data: self._loaded(generation, data),
            lambda exc: self._failed(generation, exc),
            self,
        )

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self._loading = False
            self.summary_label.setText(f"The activity could not be read: {exc}")
            self.loaded.emit()

    def _loaded(self, generation: int, data: ActivityData) -> None:
        if generation != self._generation:
            return
        self._loading = False
        selected = self.selected_cycles()
        self.data = data
        self._fill_cycles(data)
        self._fill_events(data)
        self.feed.fill(data.events, data.instance_url, data.bigtime_base_url)
        self._apply_filter()
        self._reselect(selected)
        self.summary_label.setText(self._summary(data))
        self.loaded.emit()

    def _summary(self, data: ActivityData) -> str:
        if not data.cycles:
            return "No sync has run yet."
        created = sum(c.created for c in data.cycles)
        refused = sum(c.rejected for c in data.cycles)
        outcomes = [cycle_outcome(c.result, c.error_code, c.error_system) for c in data.cycles if c.result == "failed"]
        waited = sum(1 for o in outcomes if o in ("Waiting", "Offline"))
        cycles = len(data.cycles)
        return (
            f"{plural(cycles, 'recent cycle')} · {plural(created, 'project')} created · {refused} refused · "
            f"{len(outcomes) - waited} failed" + (f" · {waited} waited" if waited else "")
        )

    def _fill_cycles(self, data: ActivityData) -> None:
        model = self.cycle_model
        model.removeRows(0, model.rowCount())
        for c in data.cycles:
            counts = c.created + c.linked + c.severed + c.restored + c.written + c.rejected
            row = cycle_row(c)
            row[0].setData(c.id, CYCLE_ROLE)
            row[0].setData(c.result == "ok" and counts == 0, QUIET_ROLE)
            row[0].setData(c.result in ("failed", "partial", "interrupted") or c.rejected > 0, PROBLEM_ROLE)
            model.appendRow(row)

    def _fill_events(self, data: ActivityData) -> None:
        model = self.event_model
        model.removeRows(0, model.rowCount())
        for e in data.events:
            sf = opportunity_url(data.instance_url, e.opportunity_id)
            bt = project_url(data.bigtime_base_url, e.project_id) if data.bigtime_base_url and e.project_id else ""
            row = [
                _item(local_time(e.at)),
                _item(EVENT_KINDS.get(e.kind, e.kind)),
                _text_item(e.message),
                link_item("Open opportunity", sf),
                link_item("Open project", bt),
            ]
            row[0].setData(e.cycle_id, CYCLE_ROLE)
            row[0].setData(e.kind in PROBLEM_EVENTS, PROBLEM_ROLE)
            model.appendRow(row)
        self._show_detail(self.event_view.currentIndex())

    # ---- filtering and selection -----------------------------------------------------------------
    def _apply_filter(self) -> None:
        text = self.filter_edit.text().strip()
        problems = self.problems_box.isChecked()
        self.event_proxy.problems_only = problems
        self.event_proxy.setFilterFixedString(text)
        self.feed.proxy.problems_only = problems
        self.feed.proxy.setFilterFixedString(text)
        self.feed.proxy.invalidate()
        self.feed.resizeRowsToContents()
        self.feed_stack.setCurrentWidget(
            self.feed if self.feed.proxy.rowCount() or text or problems else self.feed_empty
        )
        matching: set[int] | None = None
        if text:
            needle = text.lower()
            matching = {e.cycle_id for e in self.data.events if e.cycle_id is not None and needle in e.message.lower()}
        self.cycle_proxy.matching_cycles = matching
        self.cycle_proxy.problems_only = problems
        self.cycle_proxy.hide_quiet = self.quiet_box.isChecked() and not text
        self.cycle_proxy.setFilterFixedString(text)
        self.cycle_proxy.invalidate()
        self._count_quiet()
        fit_columns(self.cycle_view)  # to the rows the filter shows (sized while they were hidden, it cut them: "20…")
        self._on_selection()

    def _refresh_times(self) -> None:
        self.feed.refresh_times()
        refresh_times(self.cycle_model)
        fit_columns(self.cycle_view)

    def _count_quiet(self) -> None:
        """Says how many cycles the box hides, so an empty table after a few quiet syncs is explained."""
        model = self.cycle_model
        hidden = 0
        if self.cycle_proxy.hide_quiet:
            hidden = sum(1 for r in range(model.rowCount()) if model.data(model.index(r, 0), QUIET_ROLE))
        self.quiet_box.setText(f"Hide &quiet cycles ({hidden} hidden)" if hidden else "Hide &quiet cycles")

    def selected_cycles(self) -> set[int]:
        rows = self.cycle_view.selectionModel().selectedRows()
        return {self.cycle_proxy.data(index, CYCLE_ROLE) for index in rows}

    def _reselect(self, cycle_ids: set[int]) -> None:
        if not cycle_ids:
            return
        for row in range(self.cycle_proxy.rowCount()):
            index = self.cycle_proxy.index(row, 0)
            if self.cycle_proxy.data(index, CYCLE_ROLE) in cycle_ids:
                self.cycle_view.selectRow(row)

    def _on_selection(self, *_: Any) -> None:
        selected = self.selected_cycles()
        if selected:
            self.event_proxy.cycles = selected
            label = f"Events of the selected cycle{'s' if len(selected) > 1 else ''}"
        else:
            shown = {
                self.cycle_proxy.data(self.cycle_proxy.index(r, 0), CYCLE_ROLE)
                for r in range(self.cycle_proxy.rowCount())
            }
            self.event_proxy.cycles = shown
            label = "Events of the cycles shown (select a cycle to see only its events)"
        self.event_proxy.invalidate()
        self.event_view.resizeColumnsToContents()  # the events shown; Details (column 2) stretches: it takes the rest
        self.events_label.setText(f"{label}: {self.event_proxy.rowCount()}")

    def _show_detail(self, index: QModelIndex, *_: Any) -> None:
        text = self.event_proxy.data(self.event_proxy.index(index.row(), 2)) if index.isValid() else ""
        self.detail_pane.setPlainText(text or "")

    # ---- links ---------------------------------------------------------------------------------
    def _on_event_clicked(self, index: QModelIndex) -> None:
        open_link(self.event_proxy.data(index, URL_ROLE) or "", self.link_fallback, self.open_url)

    def _on_feed_clicked(self, index: QModelIndex) -> None:
        open_link(self.feed.proxy.data(index, URL_ROLE) or "", self.link_fallback, self.open_url)

    # ---- diagnostics ---------------------------------------------------------------------------
    def diagnostics(self) -> str:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        data = self.data
        lines = [
            f"bigsync-gui {__version__} · Python {platform.python_version()} · PySide6 {pyside_version} "
            f"· Qt {qVersion()}",
            f"Platform: {platform.platform()} · Qt platform: {QGuiApplication.platformName()}",
            f"Profile: {self.profile.config_dir.parent}",
            f"Status: {self.status_text()}",
            f"Settings: {data.settings_summary}",
            "",
            "Recent cycles (newest first):",
        ]
        for c in data.cycles[:30]:
            lines.append(
                f"  #{c.id} {c.started_at} {c.kind} {c.result} {duration(c)} created={c.created} "
                f"written={c.written} severed={c.severed} refused={c.rejected} "
                f"sf_requests={c.salesforce_requests} bt_requests={c.bigtime_requests} {c.message}".rstrip()
            )
        lines += ["", "Recent events (newest first):"]
        for e in data.events[:60]:
            lines.append(
                f"  {e.at} cycle {e.cycle_id} {e.kind} opp={e.opportunity_id or '-'} "
                f"project={e.project_id or '-'} {e.message}"
            )
        return redact("\n".join(lines))

    def copy_diagnostics(self) -> str:
        text = self.diagnostics()
        QGuiApplication.clipboard().setText(text)
        self.summary_label.setText("Diagnostics copied to the clipboard (tokens and keys hidden).")
        return text

    def showEvent(self, event: Any) -> None:  # noqa: N802
        if not self._placed:  # the first time: a size that fits the screen (at 200 % on 1280×800 too)
            self._placed = True
            fit_to_screen(self, DEFAULT_SIZE, MINIMUM_SIZE)
        super().showEvent(event)
        self._times.start()
        self.reload()

    def hideEvent(self, event: Any) -> None:  # noqa: N802
        super().hideEvent(event)
        self._times.stop()  # no timer while the window is closed
