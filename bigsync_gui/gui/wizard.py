"""The setup wizard: Welcome → Connect Salesforce → Connect BigTime → Trigger stage → Fields →
Summary, whose **Save** (the commit button) writes the trigger, interval, backfill and field map,
then "You're all set" (**Done** closes it). A step list at the side marks where the admin is.

Pages read Salesforce off the GUI thread and write nothing; the Save runs in the background too (one
``Engine.save_setup``: the settings written once, the stage page's count reused), then emits
``saved`` and moves on to the last page. Cancel before Save leaves the saved setup as it was —
except a connection made on the connect pages, which is stored when the admin signs in — and asks
first when there is anything to lose or keep (docs/wizard.md). Opened on a configured profile, every
page starts from the saved choices, so the wizard edits the setup. The window fits the screen's
available area at any scale; pages scroll.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QLineEdit, QMessageBox, QPushButton, QWidget, QWizard

from ..assets import DISPLAY_NAME, app_icon
from ..core.cadence import known_daily_max
from ..core.errors import ConfigInvalid
from ..core.settings import Settings
from .context import SetupContext
from .pages.common import scroll_contents, sentence
from .pages.connect_base import ConnectPage
from .pages.connect_bigtime import ConnectBigTimePage
from .pages.connect_salesforce import ConnectSalesforcePage
from .pages.done import DonePage
from .pages.fields import FieldsPage
from .pages.stage import StagePage
from .pages.steps import StepList
from ..core.trigger_timing import INSTANT, planned
from .pages.summary import Choices, SummaryPage
from .pages.welcome import WelcomePage
from .screen_fit import fit_to_screen, grow_to_fit
from .worker import run_in_background

PAGE_WELCOME, PAGE_SALESFORCE, PAGE_BIGTIME, PAGE_STAGE, PAGE_FIELDS, PAGE_SUMMARY, PAGE_DONE = range(7)
PAGE_NAMES = {
    "welcome": PAGE_WELCOME,
    "salesforce": PAGE_SALESFORCE,
    "bigtime": PAGE_BIGTIME,
    "stage": PAGE_STAGE,
    "fields": PAGE_FIELDS,
    "summary": PAGE_SUMMARY,
}
TITLE = f"Set up {DISPLAY_NAME}"
DEFAULT_SIZE = QSize(860, 620)  # fits 1280×720 with room for the window frame and a panel
MINIMUM_SIZE = QSize(640, 480)  # unless the screen is smaller (200% on 1280×800 is 640×400)
BROWSER_HEIGHT = 820  # while a sign-in page shows: Salesforce's Allow button without scrolling
QUIT_TITLE = "Quit setup?"


def salesforce_sentence(settings: Settings) -> str:
    """The summary's Salesforce row (its label already says "Salesforce")."""
    s = settings.salesforce
    if not s.connected:
        return "Not connected."
    return f"{s.display_name or s.org_id}, signed in as {s.username or 'the signed-in user'}."


def bigtime_sentence(settings: Settings) -> str:
    """The summary's BigTime row (its label already says "BigTime")."""
    b = settings.bigtime
    if not b.connected:
        return "Not connected."
    firm = f"Firm {b.firm_id}" if b.firm_id else "Your firm"
    if b.auth_mode == "api_key":
        return f"{firm}, with the firm's API key."
    return (
        f"{firm}, signed in as {b.user_name}." if b.user_name else f"{firm}, signed in through BigTime's sign-in page."
    )


