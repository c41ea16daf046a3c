"""Page 5 — Salesforce fields: which write-back fields the org has and can update (describe,
fetched off the GUI thread), the mapping from our figures to Opportunity fields (editable), what
is missing and how to add it, and whether the per-invoice object exists.

Each figure offers only updateable *custom* fields of a type that can hold it, plus the field we
ask admins to create for it: a standard field (Name, NextStep, Amount…) is Salesforce's own and
never overwritten. A picker changes only when it has the focus (no wheel or arrow key reaches an
unfocused row). Missing fields never block: write-back skips them (and the summary lists them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from ...connectors.errors import RequestRejected
from ...connectors.salesforce import FieldInfo
from ...connectors.salesforce.tooling import user_rights
from ...core.errors import ConfigInvalid
from ...core.settings import ACCOUNT_FIGURES, DEFAULT_FIELD_MAP, INVOICE_OBJECT, Settings
from ..context import SetupContext
from ..worker import run_in_background
from .common import LoadPanel, heading, plain_label
from .create_fields import CreateFieldsPanel
from .field_combo import FieldCombo, MappingColumns, centred
from .stage import failure_sentence

OPPORTUNITY = "Opportunity"
ACCOUNT = "Account"
NOT_WRITTEN = "(don't write)"

# Our figures, in the order shown: friendly name, Salesforce field types that can hold the value,
# and the type to create when the field is missing (as Salesforce's "New Custom Field" names it).
FIGURES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "project_id": ("BigTime project ID", ("string",), "Text(40), External ID"),
    "project_url": ("BigTime project link", ("url", "string"), "URL"),
    "budget_fees": ("Budget (fees)", ("currency", "double"), "Currency(16, 2)"),
    "budget_hours": ("Budget (hours)", ("double",), "Number(16, 2)"),
    "budget_expenses": ("Budget (expenses)", ("currency", "double"), "Currency(16, 2)"),
    "budget_total": ("Budget (total: fees + expenses)", ("currency", "double"), "Currency(16, 2)"),
    "hours_logged": ("Hours logged", ("double",), "Number(16, 2)"),
    "expenses_logged": ("Expenses logged", ("currency", "double"), "Currency(16, 2)"),
    "wip": ("Work in progress (WIP)", ("currency", "double"), "Currency(16, 2)"),
    "invoiced_to_date": ("Invoiced to date", ("currency", "double"), "Currency(16, 2)"),
    "paid_to_date": ("Paid to date", ("currency", "double"), "Currency(16, 2)"),
    "last_sync": ("Last sync", ("datetime",), "Date/Time"),
    "client_id": ("BigTime client ID (on the account)", ("string",), "Text(40), External ID"),
}
HOW_TO_ADD = (
    "To add a missing field by hand: in Salesforce Setup › Object Manager › Opportunity (Account for "
    "the one marked Account.) › Fields & Relationships › New, create it with the name and type below, "
    "and make it editable for "
    "the user you connected with. Then come back to this page (Back, Next) to check again."
)
INVOICE_HINT = (
    f"Per-invoice rows need the custom object {INVOICE_OBJECT} (installed with BigSync's field "
    "package or created by hand); without it, only the totals above are written."
)


@dataclass(frozen=True)
class FieldsReport:
    opportunity: dict[str, FieldInfo]
    invoice_object: bool | None  # None: Salesforce would not say
    may_create: bool | None = None  # the user has Customize Application (None: unknown)
    account: dict[str, FieldInfo] = field(default_factory=dict)

    def fields_for(self, figure: str) -> dict[str, FieldInfo]:
        """The fields of the object the figure is written on (ACCOUNT_FIGURES: the Account)."""
        return self.account if figure in ACCOUNT_FIGURES else self.opportunity


def read_fields(connector) -> FieldsReport:  # runs on a pool thread
    sf = connector.salesforce()
    opportunity = sf.fields(OPPORTUNITY)
    try:
        sf.fields(INVOICE_OBJECT)
        invoice: bool | None = True
    except RequestRejected as exc:
        invoice = False if (exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE")) else None
    rights = user_rights(sf)
    return FieldsReport(
        opportunity, invoice, rights.has("CustomizeApplication") if rights else None, sf.fields(ACCOUNT)
    )


def status_of(target: str, fields: dict[str, FieldInfo], figure: str) -> tuple[str, bool]:
    """(status text, ok) for a mapped field name."""
    if not target:
        return "— not written", True
    info = {name.lower(): f for name, f in fields.items()}.get(target.lower())
    if info is None:
        return "✗ missing", False
    if not info.custom:
        return "✗ a standard field", False
    if not info.updateable:
        return "✗ not editable", False
    if info.type not in FIGURES[figure][1]:
        return f"✗ wrong type ({info.type})", False
    return "✓ exists", True


def offered(figure: str, fields: dict[str, FieldInfo]) -> list[FieldInfo]:
    """The fields a figure may be written to: updateable custom fields of a compatible type."""
    types = FIGURES[figure][1]
    return sorted(
        (f for f in fields.values() if f.custom and f.updateable and f.type in types), key=lambda f: f.label.lower()
    )


class _FocusedOnly(QObject):
    """Drops wheel events on a picker that has not the focus: scrolling the page over the table
    must never change a mapping."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        return event.type() == QEvent.Type.Wheel and not watched.hasFocus()


