"""The setup wizard: Welcome → Connect Salesforce → Connect BigTime → Trigger stage → Fields →
Summary, whose **Save** (the Finish button) writes the trigger, interval, backfill and field map.

Pages read Salesforce off the GUI thread and write nothing; the Save runs in the background too
(``Engine.configure`` + the field map), then emits ``saved`` and closes. Cancel before Save leaves
the saved setup as it was — except a connection made on the connect pages, which is stored when
the admin signs in (docs/wizard.md). Opened on a configured profile, every page starts from the
saved choices, so the wizard edits the setup.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QWidget, QWizard

from ..core.errors import ConfigInvalid
from ..core.settings import Settings
from .app import DISPLAY_NAME, app_icon
from .context import SetupContext
from .pages.common import sentence
from .pages.connect_bigtime import ConnectBigTimePage
from .pages.connect_salesforce import ConnectSalesforcePage
from .pages.fields import FieldsPage
from .pages.stage import StagePage
from .pages.summary import Choices, SummaryPage
from .pages.welcome import WelcomePage
from .worker import run_in_background

PAGE_WELCOME, PAGE_SALESFORCE, PAGE_BIGTIME, PAGE_STAGE, PAGE_FIELDS, PAGE_SUMMARY = range(6)
PAGE_NAMES = {"welcome": PAGE_WELCOME, "salesforce": PAGE_SALESFORCE, "bigtime": PAGE_BIGTIME,
              "stage": PAGE_STAGE, "fields": PAGE_FIELDS, "summary": PAGE_SUMMARY}
TITLE = f"Set up {DISPLAY_NAME}"
DEFAULT_SIZE = QSize(860, 620)  # fits 1280×720 with room for the window frame and a panel


def salesforce_sentence(settings: Settings) -> str:
    s = settings.salesforce
    if not s.connected:
        return "Salesforce is not connected."
    return f"Connected to Salesforce: {s.display_name or s.org_id} as {s.username or 'the signed-in user'}."


def bigtime_sentence(settings: Settings) -> str:
    b = settings.bigtime
    if not b.connected:
        return "BigTime is not connected."
    if b.auth_mode == "api_key":
        return f"Connected to BigTime: firm {b.firm_id}, with the firm's API key."
    return f"Connected to BigTime as {b.user_name or 'the signed-in user'}."


class SetupWizard(QWizard):
    saved = Signal()

    def __init__(self, context: SetupContext, start_page: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle(TITLE)
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Save")
        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(640, 480))
        self._sentences: dict[str, str] = {}
        self._saving = False
        self._done_saving = False
        context.salesforce_connected.connect(lambda text: self._sentences.__setitem__("salesforce", text))
        context.bigtime_connected.connect(lambda text: self._sentences.__setitem__("bigtime", text))

        self.welcome_page = WelcomePage(context)
        self.salesforce_page = ConnectSalesforcePage(context)
        self.bigtime_page = ConnectBigTimePage(context)
        self.stage_page = StagePage(context)
        self.fields_page = FieldsPage(context)
        self.summary_page = SummaryPage(context)
        for page_id, page in ((PAGE_WELCOME, self.welcome_page), (PAGE_SALESFORCE, self.salesforce_page),
                              (PAGE_BIGTIME, self.bigtime_page), (PAGE_STAGE, self.stage_page),
                              (PAGE_FIELDS, self.fields_page), (PAGE_SUMMARY, self.summary_page)):
            self.setPage(page_id, page)
        if start_page is not None:
            if start_page not in PAGE_NAMES:
                raise ValueError(f"unknown wizard page {start_page!r}; one of {', '.join(PAGE_NAMES)}")
            self.setStartId(PAGE_NAMES[start_page])

    # ---- what will be saved -----------------------------------------------------------------------
    def choices(self) -> Choices:
        try:
            settings = Settings.load(self.context.profile)  # a small local file
        except ConfigInvalid:
            settings = Settings()
        stage = self.stage_page.chosen_stage()
        return Choices(
            salesforce=self._sentences.get("salesforce") or salesforce_sentence(settings),
            bigtime=self._sentences.get("bigtime") or bigtime_sentence(settings),
            stage_api_name=stage.api_name if stage else "",
            stage_label=stage.label if stage else "",
            already_past=self.stage_page.already_past(),
            backfill=self.stage_page.wants_backfill(),
            interval_seconds=self.stage_page.interval_seconds(),
            field_map=self.fields_page.field_map(),
            written=self.fields_page.written(),
            problems=self.fields_page.problems(),
            invoice_object=self.fields_page.invoice_object(),
        )

    # ---- Save (the Finish button) and Cancel -------------------------------------------------------
    def accept(self) -> None:
        if self._done_saving:
            super().accept()
            return
        if self._saving:
            return
        choices = self.choices()
        if not choices.stage_api_name:
            self.summary_page.save_failed("No trigger stage is chosen: go Back to the stage page.")
            return
        self._set_saving(True)
        engine, connector = self.context.engine, self.context.connector

        def work() -> None:  # on a pool thread
            engine.configure(choices.stage_api_name, interval_seconds=choices.interval_seconds,
                             backfill=choices.backfill)
            settings = connector.settings()
            settings.sync.field_map = dict(choices.field_map)
            settings.save(connector.profile)

        run_in_background(work, self._on_saved, self._on_save_failed, self)

    def _on_saved(self, _result: object) -> None:
        self._set_saving(False)
        self._done_saving = True
        self.saved.emit()
        self.accept()

    def _on_save_failed(self, exc: Exception) -> None:
        self._set_saving(False)
        self.summary_page.save_failed(sentence(exc))

    def reject(self) -> None:
        if self._saving:
            return  # the Save is on its way; it finishes (or fails) first
        super().reject()

    def done(self, result: int) -> None:
        super().done(result)
        if not self.isVisible():  # closed (Save, Cancel, Esc): stop any sign-in still running
            for page in (self.salesforce_page, self.bigtime_page):
                abort = getattr(page, "abort", None)
                if abort is not None:
                    abort()

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.FinishButton,
                      QWizard.WizardButton.CancelButton):
            button = self.button(which)
            if button is not None:
                button.setEnabled(not saving)
        if saving:
            self.summary_page.saving()