class SetupWizard(QWizard):
    saved = Signal()

    def __init__(self, context: SetupContext, start_page: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle(TITLE)
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Save")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Done")
        self._saving = False
        self._done_saving = False
        self.quit_box: QMessageBox | None = None
        self._connected_now: list[str] = []  # connections made in this run (stored at once): Cancel keeps them
        context.salesforce_connected.connect(lambda _text: self._connected("Salesforce"))
        context.bigtime_connected.connect(lambda _text: self._connected("BigTime"))

        self.welcome_page = WelcomePage(context)
        self.salesforce_page = ConnectSalesforcePage(context)
        self.bigtime_page = ConnectBigTimePage(context)
        self.stage_page = StagePage(context)
        self.fields_page = FieldsPage(context)
        self.summary_page = SummaryPage(context)
        self.summary_page.setCommitPage(True)  # its Save leads to the last page; no way Back from there
        self.done_page = DonePage()
        for page_id, page in (
            (PAGE_WELCOME, self.welcome_page),
            (PAGE_SALESFORCE, self.salesforce_page),
            (PAGE_BIGTIME, self.bigtime_page),
            (PAGE_STAGE, self.stage_page),
            (PAGE_FIELDS, self.fields_page),
            (PAGE_SUMMARY, self.summary_page),
            (PAGE_DONE, self.done_page),
        ):
            if page is not self.welcome_page:  # the Welcome page scrolls its own long text
                scroll_contents(page)
            self.setPage(page_id, page)
        self.steps = StepList()
        self.setSideWidget(self.steps)
        self.currentIdChanged.connect(self._on_page_changed)
        if start_page is not None:
            if start_page not in PAGE_NAMES:
                raise ValueError(f"unknown wizard page {start_page!r}; one of {', '.join(PAGE_NAMES)}")
            self.setStartId(PAGE_NAMES[start_page])
        fit_to_screen(self, DEFAULT_SIZE, MINIMUM_SIZE)
        for connect in (self.salesforce_page, self.bigtime_page):
            connect.browser_shown.connect(lambda: grow_to_fit(self, QSize(DEFAULT_SIZE.width(), BROWSER_HEIGHT)))

    def _on_page_changed(self, page_id: int) -> None:
        if page_id < 0:
            return
        for button in self.page(page_id).findChildren(QPushButton):
            # Enter is the wizard's default button (Next, or a page's own Connect), whatever has the
            # focus: a focused "Open AppExchange" took it, as every button of a dialog does unless
            # told not to. Space still presses the focused button.
            button.setAutoDefault(False)
        page = self.page(page_id)
        if isinstance(page, ConnectPage):
            page.claim_default_button()  # after QWizard made Next (or Finish) its default for this page
        self.steps.mark(page_id)  # the last page marks all six done
        if page_id == PAGE_DONE:
            self.setOption(QWizard.WizardOption.NoCancelButton, True)
            self.button(QWizard.WizardButton.FinishButton).setFocus()

    def sign_in_again_at_once(self, page_name: str | None, headline: str) -> None:
        """Opened by the tray's fix for a saved sign-in that stopped working ("Salesforce needs you to
        sign in again"): the page says that, instead of the saved settings' "✓ Connected to …", with
        the form open and Sign in the default, as after *Sign in again*."""
        pages = {"salesforce": self.salesforce_page, "bigtime": self.bigtime_page}
        page = pages.get(page_name or "")
        if page is None or page.connection_text is None or page.state != "form":
            return
        page.kept_text = f"{headline}: the saved connection no longer works."
        page.sign_in_again()

    def _connected(self, system: str) -> None:
        if system not in self._connected_now:
            self._connected_now.append(system)

    # ---- what will be saved -----------------------------------------------------------------------
    def _planned_triggers(self, settings: Settings) -> str:
        """The words Settings, the tray and `status` will show after Save (core.trigger_timing), from
        the allowance the wizard's own Salesforce reads saw. Where the Trigger stage page found the org
        ready for the change stream it said "Instant": so do the Summary and Done pages."""
        if self.stage_page.instant.words == INSTANT:
            return INSTANT
        try:
            usage = self.context.engine.salesforce_client().api_usage
        except Exception:  # not connected yet: the interval before the allowance is known
            usage = None
        # Before this wizard's own client has read Salesforce, the allowance seen when connecting: the
        # stage page's words come from it too, so the two pages never differ (5 min vs 7 min).
        daily_max = usage[1] if usage else known_daily_max(self.context.profile)
        return planned(settings, daily_max, self.stage_page.interval_seconds()).words

    def choices(self) -> Choices:
        try:
            settings = Settings.load(self.context.profile)  # a small local file
        except ConfigInvalid:
            settings = Settings()
        stage = self.stage_page.chosen_stage()
        return Choices(
            salesforce=salesforce_sentence(settings),  # the connect pages saved what they connected
            bigtime=bigtime_sentence(settings),
            stage_api_name=stage.api_name if stage else "",
            stage_label=stage.label if stage else "",
            already_past=self.stage_page.already_past(),
            backfill=self.stage_page.wants_backfill(),
            interval_seconds=self.stage_page.interval_seconds(),
            triggers=self._planned_triggers(settings),
            field_map=self.fields_page.field_map(),
            written=self.fields_page.written(),
            problems=self.fields_page.problems(),
            invoice_object=self.fields_page.invoice_object(),
        )

    # ---- Save (the summary's commit button), Done and Cancel -----------------------------------------
    def validateCurrentPage(self) -> bool:  # noqa: N802 - Next/Save; Save goes on once it is written
        if self.currentId() != PAGE_SUMMARY or self._done_saving:
            return super().validateCurrentPage()
        if not self._saving:
            self._save()
        return False

    def _save(self) -> None:
        choices = self.choices()
        if not choices.stage_api_name:
            self.summary_page.save_failed("No trigger stage is chosen: go Back to the stage page.")
            return
        self.done_page.show_plan(choices.stage_label, choices.triggers)
        self._set_saving(True)
        engine, read = self.context.engine, self.stage_page.already_past_read()
        run_in_background(
            lambda: engine.save_setup(
                choices.stage_api_name,
                choices.interval_seconds,
                choices.backfill,
                dict(choices.field_map),
                already_past=read,
            ),
            self._on_saved,
            self._on_save_failed,
            self,
        )

    def _on_saved(self, _result: object) -> None:
        self._set_saving(False)
        self._done_saving = True
        self.next()  # to "You're all set"
        self.saved.emit()

    def _on_save_failed(self, exc: Exception) -> None:
        self._set_saving(False)
        self.summary_page.save_failed(sentence(exc))

    def reject(self) -> None:
        """Cancel, Esc or closing the window: after Save it is Done; before, ask first when
        anything would be kept or lost."""
        if self._saving:
            return  # the Save is on its way; it finishes (or fails) first
        if self._done_saving:
            super().accept()
            return
        if not self._anything_to_lose():
            super().reject()
            return
        if self.quit_box is None:
            self.quit_box = self._make_quit_box()
        self.quit_box.setInformativeText(self.quit_message())  # fresh: a connection may be new
        self.quit_box.open()

    def _anything_to_lose(self) -> bool:
        """A connection made in this run, a step beyond the page it opened on, or a field the
        admin typed into."""
        if self._connected_now or len(self.visitedIds()) > 1:
            return True
        return any(
            edit.isModified()
            for page in (self.salesforce_page, self.bigtime_page)
            for edit in page.findChildren(QLineEdit)
        )

    def _typed_anything(self) -> bool:
        """Whether the admin changed anything on the connect pages (what Cancel would throw away)."""
        return any(
            edit.isModified()
            for page in (self.salesforce_page, self.bigtime_page)
            for edit in page.findChildren(QLineEdit)
        )

    def quit_message(self) -> str:
        """What Cancel keeps and what it discards (docs/wizard.md, "Cancel")."""
        lines = []
        throwaway = self.context.prefill.is_sandbox and not self._configured()
        if self._connected_now:
            both = " and ".join(self._connected_now)
            noun = "connection" if len(self._connected_now) == 1 else "connections"
            if throwaway:
                lines.append(f"Your {both} {noun} will be discarded with this sandbox setup.")
            else:
                lines.append(
                    f"Your {both} {noun} will be kept: BigSync stored "
                    f"{'it' if len(self._connected_now) == 1 else 'them'} when you signed in."
                )
        if self._configured():
            # "other changes" only where there are some: after a mere Reconnect… there are none
            other = len(self.visitedIds()) > 1 or self._typed_anything()
            lines.append(
                ("Your other changes are discarded; " if other else "") + "BigSync keeps syncing with the saved setup."
            )
        elif self._typed_anything():
            lines.append("Nothing else you entered is saved: the next time you start BigSync, setup starts again.")
        else:
            lines.append("The next time you start BigSync, setup starts again.")
        return "\n\n".join(lines)

    def _configured(self) -> bool:
        try:
            return Settings.load(self.context.profile).sync.configured
        except ConfigInvalid:
            return False

    def _make_quit_box(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, QUIT_TITLE, QUIT_TITLE, QMessageBox.StandardButton.NoButton, self)
        box.quit_button = box.addButton("&Quit setup", QMessageBox.ButtonRole.DestructiveRole)  # type: ignore[attr-defined]
        stay: QPushButton = box.addButton("&Continue setup", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)  # a second Esc does not quit: it goes back to the setup
        box.finished.connect(lambda _r: self._on_quit_answer(box))
        return box

    def _on_quit_answer(self, box: QMessageBox) -> None:
        if box.clickedButton() is box.quit_button:  # type: ignore[attr-defined]
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
        for which in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.CommitButton,
            QWizard.WizardButton.CancelButton,
        ):
            button = self.button(which)
            if button is not None:
                button.setEnabled(not saving)
        if saving:
            self.summary_page.saving()