class FieldsPage(QWizardPage):
    def __init__(self, context: SetupContext) -> None:
        super().__init__()
        self.context = context
        self.setTitle("Salesforce fields")
        self.setSubTitle(
            "Where BigTime's figures are written on each opportunity, and the client on its account. "
            "Missing fields are skipped; you can add them later."
        )
        self._report: FieldsReport | None = None
        self._generation = 0
        self._map = self._saved_map()
        self.combos: dict[str, FieldCombo] = {}
        self._focused_only = _FocusedOnly(self)

        self.panel = LoadPanel("&Retry")
        self.panel.retry.connect(self.load_fields)
        self.table = QTableWidget(len(FIGURES), 3)
        self.table.setHorizontalHeaderLabels(["Figure", "Salesforce field", "Status"])  # short: room for the pickers
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab moves between the field pickers, not cells
        self.table.setEnabled(False)
        table_label = QLabel("&Mapping:")
        table_label.setBuddy(self.table)
        for row, (figure, (name, _types, _create)) in enumerate(FIGURES.items()):
            item = QTableWidgetItem(name)
            item.setToolTip(figure)
            self.table.setItem(row, 0, item)
            mark = QTableWidgetItem("")
            mark.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(row, 2, mark)
        self.columns = MappingColumns(self.table, self.combos)
        self.missing_title = heading("Missing fields")
        self.missing = plain_label(selectable=True)
        self.invoice = plain_label()
        self.create_panel = CreateFieldsPanel(
            lambda: self.context.connector,
            self.field_map,
            {figure: create for figure, (_n, _t, create) in FIGURES.items()},
        )
        self.create_panel.created.connect(self.load_fields)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        layout.addWidget(table_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.missing_title)
        layout.addWidget(self.create_panel)  # before the hand-made way, which stays below it
        layout.addWidget(self.missing)
        layout.addWidget(self.invoice)
        self.create_panel.hide()
        self.missing_title.hide()
        self.missing.hide()

    def _saved_map(self) -> dict[str, str]:
        try:
            saved = Settings.load(self.context.profile).sync.field_map
        except ConfigInvalid:
            saved = dict(DEFAULT_FIELD_MAP)
        return {figure: saved.get(figure, DEFAULT_FIELD_MAP[figure]) for figure in FIGURES}

    # ---- what the wizard reads --------------------------------------------------------------------
    def field_map(self) -> dict[str, str]:
        """Our figure → Opportunity field API name ("" = don't write)."""
        return dict(self._map)

    def problems(self) -> list[str]:
        """One line per mapped field that cannot be written (missing, not editable, wrong type)."""
        if self._report is None:
            return []
        out = []
        for figure, target in self._map.items():
            text, ok = status_of(target, self._report.fields_for(figure), figure)
            if not ok:
                out.append(f"{target} ({FIGURES[figure][0]}): {text.lstrip('✗ ')}")
        return out

    def written(self) -> list[str]:
        """ "Friendly name → field" for each figure that will be written."""
        if self._report is None:
            return []
        return [
            f"{FIGURES[figure][0]} → {target}"
            for figure, target in self._map.items()
            if target and status_of(target, self._report.fields_for(figure), figure)[1]
        ]

    def invoice_object(self) -> bool | None:
        return self._report.invoice_object if self._report else None

    # ---- QWizardPage --------------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802
        self.load_fields()

    def isComplete(self) -> bool:  # noqa: N802
        return self._report is not None

    # ---- loading ----------------------------------------------------------------------------------
    def load_fields(self) -> None:
        self._generation += 1
        generation = self._generation
        self._report = None
        self.table.setEnabled(False)
        self.panel.loading("Reading the Opportunity fields from Salesforce…")
        self.completeChanged.emit()
        connector = self.context.connector
        run_in_background(
            lambda: read_fields(connector),
            lambda report: self._on_report(generation, report),
            lambda exc: self._on_failed(generation, exc),
            self,
        )

    def _on_failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.panel.failed(f"The Opportunity fields could not be read. {failure_sentence(exc)}")

    def _on_report(self, generation: int, report: FieldsReport) -> None:
        if generation != self._generation:
            return
        self._report = report
        self.panel.done()
        for row, figure in enumerate(FIGURES):
            combo = self._combo_for(figure, report.fields_for(figure))
            self.table.setCellWidget(row, 1, centred(combo))
            self.combos[figure] = combo
        self.table.setEnabled(True)
        self.columns.fit()
        for previous, combo in zip(list(self.combos.values()), list(self.combos.values())[1:]):
            self.setTabOrder(previous, combo)
        self._refresh_status()
        if report.invoice_object:
            self.invoice.setText(
                f"✓ The org has the {INVOICE_OBJECT} object: one row per BigTime invoice is "
                "written under each opportunity."
            )
        elif report.invoice_object is False:
            self.invoice.setText(f"✗ The org has no {INVOICE_OBJECT} object. " + INVOICE_HINT)
        else:
            self.invoice.setText(f"Salesforce would not say whether {INVOICE_OBJECT} exists. " + INVOICE_HINT)
        self.completeChanged.emit()

    def _combo_for(self, figure: str, fields: dict[str, FieldInfo]) -> FieldCombo:
        name = FIGURES[figure][0]
        combo = FieldCombo()
        combo.setAccessibleName(f"{ACCOUNT if figure in ACCOUNT_FIGURES else OPPORTUNITY} field for {name}")
        combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel scrolls the page
        combo.installEventFilter(self._focused_only)
        combo.add_field(NOT_WRITTEN, "")
        choices = offered(figure, fields)
        labels = [f.label.lower() for f in choices]
        for f in choices:  # combo items are plain text; a label two fields share is shown with its API name
            combo.add_field(f"{f.label} ({f.name})", f.name, f.label if labels.count(f.label.lower()) == 1 else "")
        by_name = {n.lower(): f for n, f in fields.items()}
        ours = DEFAULT_FIELD_MAP[figure]
        if ours.lower() not in by_name:  # the field we ask admins to create: pickable before it exists
            combo.add_field(f"{ours} (not in Salesforce yet)", ours, ours)
        target = self._map.get(figure, "")
        index = next((i for i in range(combo.count()) if combo.itemData(i).lower() == target.lower()), -1)
        if index < 0 and target:  # saved, but not offered: keep the mapping, say why it is not written
            info = by_name.get(target.lower())
            text = f"{target} (not in Salesforce)" if info is None else f"{info.label} ({info.name}) — not usable"
            combo.add_field(text, target, target if info is None else info.label)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))
        combo.currentIndexChanged.connect(lambda _i, f=figure, c=combo: self._on_mapped(f, c))
        return combo

    def _on_mapped(self, figure: str, combo: FieldCombo) -> None:
        self._map[figure] = combo.currentData() or ""
        self._refresh_status()
        self.columns.fit()  # its shown text may need another width

    def _refresh_status(self) -> None:
        assert self._report is not None
        missing_lines = []
        for row, (figure, (_name, _types, create)) in enumerate(FIGURES.items()):
            target = self._map.get(figure, "")
            text, ok = status_of(target, self._report.fields_for(figure), figure)
            item = self.table.item(row, 2)  # the mark; its words in the tooltip and the list below
            item.setText(text[0])
            item.setToolTip(text)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
            if figure in ACCOUNT_FIGURES:  # said where it goes: the steps above name Opportunity
                target = f"{ACCOUNT}.{target}"
            if not ok and text == "✗ missing":
                missing_lines.append(f"•  {target} — {create}")
            elif not ok and text == "✗ a standard field":
                missing_lines.append(
                    f"•  {target} — a standard field: BigSync never writes Salesforce's own fields; pick a custom field"
                )
            elif not ok:
                missing_lines.append(
                    f"•  {target} — {text.lstrip('✗ ')}: make it an editable {create} field, or pick another field"
                )
        lacking = any(status_of(t, self._report.fields_for(f), f)[0] == "✗ missing" for f, t in self._map.items())
        self.create_panel.update_for(lacking or self._report.invoice_object is False, self._report.may_create)
        if missing_lines:
            self.missing_title.show()
            self.missing.setText(HOW_TO_ADD + "\n" + "\n".join(missing_lines))
            self.missing.show()
        else:
            self.missing_title.hide()
            self.missing.hide()
