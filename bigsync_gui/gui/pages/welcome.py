"""Page 1 — Welcome & install guidance: what the app does, what the admin needs, the two ways to
get BigTime's Salesforce app, and how to register BigSync in Salesforce (External Client App)
and in BigTime, with our redirect URIs shown and copyable."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from ...connectors.oauth import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI
from ...core.errors import ConfigInvalid
from ...core.settings import Settings
from ..context import SetupContext
from .common import heading, plain_label

# Where an admin gets BigTime's Salesforce app. Assumed addresses (not checked against the live
# sites): the AppExchange search for BigTime, and BigTime's sign-in page (the integration settings
# are under My Company › Integrations once signed in).
APPEXCHANGE_URL = "https://appexchange.salesforce.com/appxSearchKeywordResults?keywords=BigTime"
BIGTIME_INTEGRATIONS_URL = "https://iq.bigtime.net/"

INTRO = (
    "BigSync turns Salesforce opportunities into BigTime projects and brings delivery figures back "
    "into Salesforce. When an opportunity reaches the stage you pick (usually Closed Won), BigSync "
    "creates the project in BigTime under the client that matches the opportunity's account, with "
    "its contacts. BigTime's budgets, time and expenses logged, invoices and payments then flow back "
    "onto the opportunity. Closed-lost opportunities never become projects, and deleting an "
    "opportunity never deletes a project."
)
NEEDS = "You need to be an administrator in both Salesforce and BigTime to finish this setup."
SANDBOX_NOTE = (
    "You are trying BigSync against the built-in sandbox. Its addresses, the consumer key, "
    "BigTime's client id and secret, the API key and the firm id are filled in, and nothing "
    "needs registering. The sandbox's sign-in pages show the demo user names and passwords to "
    "type. The steps below are what a real setup asks for."
)
NO_BROWSER = "No web browser opened. Open this address yourself:"
INSTALL = (
    "BigTime's own Salesforce app adds BigTime's objects to Salesforce. Install it one of two "
    "ways: from Salesforce's AppExchange, or from BigTime under My Company › Integrations › "
    "Salesforce."
)
SALESFORCE_STEPS = "\n".join(
    [
        "In Salesforce Setup › External Client App Manager, create a New External Client App (an existing "
        "Connected App works too):",
        "•  Enable OAuth, with the callback URL below.",
        "•  Turn ON “Require Proof Key for Code Exchange (PKCE)”.",
        "•  Turn OFF “Require secret for Web Server Flow”: BigSync needs no secret.",
        "•  Scopes: “Manage user data via APIs (api)” and “Perform requests at any time (refresh_token, "
        "offline_access)”.",
        "•  Copy the Consumer Key: the next page asks for it.",
    ]
)
BIGTIME_STEPS = (
    "In BigTime, either register a client app under My Company › Integrations (callback URL below; "
    "copy its client id and secret), or create a firm API key under My Company › Integrations › "
    "API Keys and note the firm id shown under Company Info."
)


class WelcomePage(QWizardPage):
    def __init__(self, context: SetupContext) -> None:
        super().__init__()
        self.context = context
        self.open_url: Callable[[str], bool] = lambda url: QDesktopServices.openUrl(QUrl(url))  # tests replace it
        self.setTitle("Welcome to BigSync")
        self.setSubTitle("What it does, and what to prepare before connecting the two systems.")
        sf_uri, bt_uri = self._redirect_uris()
        self._uri_labels: list[QLabel] = []

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 8, 0)
        column.setSpacing(8)
        if context.prefill.is_sandbox:
            note = plain_label(SANDBOX_NOTE)
            note.setFrameShape(QFrame.Shape.StyledPanel)
            note.setMargin(8)
            column.addWidget(note)
            if context.prefill.console_url:
                self.console_button = QPushButton("Open the sandbox &console")
                self.console_button.setToolTip(
                    context.prefill.console_url + " — move opportunities, log time, "
                    "raise invoices, and watch the sync react"
                )
                self.console_button.clicked.connect(self.open_console)
                console_row = QHBoxLayout()
                console_row.addWidget(self.console_button)
                console_row.addStretch(1)
                column.addLayout(console_row)
                # Shown when no browser opens (a bare desktop, a container): the address, to copy.
                self.console_hint = plain_label(NO_BROWSER)
                self.console_url = QLineEdit(context.prefill.console_url)
                self.console_url.setReadOnly(True)
                self.console_url.setAccessibleName("Sandbox console address")
                self.console_copy = QPushButton("Cop&y address")
                self.console_copy.clicked.connect(lambda: self._copy(self.console_url.text()))
                self.console_fallback = QWidget()
                fallback = QGridLayout(self.console_fallback)
                fallback.setContentsMargins(0, 0, 0, 0)
                fallback.addWidget(self.console_hint, 0, 0, 1, 2)
                fallback.addWidget(self.console_url, 1, 0)
                fallback.addWidget(self.console_copy, 1, 1)
                fallback.setColumnStretch(0, 1)
                self.console_fallback.hide()
                column.addWidget(self.console_fallback)
        column.addWidget(plain_label(INTRO))
        column.addWidget(plain_label(NEEDS))

        column.addSpacing(4)
        column.addWidget(heading("1. BigTime's Salesforce app"))
        column.addWidget(plain_label(INSTALL))
        self.appexchange_button = QPushButton("Open &AppExchange")
        self.bigtime_button = QPushButton("Open Big&Time")
        self.appexchange_button.setToolTip(APPEXCHANGE_URL)
        self.bigtime_button.setToolTip(BIGTIME_INTEGRATIONS_URL + " — then My Company › Integrations › Salesforce")
        self.appexchange_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(APPEXCHANGE_URL)))
        self.bigtime_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(BIGTIME_INTEGRATIONS_URL)))
        row = QHBoxLayout()
        row.addWidget(self.appexchange_button)
        row.addWidget(self.bigtime_button)
        row.addStretch(1)
        column.addLayout(row)

        column.addSpacing(4)
        column.addWidget(heading("2. Register BigSync in Salesforce"))
        column.addWidget(plain_label(SALESFORCE_STEPS))
        self.salesforce_uri, self.salesforce_copy = self._uri_row(column, "Salesforce &callback URL:", sf_uri)

        column.addSpacing(4)
        column.addWidget(heading("3. Register BigSync in BigTime"))
        column.addWidget(plain_label(BIGTIME_STEPS))
        self.bigtime_uri, self.bigtime_copy = self._uri_row(column, "BigTime ca&llback URL:", bt_uri)
        self.copied = plain_label("")
        column.addWidget(self.copied)
        width = max(self._uri_labels[0].sizeHint().width(), self._uri_labels[1].sizeHint().width())
        for label in self._uri_labels:
            label.setMinimumWidth(width)  # the two address fields line up
        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop of its own (pages/common.py)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(layout.contentsMargins().left(), 0, 0, 0)  # the scroll bar at the edge
        layout.addWidget(scroll)

    def _redirect_uris(self) -> tuple[str, str]:
        try:
            settings = Settings.load(self.context.profile)  # a small local file, not the network
        except ConfigInvalid:
            return SALESFORCE_DEFAULT_REDIRECT_URI, BIGTIME_DEFAULT_REDIRECT_URI
        return settings.salesforce.redirect_uri, settings.bigtime.redirect_uri

    def _uri_row(self, column: QVBoxLayout, caption: str, uri: str) -> tuple[QLineEdit, QPushButton]:
        grid = QGridLayout()
        label = QLabel(caption)
        field = QLineEdit(uri)
        field.setReadOnly(True)
        field.setCursorPosition(0)
        label.setBuddy(field)
        self._uri_labels.append(label)
        copy = QPushButton("Copy")
        copy.setToolTip(f"Copy {uri} to the clipboard")
        copy.clicked.connect(lambda: self._copy(field.text()))
        grid.addWidget(label, 0, 0)
        grid.addWidget(field, 0, 1)
        grid.addWidget(copy, 0, 2)
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)
        return field, copy

    def open_console(self) -> None:
        if not self.open_url(self.context.prefill.console_url):
            self.console_fallback.show()
            self.console_url.setFocus()
            self.console_url.selectAll()

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.setText(f"Copied {text} to the clipboard.")
