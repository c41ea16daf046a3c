"""The admin's choices, kept apart from sync state: one JSON file in the profile's config dir.

Only non-secret values live here (URLs, client ids, who is connected); secrets are in the
keyring (``core.secrets``). The file is written atomically with mode 0600. A file that cannot be
read or parsed is a :class:`ConfigInvalid` naming it — never silently replaced; a value of the
wrong type or out of its range (:data:`LIMITS`) is one naming the setting.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

from ..connectors.redirects import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI
from .errors import ConfigInvalid
from .profile import Profile

FORMAT = 1
BIGTIME_DEFAULT_BASE_URL = "https://iq.bigtime.net/BigtimeData/api/v2"
BIGTIME_AUTH_MODES = ("oauth", "api_key", "session")
MIN_INTERVAL_SECONDS = 60  # as Engine.configure asks; 0 would make the loop spin
LEGACY_DEFAULT_INTERVAL = 300  # the interval every settings file held before it could be automatic


@dataclass
class SalesforceSettings:
    login_url: str = "https://login.salesforce.com"
    consumer_key: str = ""
    redirect_uri: str = SALESFORCE_DEFAULT_REDIRECT_URI
    # Learnt when connecting:
    instance_url: str = ""
    identity_url: str = ""
    org_id: str = ""
    user_id: str = ""
    username: str = ""
    display_name: str = ""
    sign_in_id: str = ""  # new with each saved sign-in (core.connections): a running sync drops its old client

    @property
    def connected(self) -> bool:
        return bool(self.instance_url)


@dataclass
class BigTimeSettings:
    base_url: str = BIGTIME_DEFAULT_BASE_URL
    auth_mode: str = ""  # one of BIGTIME_AUTH_MODES once connected
    client_id: str = ""
    redirect_uri: str = BIGTIME_DEFAULT_REDIRECT_URI
    session_user: str = ""  # the login for session auth (its password is in the keyring)
    firm_id: str = ""  # BigTime › My Company › Company Info; sent as X-Auth-Realm on every call
    # Our pace, under BigTime's per-firm limit (public clients pace it at about 30 a minute):
    requests_per_minute: int = 25
    # The longest we wait for one BigTime answer; also how long a create left without an answer
    # (a crash, a dropped connection) is given to land before it is looked up and sent again.
    request_timeout_seconds: int = 60
    # Learnt when connecting:
    user_name: str = ""
    # OAuth: what BigTime accepted (bigtime_assumptions): the header carrying the access token
    # ("x-auth-token" | "bearer") and the token request body ("json" | "form"); "" = not known yet.
    oauth_header: str = ""
    token_body: str = ""
    sign_in_id: str = ""  # new with each saved sign-in, as for Salesforce

    @property
    def connected(self) -> bool:
        return bool(self.auth_mode)


# What flows back into Salesforce: our name for a figure → the Opportunity field the admin maps.
# The defaults are the fields the setup guide asks the admin to create (README.md, "The Salesforce fields
# BigTime's figures go to").
DEFAULT_FIELD_MAP = {
    "project_id": "BigTime_Project_Id__c",
    "project_url": "BigTime_Project_URL__c",
    "budget_fees": "BigTime_Budget_Fees__c",
    "budget_hours": "BigTime_Budget_Hours__c",
    "budget_expenses": "BigTime_Budget_Expenses__c",
    "budget_total": "BigTime_Budget_Total__c",
    "hours_logged": "BigTime_Hours_Logged__c",
    "expenses_logged": "BigTime_Expenses_Logged__c",
    "wip": "BigTime_WIP__c",
    "invoiced_to_date": "BigTime_Invoiced_To_Date__c",
    "paid_to_date": "BigTime_Paid_To_Date__c",
    "last_sync": "BigTime_Last_Sync__c",
    "client_id": "BigTime_Client_Id__c",
}
# The figures written on the opportunity's Account rather than on the Opportunity: the BigTime
# client's id, which is also the claim while the client is created (core.claims).
ACCOUNT_FIGURES = frozenset({"client_id"})
INVOICE_OBJECT = "BigTime_Invoice__c"  # per-invoice rows, when the org has the object


@dataclass
class SyncSettings:
    trigger_stage: str = ""  # OpportunityStage.ApiName — never the label
    trigger_stage_label: str = ""  # shown to the admin; the label may be renamed in Salesforce
    interval_seconds: int = 300  # used only when interval_explicit; else core.cadence derives it
    interval_explicit: bool = False  # the admin set the interval (configure --interval, Settings)
    writeback_interval_seconds: int = 900
    backfill: bool = False
    paused: bool = False  # the admin paused syncing (tray, status window): still paused after a restart
    api_budget_percent: float = 5.0  # of the org's daily API allowance
    default_client_id: int | None = None  # BigTime client for opportunities without an account
    field_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELD_MAP))
    configured_at: str = ""  # ISO UTC; "from now on" starts here
    history_days: int = 90  # Activity's history: cycles and events older than this are pruned (core.history)
    history_max_cycles: int = 20_000  # and at most this many cycles, quiet ones dropped first

    @property
    def configured(self) -> bool:
        return bool(self.trigger_stage and self.configured_at)


@dataclass
class Settings:
    salesforce: SalesforceSettings = field(default_factory=SalesforceSettings)
    bigtime: BigTimeSettings = field(default_factory=BigTimeSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)

    @classmethod
    def load(cls, profile: Profile) -> Settings:
        path = profile.settings_file
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigInvalid(str(path), f"The settings file {path} cannot be read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigInvalid(
                str(path),
                f"The settings file {path} is not valid JSON (line {exc.lineno}): "
                "fix or remove it, then run the setup again.",
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigInvalid(str(path), f"The settings file {path} is not one this version of BigSync understands.")
        loaded = cls(
            salesforce=_section(SalesforceSettings, data.get("salesforce"), path, "salesforce"),
            bigtime=_section(BigTimeSettings, data.get("bigtime"), path, "bigtime"),
            sync=_section(SyncSettings, data.get("sync"), path, "sync"),
        )
        sync = data.get("sync")
        if isinstance(sync, dict) and "interval_explicit" not in sync:
            # Written before the interval could be automatic: the old default (300, always written)
            # cannot be told from a choice of 300, so it is read as automatic; any other value was chosen.
            loaded.sync.interval_explicit = loaded.sync.interval_seconds != LEGACY_DEFAULT_INTERVAL
        return loaded

    def save(self, profile: Profile) -> None:
        profile.ensure_dirs()
        payload = {"format": FORMAT, **asdict(self)}
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=profile.config_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=2)
            os.replace(tmp, profile.settings_file)
        except BaseException:
            os.unlink(tmp)
            raise


# Values of the right type the app still cannot use: (section, key) → (accepted?, what it must be).
LIMITS: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("sync", "interval_seconds"): (lambda v: v >= MIN_INTERVAL_SECONDS, f"at least {MIN_INTERVAL_SECONDS} (seconds)"),
    ("sync", "writeback_interval_seconds"): (
        lambda v: v >= MIN_INTERVAL_SECONDS,
        f"at least {MIN_INTERVAL_SECONDS} (seconds)",
    ),
    ("sync", "history_days"): (lambda v: v >= 1, "at least 1 (days)"),
    ("sync", "history_max_cycles"): (lambda v: v >= 100, "at least 100 (cycles)"),
    ("sync", "api_budget_percent"): (lambda v: 0 < v <= 100, "more than 0 and at most 100 (percent)"),  # NaN fails too
    ("bigtime", "request_timeout_seconds"): (lambda v: 1 <= v <= 600, "from 1 to 600 (seconds)"),
    ("bigtime", "auth_mode"): (
        lambda v: v in ("", *BIGTIME_AUTH_MODES),
        "oauth, api_key or session (or empty: not connected)",
    ),
}


def _section(kind: type, data: Any, path: Any, name: str) -> Any:
    if data is None:
        return kind()
    if not isinstance(data, dict):
        raise ConfigInvalid(f"{name}", f"The settings file {path}: '{name}' must be an object.")
    defaults = kind()
    values = {}
    for f in fields(kind):
        if f.name not in data:
            continue
        value, expected = data[f.name], type(getattr(defaults, f.name))
        if f.name == "default_client_id":
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        elif expected is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif expected is dict:
            ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        else:
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            raise ConfigInvalid(
                f"{name}.{f.name}", f"The settings file {path}: '{name}.{f.name}' has a value of the wrong type."
            )
        accepted, wanted = LIMITS.get((name, f.name), (None, ""))
        if accepted is not None and not accepted(value):
            raise ConfigInvalid(
                f"{name}.{f.name}", f"The settings file {path}: '{name}.{f.name}' is {value!r}; it must be {wanted}."
            )
        values[f.name] = value
    return kind(**values)
