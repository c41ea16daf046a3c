"""What both connect pages share (``ConnectPage``, the base of the Salesforce and the BigTime page):
the embedded browser shown *in the page* (a stacked panel that replaces the form while it is open),
the system-browser (loopback) flow with its Cancel, the code exchange and the save off the GUI
thread, errors as one sentence with **Retry**, and "Connected to … as …" with **Sign in again**.

Why in the page and not in a dialog: the wizard already has the size that fits 1280×720, one
window keeps keyboard focus and the wizard's own Cancel/Back in reach, and nothing can end up
hidden behind the wizard. While the browser is shown it gets the whole page (the form is not
needed then), and it goes away as soon as the redirect is caught.

Text from Salesforce/BigTime (org, user, error descriptions) only ever reaches plain-text labels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)
from shiboken6 import isValid

from ...connectors import oauth
from ...connectors.errors import AuthorizationFailed, ReconnectNeeded
from ...connectors.http import require_secure_url
from ...core.errors import ConfigInvalid
from ...core.settings import Settings
from ..auth_browser import AuthBrowser, open_externally
from ..context import SetupContext
from ..webengine_check import EngineCheck, advice, shared_check
from ..worker import run_in_background
from .common import warning_icon
from .connect_words import error_sentence, kept_sentence

LOOPBACK_TIMEOUT = 300.0  # seconds the system-browser sign-in waits for the answer


def plain(text: str = "", *, wrap: bool = True, selectable: bool = False) -> QLabel:
    """A label that never interprets its text as rich text."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
    label.setText(text)
    return label


