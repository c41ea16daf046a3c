"""Page 2 — Connect Salesforce: environment (Production / Sandbox / My Domain), the consumer key
and the callback URL, then **Sign in** in the embedded browser (or the system browser). What both
connect pages share is in ``connect_base``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QFormLayout, QGridLayout, QLabel, QLineEdit, QRadioButton, QWidget

from ...connectors import oauth
from ...connectors.http import require_secure_url
from ...connectors.salesforce import UserPermissions
from ...core.connections import Connection
from ...core.settings import Settings
from ..context import SetupContext
from .connect_base import ConnectPage, FieldError, callback_url, plain, with_hint
from .connect_words import error_sentence


def admin_sentence(perms: UserPermissions | None) -> str:
    """Whether the connected Salesforce user is an administrator; nothing when unknown."""
    if perms is None or perms.modify_all_data is None:
        return ""
    if perms.modify_all_data:
        return "This user is a Salesforce administrator (Modify All Data)."
    return (
        "This user is not a Salesforce administrator (no Modify All Data permission): BigSync may not see every "
        "opportunity or be able to fill the BigTime fields. Sign in again as an administrator if you can."
    )


class ConnectSalesforcePage(ConnectPage):
    system = "salesforce"
    label = "Salesforce"
    connected_signal_name = "salesforce_connected"

    def __init__(self, context: SetupContext) -> None:
        super().__init__(context)
        self.setTitle("Connect Salesforce")
        self.setSubTitle(
            "Sign in as a Salesforce administrator and click Allow, so BigSync can read your "
            "opportunities and write BigTime's figures back to them."
        )

    def build_form(self, box: QWidget) -> None:
        self.production = QRadioButton("&Production")
        self.sandbox = QRadioButton("&Sandbox")
        self.my_domain = QRadioButton("My &Domain")
        self.other = QRadioButton("&Other address")
        self.environment = QButtonGroup(box)
        for button in (self.production, self.sandbox, self.my_domain, self.other):
            self.environment.addButton(button)
        self.production.setToolTip(oauth.SALESFORCE_LOGIN_URLS["production"])
        self.sandbox.setToolTip(oauth.SALESFORCE_LOGIN_URLS["sandbox"])
        self.my_domain.setToolTip("Your org's own login address, such as https://acme.my.salesforce.com")
        self.production.setChecked(True)
        self.environment.buttonToggled.connect(lambda *_: self._environment_changed())
        env_row = QGridLayout()  # two by two: one row of four is wider than the page at 200 %
        env_row.setContentsMargins(0, 0, 0, 0)
        for i, button in enumerate((self.production, self.sandbox, self.my_domain, self.other)):
            env_row.addWidget(button, i // 2, i % 2)
        env_row.setColumnStretch(2, 1)
        env_label = QLabel("Environment:")

        self.domain = QLineEdit()
        self.domain.setPlaceholderText("acme  or  https://acme.my.salesforce.com")
        self.domain_label = QLabel("My Domain &URL:")
        self.domain_label.setBuddy(self.domain)
        self.login_address = QLineEdit()
        self.login_address_label = QLabel("Login addr&ess:")
        self.login_address_label.setBuddy(self.login_address)

        self.consumer_key = QLineEdit()
        self.consumer_key.setPlaceholderText("3MVG9…")
        key_label = QLabel("Consumer &key:")
        key_label.setBuddy(self.consumer_key)
        key_hint = plain(
            "The Consumer Key of your External Client App (or Connected App): Setup › External Client "
            "App Manager › your app › Settings › OAuth Settings."
        )

        callback_label, callback_row = self._callback_row()
        callback_hint = plain(
            "Register exactly this callback URL in the app's OAuth settings. Change it here only if "
            "your app registers a different one."
        )

        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(env_label, env_row)
        form.addRow(self.domain_label, self.domain)
        form.addRow(self.login_address_label, self.login_address)
        form.addRow(key_label, with_hint(self.consumer_key, key_hint))
        form.addRow(callback_label, with_hint(callback_row, callback_hint))
        self._form = form
        # Tab order: environment, its address, key, callback, Copy (then the page's buttons).
        box.setTabOrder(self.production, self.sandbox)
        box.setTabOrder(self.sandbox, self.my_domain)
        box.setTabOrder(self.my_domain, self.other)
        box.setTabOrder(self.other, self.domain)
        box.setTabOrder(self.domain, self.login_address)
        box.setTabOrder(self.login_address, self.consumer_key)
        box.setTabOrder(self.consumer_key, self.callback)
        box.setTabOrder(self.callback, self.copy_button)

    def _environment_changed(self) -> None:
        self._form.setRowVisible(self.domain, self.my_domain.isChecked())
        self.other.setVisible(self.other.isChecked() or bool(self.login_address.text()))
        self._form.setRowVisible(self.login_address, self.other.isChecked())

    def load_form(self, settings: Settings) -> None:
        saved = settings.salesforce
        prefill = self.context.prefill
        use_saved = saved.connected or bool(saved.consumer_key)
        login_url = (saved.login_url if use_saved else prefill.salesforce_login_url) or oauth.SALESFORCE_LOGIN_URLS[
            "production"
        ]
        login_url = login_url.rstrip("/")
        self.login_address.clear()
        self.domain.clear()
        if login_url == oauth.SALESFORCE_LOGIN_URLS["production"]:
            self.production.setChecked(True)
        elif login_url == oauth.SALESFORCE_LOGIN_URLS["sandbox"]:
            self.sandbox.setChecked(True)
        else:
            try:
                self.domain.setText(oauth.normalise_my_domain(login_url))
                self.my_domain.setChecked(True)
            except ValueError:
                self.login_address.setText(login_url)
                self.other.setChecked(True)
        self.consumer_key.setText(saved.consumer_key if use_saved else prefill.salesforce_consumer_key)
        self.callback.setText(saved.redirect_uri or oauth.SALESFORCE_DEFAULT_REDIRECT_URI)
        self._environment_changed()

    def saved_connection(self, settings: Settings) -> str | None:
        s = settings.salesforce
        if not s.connected:
            return None
        org = s.display_name or s.org_id or s.instance_url
        return (
            Connection("salesforce", org, s.username).sentence() if s.username else f"Connected to Salesforce: {org}."
        )

    def login_url(self) -> str:
        if self.production.isChecked():
            return oauth.SALESFORCE_LOGIN_URLS["production"]
        if self.sandbox.isChecked():
            return oauth.SALESFORCE_LOGIN_URLS["sandbox"]
        if self.my_domain.isChecked():
            return oauth.normalise_my_domain(self.domain.text())
        address = self.login_address.text().strip().rstrip("/")
        if not address:
            raise FieldError(self.login_address, "Enter the Salesforce login address.")
        require_secure_url("salesforce", address)
        return address

    def make_attempt(self) -> oauth.AuthorizationAttempt:
        try:
            login_url = self.login_url()
        except ValueError as exc:
            raise FieldError(self.domain if self.my_domain.isChecked() else self.login_address, str(exc)) from None
        except Exception as exc:
            raise FieldError(self.login_address, error_sentence(exc)) from None
        key = self.consumer_key.text().strip()
        if not key:
            raise FieldError(
                self.consumer_key,
                "Enter the Consumer Key of your External Client App (Setup › External "
                "Client App Manager › your app › Settings › OAuth Settings).",
            )
        callback = callback_url(self.callback, "salesforce")
        endpoints = oauth.salesforce_endpoints(login_url, key, callback)
        return oauth.AuthorizationAttempt(endpoints, self.context.connector.http["salesforce"])

    def invalid_field(self, exc: BaseException) -> QWidget | None:
        return exc.field if isinstance(exc, FieldError) else None

    def save_tokens(self, attempt: oauth.AuthorizationAttempt, tokens: oauth.TokenSet) -> tuple[str, str]:
        login_url = attempt.endpoints.token_url.rsplit("/services/oauth2/token", 1)[0]
        connector = self.context.connector
        connection = connector.save_salesforce(attempt.endpoints, login_url, tokens)
        try:
            perms = connector.salesforce().user_permissions()
        except Exception:  # noqa: BLE001 - unknown is said as nothing, never as "not an admin"
            perms = None
        return connection.sentence(), admin_sentence(perms)


__all__ = ["ConnectSalesforcePage", "admin_sentence"]
