"""The embedded sign-in browser: one OAuth authorization attempt in Qt WebEngine.

What the admin sees: the real address of the page (read-only), whether the connection is
encrypted, a load progress bar, the service's own login and consent pages, and a Cancel button.
What it does (docs/design.md, "The GUI" and "Security"):

- a fresh **off-the-record** ``QWebEngineProfile`` per attempt (no cookies or cache kept), owned
  by this widget and deleted after its page;
- the redirect to our redirect URI is **caught, never loaded**: ``acceptNavigationRequest`` asks
  ``attempt.is_redirect(url)`` (exact scheme, host, port and path), refuses the navigation, and
  ``attempt.code_from_redirect`` checks ``state`` and turns ``error=`` into a sentence;
- pop-ups (``target=_blank``, ``window.open``) open in the system browser instead;
- an error page instead of a login (unknown consumer key, unregistered callback URL, HTTP ≥ 400)
  and a page that cannot load at all (offline) end the attempt with a sentence;
- TLS errors are rejected (never accepted), and a main-frame navigation to plain ``http://`` on
  another computer is refused — the admin's password never travels unencrypted.

Qt WebEngine is imported only when an ``AuthBrowser`` is built (the first Sign in), so the wizard
and the tray start without it. Everything here runs on the GUI thread and does no network I/O of
its own: WebEngine loads pages in its own processes, and the code exchange is the caller's job
(in the background).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..connectors.errors import AuthorizationFailed
from ..connectors.http import is_loopback
from ..connectors.systems import label_of
from .webengine_check import loopback_only

log = logging.getLogger(__name__)

SECURE = "Secure connection (HTTPS)"
LOCAL = "Local sandbox (not encrypted)"
INSECURE = "Not secure"


def security_text(url: str) -> str:
    """What the indicator beside the address says for ``url``."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return SECURE
    if parts.scheme == "http":
        return LOCAL if is_loopback(parts.hostname or "") else INSECURE
    return ""


def open_externally(url: str) -> None:
    QDesktopServices.openUrl(QUrl(url))


_page_class: type | None = None


def _catching_page_class() -> type:
    """The QWebEnginePage subclass, built on first use so importing this module stays cheap."""
    global _page_class
    if _page_class is not None:
        return _page_class
    from PySide6.QtWebEngineCore import QWebEnginePage

    class CatchingPage(QWebEnginePage):
        """Hands every navigation to its AuthBrowser first; never opens windows of its own."""

        def __init__(self, profile: Any, browser: AuthBrowser, parent: Any) -> None:
            super().__init__(profile, parent)
            self._browser = browser

        def acceptNavigationRequest(self, url: QUrl, nav_type: Any, is_main_frame: bool) -> bool:  # noqa: N802
            if not self._browser.handle_navigation(url.toString(), is_main_frame):
                return False
            return super().acceptNavigationRequest(url, nav_type, is_main_frame)

        def createWindow(self, _type: Any) -> None:  # noqa: N802 - pop-ups: see newWindowRequested
            return None

        def javaScriptConsoleMessage(self, *_args: Any) -> None:  # noqa: N802 - the sign-in pages' console is noise
            pass

    _page_class = CatchingPage
    return CatchingPage