def with_hint(field: QWidget | QHBoxLayout, hint: QLabel) -> QWidget:
    """A form field with its explanation right under it (one form row)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(max(2, hint.fontMetrics().height() // 6))
    if isinstance(field, QWidget):
        layout.addWidget(field)
    else:
        layout.addLayout(field)
    layout.addWidget(hint)
    return box


class _UrlOpener(QObject):
    """Lets a worker thread ask the GUI thread to open a URL (queued signal)."""

    requested = Signal(str)


class ConnectPage(QWizardPage):
    """What both connect pages share. Subclasses build the form (``build_form``), make an attempt
    from it (``make_attempt``) and save the tokens (``save_tokens``, runs in the background)."""

    browser_shown = Signal()  # the sign-in page is up: the wizard makes room for it

    system = ""
    label = ""
    connected_signal_name = ""

    def __init__(self, context: SetupContext) -> None:
        super().__init__()
        self.context = context
        self.open_url: Callable[[str], None] = open_externally  # the system browser (tests replace it)
        self.engine_check: EngineCheck = shared_check()  # can the embedded browser start here? (tests replace it)
        self.loopback_timeout = LOOPBACK_TIMEOUT
        self.browser: AuthBrowser | None = None
        self.connection_text: str | None = None  # "Connected to …" when connected (now or before)
        self.kept_text: str | None = None  # instead, after a new sign-in failed: the saved one is kept
        self.state = "form"  # form | browser | waiting | working
        self._editing = True
        self._generation = 0
        self._cancel: threading.Event | None = None
        self._retry_action: Callable[[], None] | None = None
        self._opener = _UrlOpener(self)
        self._opener.requested.connect(self._open_for_worker)

        self.stack = QStackedWidget(self)
        # -- the form panel --
        self.form_panel = QWidget()
        self.form_box = QWidget()
        self.build_form(self.form_box)
        self.sign_in_button = QPushButton("S&ign in")
        self.sign_in_button.setDefault(False)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.system_browser_button = QPushButton("Use my system bro&wser instead")
        self.system_browser_button.clicked.connect(self.sign_in_with_system_browser)
        self.buttons_row = QWidget()
        row = QHBoxLayout(self.buttons_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sign_in_button)
        row.addWidget(self.system_browser_button)
        row.addStretch(1)

        icon_size = self.fontMetrics().height()
        self.status_icon = warning_icon(self)  # the same sign as the other pages' failures
        self.status_label = plain(selectable=True)
        self.status_label.setAccessibleName("Sign-in status")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(self.fontMetrics().averageCharWidth() * 14)
        self.retry_button = QPushButton("&Retry")
        self.retry_button.clicked.connect(self.retry)
        self.status_row = QWidget()
        row = QHBoxLayout(self.status_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.status_icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.status_label, 1)
        row.addWidget(self.busy, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)

        self.connected_icon = QLabel()
        self.connected_icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton).pixmap(icon_size, icon_size)
        )
        self.connected_label = plain(selectable=True)
        self.connected_label.setAccessibleName(f"{self.label} connection")
        self.admin_label = plain()
        self.again_button = QPushButton("Sign in a&gain")
        self.again_button.clicked.connect(self.sign_in_again)
        self.connected_row = QWidget()
        grid = QHBoxLayout(self.connected_row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.connected_icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.addWidget(self.connected_label)
        texts.addWidget(self.admin_label)
        grid.addLayout(texts, 1)
        grid.addWidget(self.again_button, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self.form_panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.connected_row)
        layout.addWidget(self.form_box)
        layout.addWidget(self.buttons_row)
        layout.addWidget(self.status_row)
        layout.addStretch(1)

        # -- the embedded-browser panel (an AuthBrowser is added per attempt) --
        self.browser_panel = QWidget()
        self.browser_layout = QVBoxLayout(self.browser_panel)
        self.browser_layout.setContentsMargins(0, 0, 0, 0)

        # -- waiting for the system browser --
        self.wait_panel = QWidget()
        self.wait_label = plain(
            f"Finish signing in to {self.label} in your web browser and click Allow. "
            "If no browser window opened, open this address yourself:"
        )
        self.wait_url = QLineEdit()
        self.wait_url.setReadOnly(True)
        wait_url_label = QLabel("Sign-in &address:")
        wait_url_label.setBuddy(self.wait_url)
        self.wait_copy = QPushButton("Cop&y")
        self.wait_copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.wait_url.text()))
        self.wait_cancel = QPushButton("&Cancel sign-in")
        self.wait_cancel.clicked.connect(self.cancel_system_browser)
        wait_busy = QProgressBar()
        wait_busy.setRange(0, 0)
        wait_busy.setTextVisible(False)
        url_row = QHBoxLayout()
        url_row.addWidget(wait_url_label)
        url_row.addWidget(self.wait_url, 1)
        url_row.addWidget(self.wait_copy)
        layout = QVBoxLayout(self.wait_panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.wait_label)
        layout.addLayout(url_row)
        layout.addWidget(wait_busy)
        layout.addWidget(self.wait_cancel, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

        for panel in (self.form_panel, self.browser_panel, self.wait_panel):
            self.stack.addWidget(panel)
        outer = QVBoxLayout(self)
        outer.addWidget(self.stack)

        self._hide_status()
        self.load_saved()
        self._render()

    # ---- for subclasses ---------------------------------------------------------------------------
    def build_form(self, box: QWidget) -> None:
        raise NotImplementedError

    def make_attempt(self) -> oauth.AuthorizationAttempt:
        """An attempt from the form; ValueError / ConnectorError with a sentence if the form is not right."""
        raise NotImplementedError

    def save_tokens(self, attempt: oauth.AuthorizationAttempt, tokens: oauth.TokenSet) -> tuple[str, str]:
        """Runs in the background: store the grant; (the connected sentence, an extra line)."""
        raise NotImplementedError

    def saved_connection(self, settings: Settings) -> str | None:
        raise NotImplementedError

    def load_form(self, settings: Settings) -> None:
        raise NotImplementedError

    def invalid_field(self, exc: BaseException) -> QWidget | None:
        """The field to focus for a form error, if any."""
        return None

    def attempt_words(self) -> tuple[str, str]:
        """What the admin tried, as a sentence starts, and how it ended when it was not refused."""
        return "The new sign-in", "did not go through"

    def primary_button(self) -> QPushButton:
        """What Enter presses while the form is being filled in (Sign in; BigTime's key mode: Connect)."""
        return self.sign_in_button

    # ---- Enter follows the page's state ----------------------------------------------------------
    def _form_in_use(self) -> bool:
        return self.state == "form" and self.buttons_row.isVisible()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """While the form is in use, Enter in a field presses the page's own action (Sign in /
        Connect), never the wizard's Next: a new key typed after "Sign in again" is tested and
        saved, not left behind while the admin goes on believing it was. Once connected, Enter is
        the wizard's (Next)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._form_in_use():
            button = self.primary_button()
            if button.isVisible() and button.isEnabled():
                button.click()
            event.accept()
            return
        super().keyPressEvent(event)

    # ---- QWizardPage ------------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802
        return self.connection_text is not None and self.state == "form"

    def initializePage(self) -> None:  # noqa: N802
        """Entering the page (again): pick up a connection made elsewhere (the CLI); what the
        admin typed stays as it is."""
        if self.state == "form" and self.connection_text is None:
            self.connection_text = self.saved_connection(self._settings())
            self._editing = self.connection_text is None
            self._render()

    def cleanupPage(self) -> None:  # noqa: N802 - Back: stop any sign-in; keep what was typed
        self.abort()

    def abort(self) -> None:
        """Stop whatever sign-in is running (the wizard calls this when it closes)."""
        self._generation += 1
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        self._close_browser()
        if self.state != "form":
            self.state = "form"
            self._hide_status()
            self._render()

    # ---- loading what was saved -------------------------------------------------------------------
    def _settings(self) -> Settings:
        try:
            return Settings.load(self.context.profile)  # one small local file
        except ConfigInvalid:
            return Settings()

    def load_saved(self) -> None:
        settings = self._settings()
        self.load_form(settings)
        self.connection_text = self.saved_connection(settings)
        self.admin_label.setText("")
        self._editing = self.connection_text is None

    # ---- actions ----------------------------------------------------------------------------------
    def sign_in(self) -> None:
        """The embedded browser."""
        attempt = self._attempt_or_error(self.sign_in)
        if attempt is None:
            return
        check = self.engine_check
        if not check.known:  # the first sign-in of the run: find out in a child process (it may vanish)
            generation = self._begin(self.sign_in)
            self.state = "working"
            self._show_busy("Opening the sign-in window…")
            self._render()
            check.finished.connect(lambda: self._after_engine_check(generation))
            check.start()
            return
        if not check.ok:
            self._retry_action = None
            self._show_error(advice(check.reason), retry=False)
            self._render()
            self.system_browser_button.setFocus()
            return
        generation = self._begin(self.sign_in)
        browser = AuthBrowser(attempt, self.browser_panel, open_external=lambda url: self.open_url(url))
        browser.code_received.connect(lambda code: self._on_code(generation, attempt, code))
        browser.failed.connect(lambda failure: self._on_failed(generation, failure))
        browser.cancelled.connect(lambda: self._on_cancelled(generation))
        self.browser = browser
        self.browser_layout.addWidget(browser)
        self.state = "browser"
        self._render()
        self.browser_shown.emit()
        browser.start()

    def _after_engine_check(self, generation: int) -> None:
        if self._current(generation) and self.state == "working":
            self.state = "form"
            self._hide_status()
            self.sign_in()

    def sign_in_with_system_browser(self) -> None:
        """RFC 8252 loopback: listen on the callback URL's port, open the system browser, wait."""
        attempt = self._attempt_or_error(self.sign_in_with_system_browser)
        if attempt is None:
            return
        generation = self._begin(self.sign_in_with_system_browser)
        cancel = threading.Event()
        self._cancel = cancel
        opener, timeout = self._opener, self.loopback_timeout

        def work() -> tuple[str, str]:
            attempt.preflight()  # an unknown consumer key is said here, not in the browser
            tokens = oauth.run_loopback_flow(attempt, open_url=opener.requested.emit, timeout=timeout, cancel=cancel)
            return self.save_tokens(attempt, tokens)

        self.wait_url.setText(attempt.authorization_url)
        self.wait_url.setCursorPosition(0)
        self.wait_cancel.setEnabled(True)
        self.state = "waiting"
        self._render()
        self.wait_cancel.setFocus()
        run_in_background(
            work, lambda result: self._on_saved(generation, result), lambda exc: self._on_failed(generation, exc)
        )

    def cancel_system_browser(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # the worker stops waiting within 0.1 s and frees the port
            self.wait_cancel.setEnabled(False)

    def retry(self) -> None:
        if self._retry_action is not None:
            self._retry_action()

    def sign_in_again(self) -> None:
        self._editing = True
        self._hide_status()
        self._render()
        self.sign_in_button.setFocus()

    def run_save(self, fn: Callable[[], tuple[str, str]], retry: Callable[[], None], busy_text: str) -> None:
        """Save something that needs no browser (the BigTime API key) in the background."""
        generation = self._begin(retry)
        self.state = "working"
        self._show_busy(busy_text)
        self._render()
        run_in_background(
            fn, lambda result: self._on_saved(generation, result), lambda exc: self._on_failed(generation, exc)
        )

    # ---- internals --------------------------------------------------------------------------------
    def _attempt_or_error(self, retry: Callable[[], None]) -> oauth.AuthorizationAttempt | None:
        try:
            return self.make_attempt()
        except Exception as exc:  # noqa: BLE001 - every form problem becomes a sentence
            self._retry_action = None
            self._show_error(error_sentence(exc), retry=False)
            field = self.invalid_field(exc)
            if field is not None:
                field.setFocus()
            return None

    def _begin(self, retry: Callable[[], None]) -> int:
        self._generation += 1
        self._retry_action = retry
        self.kept_text = None
        self._hide_status()
        self.completeChanged.emit()
        return self._generation

    def _current(self, generation: int) -> bool:
        return isValid(self) and generation == self._generation

    def _on_code(self, generation: int, attempt: oauth.AuthorizationAttempt, code: str) -> None:
        if not self._current(generation):
            return
        self._close_browser()
        self.state = "working"
        self._show_busy(f"Finishing the connection to {self.label}…")
        self._render()
        run_in_background(
            lambda: self.save_tokens(attempt, attempt.exchange(code)),
            lambda result: self._on_saved(generation, result),
            lambda exc: self._on_failed(generation, exc),
        )

    def _on_saved(self, generation: int, result: tuple[str, str]) -> None:
        if not self._current(generation):
            return
        connected, extra = result
        self._cancel = None
        self.connection_text, self.kept_text = connected, None
        self.admin_label.setText(extra)
        self._editing = False
        self.state = "form"
        self._hide_status()
        self._render()
        self._focus_next()  # Enter goes on to the next step, not "Sign in again"
        getattr(self.context, self.connected_signal_name).emit(connected)

    def _focus_next(self) -> None:
        wizard = self.wizard()
        button = wizard.button(QWizard.WizardButton.NextButton) if wizard is not None else None
        if button is not None and button.isVisible() and button.isEnabled():
            button.setDefault(True)
            button.setFocus()
        else:
            self.again_button.setFocus()

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if not self._current(generation):
            return
        self._cancel = None
        self._close_browser()
        self.state = "form"
        self._editing = True
        if isinstance(exc, AuthorizationFailed) and exc.error == "cancelled":
            self._hide_status()
            self._render()
            self.sign_in_button.setFocus()
            return
        if self.connection_text is not None:
            self.kept_text = kept_sentence(
                self.connection_text, self.label, self.attempt_words(), isinstance(exc, ReconnectNeeded)
            )
        self._show_error(error_sentence(exc), retry=True)
        self._render()
        self.retry_button.setFocus()

    def _on_cancelled(self, generation: int) -> None:
        if not self._current(generation):
            return
        self._close_browser()
        self.state = "form"
        self._hide_status()
        self._render()
        self.sign_in_button.setFocus()

    def _open_for_worker(self, url: str) -> None:
        self.wait_url.setText(url)
        self.wait_url.setCursorPosition(0)
        self.open_url(url)

    def _close_browser(self) -> None:
        browser, self.browser = self.browser, None
        if browser is not None:
            browser.shutdown()

    def _show_busy(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_icon.hide()
        self.busy.show()
        self.retry_button.hide()
        self.status_row.show()

    def _show_error(self, text: str, *, retry: bool) -> None:
        self.status_label.setText(text)
        self.status_icon.show()
        self.busy.hide()
        self.retry_button.setVisible(retry)
        self.status_row.show()

    def _hide_status(self) -> None:
        self.status_label.setText("")
        self.status_row.hide()

    def _render(self) -> None:
        panel = {"browser": self.browser_panel, "waiting": self.wait_panel}.get(self.state, self.form_panel)
        self.stack.setCurrentWidget(panel)
        connected = self.connection_text is not None
        self.connected_row.setVisible(connected)
        self.connected_label.setText(self.kept_text or self.connection_text or "")
        self.connected_icon.setVisible(self.kept_text is None)  # no ✓ beside a failure
        self.admin_label.setVisible(connected and self.kept_text is None and bool(self.admin_label.text()))
        editing = self._editing or not connected
        self.again_button.setVisible(connected and not editing)
        self.form_box.setVisible(editing)
        self.buttons_row.setVisible(editing and self.state == "form")
        if self.state == "working":
            self.buttons_row.setVisible(False)
        self.completeChanged.emit()  # the wizard sets its default button (Next) here; then ours wins while editing
        self.claim_default_button()

    def claim_default_button(self) -> None:
        """While the admin fills the form, Enter presses its Sign in / Connect, not the wizard's
        Next (disabled until connected). The wizard calls this again once it has set up its own
        buttons for this page (gui/wizard.py)."""
        editing = self._editing or self.connection_text is None
        in_use = editing and self.state == "form"
        for button in (self.sign_in_button, getattr(self, "connect_key_button", None)):
            if button is not None:
                button.setDefault(in_use and button is self.primary_button())
        wizard = self.wizard()
        if in_use and wizard is not None and wizard.currentPage() is self:
            for which in (
                QWizard.WizardButton.NextButton,
                QWizard.WizardButton.FinishButton,
                QWizard.WizardButton.CommitButton,
            ):
                other = wizard.button(which)
                if isinstance(other, QPushButton):
                    other.setDefault(False)

    def _callback_row(self) -> tuple[QLabel, QHBoxLayout]:
        """The redirect URI field with its Copy button (the admin registers exactly this URI)."""
        self.callback = QLineEdit()
        self.callback.setAccessibleName("Callback URL")
        label = QLabel("Ca&llback URL:")
        label.setBuddy(self.callback)
        self.copy_button = QPushButton("Cop&y")
        self.copy_button.setToolTip("Copy the callback URL")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.callback.text().strip()))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.callback, 1)
        row.addWidget(self.copy_button)
        return label, row


# ==============================================================================================


class FieldError(ValueError):
    """A form problem: the sentence, and the field to focus."""

    def __init__(self, field: QWidget, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def callback_url(field: QLineEdit, system: str) -> str:
    value = field.text().strip()
    if not value:
        raise FieldError(field, "Enter the callback URL registered for the app.")
    try:
        require_secure_url(system, value)
    except Exception as exc:  # noqa: BLE001
        raise FieldError(field, error_sentence(exc)) from None
    return value


__all__ = ["ConnectPage", "FieldError", "LOOPBACK_TIMEOUT", "callback_url", "error_sentence", "plain", "with_hint"]
