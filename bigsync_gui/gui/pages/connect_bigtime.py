"""Page 3 — Connect BigTime: sign in with BigTime (OAuth, client id + secret; embedded browser
or system browser, then Allow), or the firm's API key. Both ways need the firm id (BigTime wants it
on every call, and no OAuth answer gives it), so its row shows in both. Shows the firm and the user
once connected. The API base URL is under Advanced unless it is not BigTime's usual one (the
sandbox's, or one saved before)."""

from __future__ import annotations

import weakref

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QToolButton,
    QWidget,
)
from shiboken6 import isValid

from ...connectors import oauth
from ...connectors.http import require_secure_url
from ...core import secrets
from ...core.connections import Connection
from ...core.settings import BIGTIME_DEFAULT_BASE_URL, Settings
from ..context import SetupContext
from ..worker import run_in_background
from .connect_base import ConnectPage, FieldError, callback_url, plain, with_hint
from .connect_words import error_sentence


class ConnectBigTimePage(ConnectPage):
    system = "bigtime"
    label = "BigTime"
    connected_signal_name = "bigtime_connected"

    def __init__(self, context: SetupContext) -> None:
        super().__init__(context)
        # The firm id typed when each attempt started (its tokens are saved off the GUI thread).
        self._attempt_firm: weakref.WeakKeyDictionary[oauth.AuthorizationAttempt, str] = weakref.WeakKeyDictionary()
        self.setTitle("Connect BigTime")
        self.setSubTitle("Sign in to BigTime and click Allow, or use your firm's API key.")
        self.connect_key_button = QPushButton("Connec&t")
        self.connect_key_button.clicked.connect(self.connect_with_key)
        self.buttons_row.layout().insertWidget(0, self.connect_key_button)
        # Tab follows the screen: the form (Advanced and its address last), then the buttons under it.
        self.setTabOrder(self.base_url, self.connect_key_button)
        self.setTabOrder(self.connect_key_button, self.sign_in_button)
        self.setTabOrder(self.sign_in_button, self.system_browser_button)
        self._mode_changed()

    # ---- the form ---------------------------------------------------------------------------------
    def build_form(self, box: QWidget) -> None:
        self.use_oauth = QRadioButton("Sign in with BigTime (&OAuth)")
        self.use_key = QRadioButton("Use the firm's &API key")
        self.mode = QButtonGroup(box)
        self.mode.addButton(self.use_oauth)
        self.mode.addButton(self.use_key)
        self.use_oauth.setChecked(True)
        self.mode.buttonToggled.connect(lambda *_: self._mode_changed())
        mode_row = QHBoxLayout()
        mode_row.setContentsMargins(0, 0, 0, 0)
        mode_row.addWidget(self.use_oauth)
        mode_row.addWidget(self.use_key)
        mode_row.addStretch(1)

        self.client_id = QLineEdit()
        client_id_label = QLabel("&Client ID:")
        client_id_label.setBuddy(self.client_id)
        self.client_secret = QLineEdit()
        self.client_secret.setEchoMode(QLineEdit.EchoMode.Password)
        secret_label = QLabel("Client s&ecret:")
        secret_label.setBuddy(self.client_secret)
        oauth_hint = plain("The client id and secret of the app registered in BigTime (My Company › Integrations).")
        callback_label, callback_row = self._callback_row()

        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        key_label = QLabel("API &key:")
        key_label.setBuddy(self.api_key)
        key_hint = plain("A firm-wide API key (My Company › Integrations › API keys).")
        self.firm_id = QLineEdit()
        firm_label = QLabel("Firm I&D:")
        firm_label.setBuddy(self.firm_id)
        firm_hint = plain("Your firm id, under My Company › Company Info in BigTime.")

        self.advanced = QToolButton()
        self.advanced.setText("Ad&vanced")
        self.advanced.setCheckable(True)
        self.advanced.setAutoRaise(True)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.toggled.connect(lambda *_: self._mode_changed())
        self.base_url = QLineEdit()
        base_label = QLabel("API base &URL:")
        base_label.setBuddy(self.base_url)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # at 200 % the field goes under its label
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("Connect with:"), mode_row)
        secret_row = with_hint(self.client_secret, oauth_hint)
        key_row = with_hint(self.api_key, key_hint)
        firm_row = with_hint(self.firm_id, firm_hint)
        form.addRow(client_id_label, self.client_id)
        form.addRow(secret_label, secret_row)
        form.addRow(key_label, key_row)
        form.addRow(firm_label, firm_row)  # both ways: after the client id + secret, or the API key
        form.addRow(callback_label, callback_row)
        form.addRow(self.advanced)
        form.addRow(base_label, self.base_url)
        self._form = form
        self._oauth_rows = (self.client_id, secret_row, callback_row)
        self._key_rows = (key_row,)
        box.setLayout(form)
        box.setTabOrder(self.use_oauth, self.use_key)
        box.setTabOrder(self.use_key, self.client_id)
        box.setTabOrder(self.client_id, self.client_secret)
        box.setTabOrder(self.client_secret, self.api_key)
        box.setTabOrder(self.api_key, self.firm_id)
        box.setTabOrder(self.firm_id, self.callback)
        box.setTabOrder(self.callback, self.copy_button)
        box.setTabOrder(self.copy_button, self.advanced)
        box.setTabOrder(self.advanced, self.base_url)

    def _mode_changed(self) -> None:
        oauth_mode = self.use_oauth.isChecked()
        for row in self._oauth_rows:
            self._form.setRowVisible(row, oauth_mode)
        for row in self._key_rows:
            self._form.setRowVisible(row, not oauth_mode)
        self._form.setRowVisible(self.base_url, self.advanced.isChecked())
        self.advanced.setArrowType(_arrow(self.advanced.isChecked()))
        if hasattr(self, "connect_key_button"):
            self.connect_key_button.setVisible(not oauth_mode)
            self.sign_in_button.setVisible(oauth_mode)
            self.system_browser_button.setVisible(oauth_mode)
            self._render()  # the default button follows the mode

    def load_form(self, settings: Settings) -> None:
        saved = settings.bigtime
        prefill = self.context.prefill
        use_saved = saved.connected or bool(saved.client_id)
        base = (saved.base_url if use_saved else prefill.bigtime_base_url) or BIGTIME_DEFAULT_BASE_URL
        self.base_url.setText(base)
        self.advanced.setChecked(base.rstrip("/") != BIGTIME_DEFAULT_BASE_URL)
        self.client_id.setText(saved.client_id if use_saved and saved.client_id else prefill.bigtime_client_id)
        self.client_secret.setText(prefill.bigtime_client_secret)
        self.callback.setText(saved.redirect_uri or oauth.BIGTIME_DEFAULT_REDIRECT_URI)
        self.api_key.setText(prefill.bigtime_api_key)
        self.firm_id.setText(saved.firm_id or prefill.bigtime_firm_id)
        (self.use_key if saved.auth_mode == "api_key" else self.use_oauth).setChecked(True)
        self._mode_changed()
        if saved.connected and not self.client_secret.text() and saved.auth_mode == "oauth":
            self._fill_saved_secret()

    def _fill_saved_secret(self) -> None:
        """For "Sign in again": the saved client secret, read from the keyring off the GUI thread."""
        vault = self.context.connector.vault

        def fill(value: object) -> None:
            if isValid(self) and self.client_secret.text() == "" and isinstance(value, str):
                self.client_secret.setText(value)

        run_in_background(lambda: vault.get(secrets.BIGTIME_CLIENT_SECRET), fill, lambda _exc: None, parent=None)

    def saved_connection(self, settings: Settings) -> str | None:
        b = settings.bigtime
        if not b.connected:
            return None
        firm = f"firm {b.firm_id}" if b.firm_id else "your firm"
        user = None if b.auth_mode == "api_key" else b.user_name
        return Connection("bigtime", firm, user).sentence()

    # ---- the attempt ------------------------------------------------------------------------------
    def _base(self) -> str:
        base = self.base_url.text().strip().rstrip("/")
        if not base:
            raise FieldError(self.base_url, "Enter BigTime's API base URL (normally " + BIGTIME_DEFAULT_BASE_URL + ").")
        try:
            require_secure_url("bigtime", base)
        except Exception as exc:  # noqa: BLE001
            self.advanced.setChecked(True)
            raise FieldError(self.base_url, error_sentence(exc)) from None
        return base

    def _firm(self) -> str:
        firm = self.firm_id.text().strip()
        if not firm:
            raise FieldError(
                self.firm_id,
                "Enter your BigTime firm id (BigTime › My Company › Company Info); BigTime needs it on every call.",
            )
        return firm

    def make_attempt(self) -> oauth.AuthorizationAttempt:
        base = self._base()
        client_id = self.client_id.text().strip()
        if not client_id:
            raise FieldError(
                self.client_id, "Enter the client id of the app registered in BigTime (My Company › Integrations)."
            )
        firm = self._firm()
        secret = self.client_secret.text().strip()
        if not secret:
            raise FieldError(self.client_secret, "Enter the client secret of the app registered in BigTime.")
        callback = callback_url(self.callback, "bigtime")
        endpoints = oauth.bigtime_endpoints(base, client_id, secret, callback)
        attempt = oauth.AuthorizationAttempt(endpoints, self.context.connector.http["bigtime"])
        self._attempt_firm[attempt] = firm
        return attempt

    def invalid_field(self, exc: BaseException) -> QWidget | None:
        return exc.field if isinstance(exc, FieldError) else None

    def save_tokens(self, attempt: oauth.AuthorizationAttempt, tokens: oauth.TokenSet) -> tuple[str, str]:
        base = attempt.endpoints.token_url.rsplit("/oauth2/accesstoken", 1)[0]
        return self.context.connector.save_bigtime_oauth(
            attempt.endpoints, base, tokens, self._attempt_firm[attempt]
        ).sentence(), ""

    # ---- the API key ------------------------------------------------------------------------------
    def connect_with_key(self) -> None:
        try:
            base = self._base()
            key = self.api_key.text().strip()
            if not key:
                raise FieldError(self.api_key, "Enter the firm's BigTime API key.")
            firm = self._firm()
        except FieldError as exc:
            self._show_error(exc.message, retry=False)
            exc.field.setFocus()
            return
        connector = self.context.connector
        self.run_save(
            lambda: (connector.save_bigtime_key(base, key, firm).sentence(), ""),
            self.connect_with_key,
            "Checking the API key with BigTime…",
        )

    def attempt_words(self) -> tuple[str, str]:
        return ("The key you entered", "could not be checked") if self.use_key.isChecked() else super().attempt_words()

    def primary_button(self) -> QPushButton:
        return self.sign_in_button if self.use_oauth.isChecked() else self.connect_key_button

    def sign_in_again(self) -> None:
        super().sign_in_again()
        if self.use_oauth.isChecked():
            self.sign_in_button.setFocus()
        else:  # a new key is what signing in again means here: the old one is not shown back
            self.api_key.clear()
            self.api_key.setFocus()


def _arrow(open_: bool) -> Qt.ArrowType:
    return Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow


__all__ = ["ConnectBigTimePage"]
