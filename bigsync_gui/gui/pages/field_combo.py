"""The Fields page's picker and the widths of its mapping table, so a chosen field reads whole at
200 % on a 1280×800 screen (docs/wizard.md, "The mapping at 200 %").

The closed box shows the field's label (what Salesforce's own pages show); its list shows each
field as "Label (ApiName)", and so does its tooltip. Only a label too long for the room left is
elided, in the middle. The table gives the picker column the width its chosen labels need and
wraps the figure names into what is left."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHeaderView,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

SHOWN_ROLE = Qt.ItemDataRole.UserRole + 2  # the text the closed box shows ("" or unset: the item's text)


class FieldCombo(QComboBox):
    """A field picker whose closed box shows the chosen field's short name (SHOWN_ROLE)."""

    def __init__(self) -> None:
        super().__init__()
        # Its size comes from the shown text, not from the longest "Label (ApiName)" in the list.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(4)
        self.currentIndexChanged.connect(lambda _i: self._changed())

    def add_field(self, text: str, name: str, shown: str = "") -> None:
        """One entry: ``text`` in the list and the tooltip, ``shown`` (default: text) in the closed box."""
        self.addItem(text, name)
        self.setItemData(self.count() - 1, shown or text, SHOWN_ROLE)
        self.setItemData(self.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        if self.currentIndex() == self.count() - 1:  # the first entry becomes current without a signal
            self._changed()

    def shown_text(self) -> str:
        return str(self.currentData(SHOWN_ROLE) or self.currentText())

    def _changed(self) -> None:
        self.setToolTip(self.currentText())
        self.updateGeometry()
        self.update()

    def _options(self) -> QStyleOptionComboBox:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        return option

    def text_width(self) -> int:
        """The width the style leaves for the closed box's text (its label is drawn 1 px in on each side)."""
        rect = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, self._options(), QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return rect.width() - 2

    def needed_width(self) -> int:
        """The box's width that shows its shown text whole."""
        fm = self.fontMetrics()
        contents = QSize(fm.horizontalAdvance(self.shown_text()) + 2, fm.height())
        return self.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, self._options(), contents, self).width()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.needed_width(), super().sizeHint().height())

    def showPopup(self) -> None:  # noqa: N802
        """The list is as wide as its "Label (ApiName)" entries (within the screen), not only as the box."""
        view = self.view()
        wanted = view.sizeHintForColumn(0) + view.verticalScrollBar().sizeHint().width() + 2 * view.frameWidth()
        screen = self.screen().availableGeometry().width() if self.screen() else wanted
        view.setMinimumWidth(min(wanted, screen))
        super().showPopup()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QStylePainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        option = self._options()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.fontMetrics().elidedText(
            self.shown_text(), Qt.TextElideMode.ElideMiddle, self.text_width()
        )
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


def centred(combo: QComboBox) -> QWidget:
    """The picker as a table cell: its own height, centred in a row made taller by a wrapped figure name."""
    cell = QWidget()
    layout = QVBoxLayout(cell)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(combo, 0, Qt.AlignmentFlag.AlignVCenter)
    return cell


class MappingColumns(QObject):
    """Keeps the mapping table's columns fitted to its width: the status column as narrow as its
    mark, the pickers as wide as their shown text needs, the figure names (column 0) wrapped into
    the rest — never narrower than their longest word or their heading, never wider than one line."""

    def __init__(self, table: QTableWidget, combos: dict[str, FieldCombo]) -> None:
        super().__init__(table)
        self.table = table
        self.combos = combos
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.setWordWrap(True)
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _figure_widths(self) -> tuple[int, int]:
        """(narrowest, one line) for the figure column: its longest word or heading, its longest name."""
        table = self.table
        fm = table.fontMetrics()
        margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1) + 2
        names = [table.item(row, 0).text() for row in range(table.rowCount())]
        words = [word for name in names for word in name.split()]
        heading = table.horizontalHeaderItem(0).text() if table.horizontalHeaderItem(0) else ""
        header_margin = table.horizontalHeader().sectionSizeFromContents(0).width() - fm.horizontalAdvance(heading)
        narrowest = max(
            max((fm.horizontalAdvance(w) for w in words), default=0) + margin,
            fm.horizontalAdvance(heading) + header_margin,
        )
        one_line = max(max((fm.horizontalAdvance(n) for n in names), default=0) + margin, narrowest)
        return narrowest, one_line

    def fit(self) -> None:
        table = self.table
        narrowest, one_line = self._figure_widths()
        pickers = max((combo.needed_width() for combo in self.combos.values()), default=0)
        room = table.viewport().width() - table.horizontalHeader().sectionSize(2) - pickers
        table.horizontalHeader().resizeSection(0, max(narrowest, min(one_line, room)))
        table.resizeRowsToContents()


__all__ = ["FieldCombo", "MappingColumns", "SHOWN_ROLE", "centred"]