class AuthBrowser(QWidget):
    """One sign-in attempt in an embedded browser. Emits exactly one of ``code_received`` (the
    authorization code; exchange it off the GUI thread), ``failed`` (an AuthorizationFailed with
    a sentence for the admin) or ``cancelled``; after that it ignores the page."""

    code_received = Signal(str)
    failed = Signal(object)  # AuthorizationFailed
    cancelled = Signal()

    def __init__(
        self, attempt: Any, parent: QWidget | None = None, *, open_external: Callable[[str], None] = open_externally
    ) -> None:
        super().__init__(parent)
        from PySide6.QtWebEngineCore import QWebEngineProfile
        from PySide6.QtWebEngineWidgets import QWebEngineView

        self.attempt = attempt
        self.system: str = attempt.endpoints.system
        self._open_external = open_external
        self.finished = False
        self.external_urls: list[str] = []  # pop-ups sent to the system browser (shown, and for tests)

        # Widgets: the address bar row, the progress bar, the view, Cancel.
        self.address = QLineEdit(self)
        self.address.setReadOnly(True)
        self.address.setAccessibleName("Address of the sign-in page")
        self.address_label = QLabel("Address:", self)
        self.address_label.setBuddy(self.address)
        self.security = QLabel(self)
        self.security.setTextFormat(Qt.TextFormat.PlainText)
        self.security.setAccessibleName("Connection security")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(max(4, self.fontMetrics().height() // 3))
        self.progress.setAccessibleName("Page loading progress")
        self.view = QWebEngineView(self)  # created before the profile: children die in creation order
        self.view.setMinimumSize(self.fontMetrics().averageCharWidth() * 24, self.fontMetrics().height() * 10)
        self.cancel_button = QPushButton("&Cancel sign-in", self)
        self.cancel_button.clicked.connect(self.cancel)

        # One off-the-record profile per attempt (no storage name = nothing written to disk).
        self.profile = QWebEngineProfile(self)
        assert self.profile.isOffTheRecord()
        self._page = _catching_page_class()(self.profile, self, self.view)
        self._page.newWindowRequested.connect(self._on_new_window)
        self._page.urlChanged.connect(self._on_url_changed)
        self._page.loadStarted.connect(lambda: self.progress.setValue(0))
        self._page.loadProgress.connect(self.progress.setValue)
        self._page.loadingChanged.connect(self._on_loading_changed)
        self._page.certificateError.connect(self._on_certificate_error)
        self._page.renderProcessTerminated.connect(self._on_render_process_terminated)
        self.view.setPage(self._page)

        # The security indicator under the address, not beside it: at 200 % on a small screen the
        # row would otherwise be wider than the page and the wizard would scroll sideways.
        self.address.setMinimumWidth(self.fontMetrics().averageCharWidth() * 12)
        self.security.setWordWrap(True)
        top = QGridLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.address_label, 0, 0)
        top.addWidget(self.address, 0, 1)
        top.addWidget(self.security, 1, 1)
        top.setColumnStretch(1, 1)
        bottom = QHBoxLayout()
        self.hint = QLabel(
            f"Sign in to {label_of(self.system)}, then click Allow. Links that open a new window "
            "open in your web browser.",
            self,
        )
        self.hint.setWordWrap(True)
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self.setTabOrder(self.view, self.cancel_button)
        self.setTabOrder(self.cancel_button, self.address)

    # ---- public -----------------------------------------------------------------------------------
    def page(self) -> Any:
        """The QWebEnginePage (for tests: ``runJavaScript``, ``loadFinished``)."""
        return self._page

    def start(self) -> None:
        self._show_url(self.attempt.authorization_url)
        self._page.load(QUrl(self.attempt.authorization_url))
        self.view.setFocus()

    def cancel(self) -> None:
        if self._page is not None:
            self._page.triggerAction(self._page.WebAction.Stop)
        self._end(self.cancelled.emit)

    def shutdown(self) -> None:
        """Stop loading and delete this widget: the view goes first with its child, the page, then
        the profile (created after the view, so deleted after it — a profile must outlive its
        pages, or Qt warns "Release of profile requested but WebEnginePage still not deleted").
        The page's renderer process ends with it."""
        self.finished = True
        page, self._page = self._page, None
        if page is None:
            return
        try:
            page.triggerAction(page.WebAction.Stop)
            self.hide()
            self.deleteLater()
        except RuntimeError:  # already deleted with its parent
            pass

    # ---- the catching ---------------------------------------------------------------------------
    def handle_navigation(self, url: str, is_main_frame: bool = True) -> bool:
        """Whether a navigation may go ahead. The redirect to our redirect URI is caught here (and
        refused); so is a main-frame step onto plain http:// to another computer."""
        if self.attempt.is_redirect(url):
            self._caught(url)
            return False
        if self.finished:
            return False
        parts = urlsplit(url)
        if loopback_only() and parts.scheme in ("http", "https") and not is_loopback(parts.hostname or ""):
            self._fail(
                AuthorizationFailed(
                    self.system,
                    f"The sign-in window runs without Chromium's sandbox here (as root, for the built-in "
                    f"sandbox only), so it opens no page from another computer ({parts.hostname}). Use "
                    "your system browser instead.",
                    error="loopback_only",
                )
            )
            return False
        if is_main_frame and parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            self._fail(
                AuthorizationFailed(
                    self.system,
                    f"The sign-in page tried to continue on an unencrypted address ({parts.hostname}), so "
                    "BigSync stopped it: your password must never be sent without encryption. Check the "
                    "login address, or use your system browser instead.",
                    error="insecure_page",
                )
            )
            return False
        return True

    def _caught(self, url: str) -> None:
        if self.finished:
            return
        try:
            code = self.attempt.code_from_redirect(url)
        except AuthorizationFailed as exc:
            self._fail(exc)
            return
        log.info("%s: the sign-in redirect was caught", self.system)
        self._end(lambda: self.code_received.emit(code))

    # ---- page events ----------------------------------------------------------------------------
    def _on_url_changed(self, url: QUrl) -> None:
        text = url.toString()
        if text and not self.attempt.is_redirect(text) and text != "about:blank":
            self._show_url(text)

    def _show_url(self, url: str) -> None:
        self.address.setText(url)
        self.address.setCursorPosition(0)  # the host, not the end of a long query, is what must show
        self.security.setText(security_text(url))
        self.security.setToolTip(
            {
                SECURE: "The page is encrypted and its certificate was verified.",
                LOCAL: "The page comes from the sandbox on this computer.",
                INSECURE: "The page is not encrypted.",
            }.get(self.security.text(), "")
        )

    def _on_new_window(self, request: Any) -> None:
        url = request.requestedUrl().toString()
        if urlsplit(url).scheme in ("http", "https"):
            self.external_urls.append(url)
            self._open_external(url)

    def _on_certificate_error(self, error: Any) -> None:
        error.rejectCertificate()
        host = error.url().host()
        self._fail(
            AuthorizationFailed(
                self.system,
                f"The certificate of {host} could not be verified ({error.description()}), so BigSync did "
                "not open the page. Check the login address; if you are behind a company proxy, ask your IT "
                "team, or use your system browser instead.",
                error="certificate",
            )
        )

    def _on_render_process_terminated(self, status: Any, exit_code: int) -> None:
        """The page's renderer ended (crashed, killed, out of memory): say so, never leave a blank page."""
        name = getattr(status, "name", "")
        if name == "NormalTerminationStatus":
            return  # the page closing
        what = {"CrashedTerminationStatus": "crashed", "KilledTerminationStatus": "was stopped"}.get(
            name, "ended unexpectedly"
        )
        self._fail(
            AuthorizationFailed(
                self.system,
                f"The sign-in window's page process {what} (exit status {exit_code}). Click Retry, or use "
                "your system browser instead.",
                error="browser_crashed",
            )
        )

    def _on_loading_changed(self, info: Any) -> None:
        from PySide6.QtWebEngineCore import QWebEngineLoadingInfo

        if self.finished:
            return
        status = info.status()
        if status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
            self.progress.setValue(100)
            self._check_page(info.url().toString(), 200)
            return
        if status != QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            return
        self.progress.setValue(100)
        url = info.url().toString()
        if self.attempt.is_redirect(url):
            return  # the navigation we refused
        domain = info.errorDomain()
        if domain == QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain:
            self._check_page(url, info.errorCode())
            return
        if info.errorCode() == -3:  # net::ERR_ABORTED: a navigation replaced by another, or stopped
            return
        host = urlsplit(url).hostname or url
        self._fail(
            AuthorizationFailed(
                self.system,
                f"{label_of(self.system)}'s sign-in page at {host} could not be loaded ({info.errorString()}). "
                "Check your internet connection and the address, then click Retry.",
                error="load_failed",
            )
        )

    def _check_page(self, url: str, status: int) -> None:
        """An error page in place of a login: ask the attempt what it means (needs the text)."""
        page = self._page

        def got_text(text: str) -> None:
            if self.finished or self._page is not page:
                return
            failure = self.attempt.failure_from_page(url, text or "", status)
            if failure is not None:
                self._fail(failure)

        page.toPlainText(got_text)

    # ---- ending ---------------------------------------------------------------------------------
    def _end(self, emit: Callable[[], None]) -> None:
        """Finish once; the signal goes out from the event loop, never from inside WebEngine's
        navigation callback (stopping or deleting the page there trips a Chromium CHECK)."""
        if self.finished:
            return
        self.finished = True
        QTimer.singleShot(0, self, emit)

    def _fail(self, failure: AuthorizationFailed) -> None:
        if not self.finished:
            log.info("%s: the sign-in did not complete (%s)", self.system, failure.error or "error")
        self._end(lambda: self.failed.emit(failure))


__all__ = ["AuthBrowser", "INSECURE", "LOCAL", "SECURE", "security_text"]
