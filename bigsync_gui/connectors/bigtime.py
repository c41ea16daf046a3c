"""BigTime API v2 client: three ways to sign in, defensive parsing, typed errors.

Everything goes through :class:`~bigsync_gui.connectors.http.HttpPolicy` (timeouts, polite
retries of idempotent calls only, counting). What BigTime's documentation leaves open is decided in
:mod:`.bigtime_assumptions`, not here.

Parsing is defensive on purpose: BigTime's field names are matched case-insensitively, a missing
field is ``None`` (never a ``KeyError``), numbers and booleans may arrive as strings, and dates in
any of the shapes BigTime writes. Every parsed record keeps the original in ``raw``.

Errors (see :mod:`.errors`): 400/404 → :class:`RequestRejected` carrying BigTime's own message
(shortened to a sentence even when BigTime answers a whole HTML page); 401 → the auth strategy gets
one chance to cure it (refresh, other header, new session), else :class:`ReconnectNeeded`; 405 →
:class:`PermissionDenied`; a 200 that is not JSON → :class:`UnexpectedResponse`. A message never
contains a token, key or password.

There is deliberately **no delete method**: this integration never deletes a BigTime project (or
anything else) — a deleted opportunity only severs the link.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

import requests

from . import bigtime_assumptions as A
from .errors import (
    ConnectorError,
    PermissionDenied,
    ReconnectNeeded,
    RequestRejected,
    ServiceUnavailable,
    UnexpectedResponse,
)
from .http import HttpPolicy, require_secure_url
from .redact import redact

SYSTEM = "bigtime"
DEFAULT_BASE_URL = "https://iq.bigtime.net/BigtimeData/api/v2"
JSON = "application/json"
# How many times one request may be re-sent after a 401 (each time only if the auth strategy has
# something new to try: another header form, a refreshed token, a new session).
MAX_AUTH_RETRIES = 3
_MESSAGE_LIMIT = 240


# =============================================================================================
# Defensive parsing
# =============================================================================================
def lower_keys(record: Any) -> dict[str, Any]:
    """The record's keys lower-cased (a non-dict gives an empty dict)."""
    if not isinstance(record, Mapping):
        return {}
    return {str(k).lower(): v for k, v in record.items()}


def pick(record: Any, *names: str) -> Any:
    """The first of ``names`` present with a non-null value, matched case-insensitively; else None."""
    low = record if isinstance(record, _Lowered) else lower_keys(record)
    for name in names:
        value = low.get(name.lower())
        if value is not None:
            return value
    return None


class _Lowered(dict):
    """A dict already lower-cased (so :func:`pick` does not do it again for every field)."""


def _low(record: Any) -> _Lowered:
    return _Lowered(lower_keys(record))


_NUMBER_JUNK = re.compile(r"[,\s$€£]")


def to_number(value: Any) -> float | None:
    """A float from a number or a numeric string ("1,234.50", " 12 ", "(5.00)"); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUMBER_JUNK.sub("", str(value))
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN / inf are not figures
        return None
    return -number if negative else number


def to_int(value: Any) -> int | None:
    number = to_number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def to_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "t"):
        return True
    if text in ("false", "0", "no", "n", "f", ""):
        return False
    return None


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def to_datetime(value: Any) -> datetime | None:
    """A timestamp; BigTime writes UTC without an offset, so a naive one is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        dt = None
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y"):
                try:
                    dt = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if dt is None:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def to_date(value: Any) -> date | None:
    """A calendar date from ``2026-11-26``, ``2026-11-26T00:00:00`` or ``11/26/2026``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    dt = to_datetime(text)
    return dt.date() if dt else None


def _date_param(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    parsed = to_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed.isoformat()


def _records(data: Any) -> list[Any]:
    """A list answer; a single object is a one-element list; null is empty."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        return [data]
    raise UnexpectedResponse(SYSTEM, "BigTime answered a list request with something that is not a list.")


# =============================================================================================
# Typed results (small dataclasses; ``raw`` keeps BigTime's record as it came)
# =============================================================================================
@dataclass
class Project:
    id: int | None
    name: str | None
    display_name: str | None = None
    code: str | None = None
    client_id: int | None = None
    type_id: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    notes: str | None = None
    status_production: int | None = None
    status_billing: int | None = None
    is_inactive: bool | None = None
    budget_hours: float | None = None
    budget_fees: float | None = None
    input_hours: float | None = None
    input_fees: float | None = None
    primary_contact_id: int | None = None
    billing_contact_id: int | None = None
    created: datetime | None = None
    modified: datetime | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> Project:
        r = _low(record)
        custom: dict[str, Any] = {}
        udfs = pick(r, "UdfList", "CustomFields")
        for udf in udfs if isinstance(udfs, list) else []:
            name = to_text(pick(udf, "Name"))
            if name:
                custom[name] = pick(udf, "Value")
        return cls(
            id=to_int(pick(r, "SystemId", "Sid", "ProjectSid", "Id")),
            name=to_text(pick(r, "Nm", "Name", "ProjectNm")),
            display_name=to_text(pick(r, "DisplayName")),
            code=to_text(pick(r, "ProjectCode")),
            client_id=to_int(pick(r, "ClientId", "ClientSid")),
            type_id=to_int(pick(r, "TypeId")),
            start_date=to_date(pick(r, "StartDt")),
            end_date=to_date(pick(r, "EndDt")),
            notes=to_text(pick(r, "Notes")),
            status_production=to_int(pick(r, "StatusProd", "StatusProduction")),
            status_billing=to_int(pick(r, "StatusBill", "StatusBilling")),
            is_inactive=to_bool(pick(r, "IsInactive")),
            budget_hours=to_number(pick(r, "BudgetHours")),
            budget_fees=to_number(pick(r, "BudgetFees")),
            input_hours=to_number(pick(r, "InputHours")),
            input_fees=to_number(pick(r, "InputFees")),
            primary_contact_id=to_int(pick(r, "PrimaryContactId")),
            billing_contact_id=to_int(pick(r, "BillingContactId")),
            created=to_datetime(pick(r, "DtCreated")),
            modified=to_datetime(pick(r, "DtModified")),
            custom_fields=custom,
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class Client:
    id: int | None
    name: str | None
    code: str | None = None  # on a client, BigTime's ``ClientId`` is the user-facing code (text)
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    phone: str | None = None
    fax: str | None = None
    notes: str | None = None
    is_inactive: bool | None = None
    modified: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> Client:
        r = _low(record)
        return cls(
            id=to_int(pick(r, "SystemId", "Sid", "Id")),
            name=to_text(pick(r, "Nm", "Name")),
            code=to_text(pick(r, "ClientId")),
            address=to_text(pick(r, "Address")),
            city=to_text(pick(r, "City")),
            state=to_text(pick(r, "State")),
            zip=to_text(pick(r, "Zip")),
            country=to_text(pick(r, "Country")),
            phone=to_text(pick(r, "MainPH", "Phone")),
            fax=to_text(pick(r, "MainFX", "Fax")),
            notes=to_text(pick(r, "Notes")),
            is_inactive=to_bool(pick(r, "IsInactive")),
            modified=to_datetime(pick(r, "DtModified")),
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class Contact:
    id: int | None
    project_id: int | None = None
    tag: str | None = None  # PRIMARY | BILLING | OTHER
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    address: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> Contact:
        r = _low(record)
        address = pick(r, "Address")
        addr = {k.lower(): v for k, v in address.items()} if isinstance(address, Mapping) else (
            {"address": address} if isinstance(address, str) else {})
        tag = to_text(pick(r, "Tag"))
        return cls(
            id=to_int(pick(r, "SystemId", "Sid", "ContactSid", "Id")),
            project_id=to_int(pick(r, "ProjectSid", "ProjectId")),
            tag=tag.upper() if tag else None,
            first_name=to_text(pick(r, "FName", "FirstName")),
            last_name=to_text(pick(r, "SName", "LastName")),
            title=to_text(pick(r, "Title")),
            email=to_text(pick(r, "EMail", "Email")),
            phone=to_text(pick(r, "Phone")),
            mobile=to_text(pick(r, "MobilePH", "Mobile")),
            address=addr,
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class StaffMember:
    id: int | None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    title: str | None = None
    is_inactive: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> StaffMember:
        r = _low(record)
        first, last = to_text(pick(r, "FName", "FirstName")), to_text(pick(r, "SName", "LastName"))
        full = to_text(pick(r, "FullName", "Name")) or (" ".join(p for p in (first, last) if p) or None)
        return cls(
            id=to_int(pick(r, "SystemId", "StaffSid", "Sid", "Id")),
            first_name=first, last_name=last, full_name=full,
            email=to_text(pick(r, "EMail", "Email")),
            title=to_text(pick(r, "Title")),
            is_inactive=to_bool(pick(r, "IsInactive")),
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class PicklistItem:
    id: int | str | None
    name: str | None
    group: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> PicklistItem:
        r = _low(record)
        raw_id = pick(r, "Id", "SystemId", "Sid")
        ident = to_int(raw_id)
        return cls(id=ident if ident is not None else to_text(raw_id), name=to_text(pick(r, "Name", "Nm")),
                   group=to_text(pick(r, "Group")), raw=dict(record) if isinstance(record, Mapping) else {})


@dataclass
class TimeEntry:
    id: int | None
    date: date | None = None
    project_id: int | None = None
    staff_id: int | None = None
    task_id: int | None = None
    hours: float | None = None
    hours_billable: float | None = None
    charge_billable: float | None = None
    cost: float | None = None
    notes: str | None = None
    is_approved: bool | None = None
    is_invoiced: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> TimeEntry:
        r = _low(record)
        return cls(
            id=to_int(pick(r, "SID", "SystemId")), date=to_date(pick(r, "Dt")),
            project_id=to_int(pick(r, "ProjectSID")), staff_id=to_int(pick(r, "StaffSID")),
            task_id=to_int(pick(r, "TaskSID", "BudgCatID")),
            hours=to_number(pick(r, "Hours_IN", "HoursIn")), hours_billable=to_number(pick(r, "HoursBillable")),
            charge_billable=to_number(pick(r, "ChargeBillable")), cost=to_number(pick(r, "CostIN")),
            notes=to_text(pick(r, "Notes", "Nt")), is_approved=to_bool(pick(r, "IsApproved")),
            is_invoiced=to_bool(pick(r, "IsInvoiced")), raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class Expense:
    id: int | None
    date: date | None = None
    project_id: int | None = None
    staff_id: int | None = None
    category_id: int | None = None
    cost: float | None = None
    billable: float | None = None
    notes: str | None = None
    is_invoiced: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, record: Any) -> Expense:
        r = _low(record)
        return cls(
            id=to_int(pick(r, "SID", "SystemId")), date=to_date(pick(r, "Dt")),
            project_id=to_int(pick(r, "ProjectSID")), staff_id=to_int(pick(r, "StaffSID")),
            category_id=to_int(pick(r, "CatSID")), cost=to_number(pick(r, "CostIN")),
            billable=to_number(pick(r, "CostBill")), notes=to_text(pick(r, "Nt", "Notes")),
            is_invoiced=to_bool(pick(r, "IsInvoiced")), raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class Invoice:
    id: int | None
    project_id: int | None = None
    client_id: int | None = None
    number: str | None = None
    date: date | None = None
    due_date: date | None = None
    amount: float | None = None  # InvoiceAmt
    total: float | None = None  # TotalAmt
    paid: float | None = None  # PaidAmt (BigTime has no payment endpoint; this is what was paid)
    status: int | None = None
    status_text: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def invoiced(self) -> float | None:
        """The invoice's amount: ``TotalAmt`` only, None without it (see the assumptions)."""
        return to_number(pick(self.raw, A.INVOICE_AMOUNT_FIELD)) if self.raw else self.total

    @property
    def balance(self) -> float | None:
        if self.invoiced is None or self.paid is None:
            return None
        return round(self.invoiced - self.paid, 2)

    @classmethod
    def from_api(cls, record: Any) -> Invoice:
        r = _low(record)
        number = pick(r, "InvoiceNbr", "InvoiceNumber")
        return cls(
            id=to_int(pick(r, "Sid", "SystemId", "InvoiceSid")),
            project_id=to_int(pick(r, "ProjectSid", "ProjectSID")), client_id=to_int(pick(r, "ClientSid")),
            number=to_text(number), date=to_date(pick(r, "InvoiceDt")), due_date=to_date(pick(r, "InvoiceDtDue")),
            amount=to_number(pick(r, "InvoiceAmt")), total=to_number(pick(r, "TotalAmt")),
            paid=to_number(pick(r, "PaidAmt")), status=to_int(pick(r, "Status")),
            status_text=to_text(pick(r, "StatusTxt")), raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class BudgetRow:
    """One row of ``/task/BudgetStatusByProject``, its figures under our names
    (:data:`.bigtime_assumptions.BUDGET_FIELDS`: the live-checked name wins); None: not sent."""

    task_id: int | None = None
    task_name: str | None = None
    hours_input: float | None = None
    hours_billable: float | None = None
    fees_input: float | None = None
    fees_cost: float | None = None
    expenses_input: float | None = None
    expenses_billable: float | None = None
    wip: float | None = None
    invoiced_to_date: float | None = None
    budget_total: float | None = None
    budget_hours: float | None = None
    budget_fees: float | None = None
    budget_expenses: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    FIGURES = tuple(A.BUDGET_FIELDS)

    @classmethod
    def from_api(cls, record: Any) -> BudgetRow:
        r = _low(record)
        figures = {ours: to_number(pick(r, *theirs)) for ours, theirs in A.BUDGET_FIELDS.items()}
        return cls(task_id=to_int(pick(r, "TaskSid", "TaskSID", "TaskId")), task_name=to_text(pick(r, "TaskNm", "TaskName")),
                   raw=dict(record) if isinstance(record, Mapping) else {}, **figures)


@dataclass
class ProjectTotals:
    """A project's figures for the write-back, by the names of core.settings.DEFAULT_FIELD_MAP
    (each read where :data:`.bigtime_assumptions.WRITEBACK_SOURCES` says). A figure whose field
    BigTime did not send is None — never 0 — and ``missing`` says which field that was."""

    project_id: int
    figures: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # figure → the field BigTime did not send
    invoices: list[Invoice] = field(default_factory=list)


@dataclass
class WhoAmI:
    """Who the stored credential signs in as. Fields BigTime did not tell us are None."""

    auth_mode: str  # "oauth" | "api_key" | "session"
    firm_id: str | None = None
    firm_name: str | None = None
    staff_id: int | None = None
    user_id: int | None = None
    name: str | None = None
    email: str | None = None


# =============================================================================================
# Error bodies → one short sentence
# =============================================================================================
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)


def _strip_html(fragment: str) -> str:
    text = html_lib.unescape(_TAG.sub(" ", fragment))
    return re.sub(r"\s+", " ", text).strip()


def html_to_sentence(page: str) -> str:
    """A short sentence from an HTML error page: its main heading or title (+ first paragraph)."""
    parts: list[str] = []
    for pattern in (r"<h1\b[^>]*>(.*?)</h1\s*>", r"<title\b[^>]*>(.*?)</title\s*>", r"<h2\b[^>]*>(.*?)</h2\s*>"):
        match = re.search(pattern, page, re.I | re.S)
        if match and _strip_html(match.group(1)):
            parts.append(_strip_html(match.group(1)))
            break
    body = _SCRIPT.sub(" ", page)
    match = re.search(r"<p\b[^>]*>(.*?)</p\s*>", body, re.I | re.S)
    if match and _strip_html(match.group(1)):
        parts.append(_strip_html(match.group(1)))
    if not parts:
        parts.append(_strip_html(body))
    sentence = " — ".join(dict.fromkeys(p for p in parts if p))
    return sentence.replace("<", "").replace(">", "")


def _shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_message(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """BigTime's message from an error answer: ``{"Message": ...}``, a JSON string, plain text or a
    whole HTML page, always as a short plain sentence."""
    text = response.text or ""
    message = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        found = pick(data, "Message", "ExceptionMessage", "error_description", "ErrorMessage", "error", "title")
        message = to_text(found) or ""
        state = pick(data, "ModelState", "errors")
        if isinstance(state, Mapping):
            details = [str(v[0] if isinstance(v, list) and v else v) for v in state.values()]
            message = " ".join(p for p in [message, *details] if p)
    elif isinstance(data, str):
        message = data
    elif isinstance(data, list) and data:
        first = data[0]
        message = to_text(pick(first, "Message", "message")) if isinstance(first, Mapping) else str(first)
        message = message or ""
    elif data is None and text.strip():
        stripped = text.lstrip()
        looks_html = stripped[:1] == "<" or "<html" in text[:500].lower() or \
            "html" in response.headers.get("Content-Type", "").lower()
        message = html_to_sentence(text) if looks_html else stripped.splitlines()[0]
    if "<" in message and ">" in message:
        message = html_to_sentence(message)
    message = _shorten(redact(message, extra=secrets))
    return message or f"HTTP {response.status_code} without an explanation"


# =============================================================================================
# Authentication
# =============================================================================================
@runtime_checkable
class AuthStrategy(Protocol):
    """How requests are signed. The client also calls, when a strategy has them:
    ``bind(base_url, http)`` once; ``on_success(headers)`` after a request was accepted (so a
    strategy can remember what worked); ``identity()`` for :meth:`BigTimeClient.whoami`."""

    mode: str

    def headers(self) -> dict[str, str]:
        """The headers that carry the credential for the next request."""
        ...

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        """BigTime answered 401 to ``stale_headers``. True = something changed, try once more;
        False = nothing left to try. May raise :class:`ReconnectNeeded`."""
        ...


def _secret_values(headers: Mapping[str, str]) -> list[str]:
    values = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-auth-token", "x-auth-apitoken"):
            values.extend(part for part in str(value).split() if len(part) >= 6)
    return values


class ApiKeyAuth:
    """The firm API key (``X-Auth-ApiToken`` + ``X-Auth-Realm``): permanent, no session call."""

    mode = "api_key"

    def __init__(self, api_key: str, firm_id: str) -> None:
        if not api_key or not firm_id:
            raise ValueError("an API key and a firm id are both needed")
        self._key = api_key.strip()
        self.firm_id = firm_id.strip()

    def headers(self) -> dict[str, str]:
        return {"X-Auth-ApiToken": self._key, "X-Auth-Realm": self.firm_id}

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        raise ReconnectNeeded(SYSTEM, "the API key was refused — it may have been revoked, or the firm id is wrong")

    def identity(self) -> dict[str, Any]:
        return {"firm_id": self.firm_id}

    def __repr__(self) -> str:  # never the key
        return f"ApiKeyAuth(firm_id={self.firm_id!r})"


class SessionAuth:
    """A user session: ``POST /session`` → ``X-Auth-Token`` + ``X-Auth-Realm``. A 401 re-posts the
    session once; refused credentials → :class:`ReconnectNeeded`."""

    mode = "session"

    def __init__(self, user_id: str, password: str, firm: str | None = None, http: HttpPolicy | None = None,
                 base_url: str | None = None, *, clock: Any = time.monotonic) -> None:
        self._user = user_id
        self._password = password
        self.firm = firm
        self.http = http
        self.base_url = base_url.rstrip("/") if base_url else None
        self._clock = clock
        self._lock = threading.RLock()
        self._token: str | None = None
        self._born = 0.0
        self._proven = False
        self.info: dict[str, Any] = {}
        self.logins = 0  # how many times /session was posted (tests, diagnostics)

    def bind(self, base_url: str, http: HttpPolicy) -> None:
        self.base_url = self.base_url or base_url.rstrip("/")
        self.http = self.http or http

    def login(self) -> None:
        """Post ``/session`` (again) and keep the token, firm and who we are."""
        if self.http is None or self.base_url is None:
            raise RuntimeError("SessionAuth is not bound to a base URL and an HttpPolicy")
        body: dict[str, Any] = {A.SESSION_USER_FIELD: self._user, A.SESSION_PASSWORD_FIELD: self._password}
        if self.firm:
            body[A.SESSION_FIRM_FIELD] = self.firm
        # Posting a session twice only makes a second session: safe to retry on a transient failure.
        response = self.http.request("POST", self.base_url + A.SESSION_PATH, idempotent=True, json=body,
                                     headers={"Accept": JSON, "Content-Type": JSON})
        self.logins += 1
        secrets = [self._password]
        if response.status_code in (400, 401, 403):
            reason = error_message(response, secrets)
            raise ReconnectNeeded(SYSTEM, f"BigTime refused the user name or password ({reason})")
        if response.status_code >= 300:
            raise RequestRejected(SYSTEM, response.status_code,
                                  f"BigTime refused to open a session: {error_message(response, secrets)}")
        try:
            data = response.json()
        except ValueError:
            raise UnexpectedResponse(SYSTEM, "BigTime answered the sign-in with something that is not JSON.") from None
        r = _low(data)
        token = to_text(pick(r, "token"))
        if not token:
            raise UnexpectedResponse(SYSTEM, "BigTime's sign-in answer carried no session token.")
        self._token = token
        self._born = self._clock()
        self._proven = False
        self.info = {
            "firm_id": to_text(pick(r, "firm", "firmid")) or self.firm,
            "firm_name": to_text(pick(r, "firmname")),
            "staff_id": to_int(pick(r, "staffsid", "staffid")),
            "user_id": to_int(pick(r, "userid")),
            "name": " ".join(p for p in (to_text(pick(r, "fname")), to_text(pick(r, "sname"))) if p) or None,
        }

    def _realm(self) -> str | None:
        return self.info.get("firm_id") or self.firm

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock() - self._born > A.SESSION_TOKEN_LIFETIME_SECONDS:
                self.login()
            headers = {"X-Auth-Token": self._token or ""}
            realm = self._realm()
            if realm:
                headers["X-Auth-Realm"] = realm
            return headers

    def on_success(self, headers: Mapping[str, str]) -> None:
        if headers.get("X-Auth-Token") == self._token:
            self._proven = True

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        with self._lock:
            if stale_headers.get("X-Auth-Token") != self._token:
                return True  # another thread has already signed in again
            if not self._proven:
                return False  # a session fresh from /session was refused: posting again will not help
            self.login()
            return True

    def identity(self) -> dict[str, Any]:
        with self._lock:
            if self._token is None:
                self.login()
            return dict(self.info)

    def __repr__(self) -> str:  # never the password or token
        return f"SessionAuth(user_id={self._user!r}, firm={self.firm!r})"


class OAuthAuth:
    """An OAuth access token from a ``TokenRefresher`` (``connectors/oauth.py``), plus the firm id
    the admin typed as ``X-Auth-Realm`` on every call (no documented answer gives it).

    Which header BigTime wants for the token is unknown (see :mod:`.bigtime_assumptions`):
    ``X-Auth-Token`` first; on a 401 with a token not yet seen working, the same token as
    ``Authorization: Bearer``; then a refresh. The form that works is remembered (``header_mode``;
    ``on_header_mode`` is told, to persist it).
    """

    mode = "oauth"

    def __init__(self, refresher: Any, firm_id: str, header_mode: str | None = None,
                 on_header_mode: Any = None) -> None:
        if header_mode is not None and header_mode not in A.OAUTH_HEADER_ORDER:
            raise ValueError(f"header_mode must be one of {A.OAUTH_HEADER_ORDER}")
        if not firm_id or not firm_id.strip():
            raise ValueError("a firm id is needed: BigTime wants it (X-Auth-Realm) on every call")
        self.refresher = refresher
        self._firm_id = firm_id.strip()
        self._mode = header_mode or A.OAUTH_HEADER_ORDER[0]
        self._confirmed = header_mode is not None
        self._on_header_mode = on_header_mode
        self._refused: set[tuple[str, str]] = set()  # (token, header form) pairs BigTime refused
        self._refreshed_token: str | None = None  # from our own refresh, not yet seen working
        self._lock = threading.RLock()

    # -- what we know ---------------------------------------------------------------------------
    @property
    def header_mode(self) -> str:
        return self._mode

    @property
    def header_mode_confirmed(self) -> bool:
        return self._confirmed

    def _raw(self) -> dict[str, Any]:
        current = self.refresher.current()
        raw = getattr(current, "raw", None) if current is not None else None
        return raw if isinstance(raw, Mapping) else {}

    @property
    def firm_id(self) -> str:
        """The realm, as the admin typed it."""
        return self._firm_id

    @property
    def token_firm(self) -> str | None:
        """The firm the token response names, if it names one (BigTime documents none)."""
        return to_text(pick(self._raw(), *A.TOKEN_FIRM_FIELDS))

    def identity(self) -> dict[str, Any]:
        raw = self._raw()
        return {"firm_id": self.firm_id, "firm_name": to_text(pick(raw, "firmname")),
                "staff_id": to_int(pick(raw, *A.TOKEN_STAFF_FIELDS)), "user_id": to_int(pick(raw, *A.TOKEN_USER_FIELDS))}

    # -- signing ----------------------------------------------------------------------------------
    def _headers_for(self, token: str, mode: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"} if mode == A.OAUTH_HEADER_BEARER else {"X-Auth-Token": token}
        headers["X-Auth-Realm"] = self._firm_id
        return headers

    @staticmethod
    def _read(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
        auth = headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip(), A.OAUTH_HEADER_BEARER
        if headers.get("X-Auth-Token"):
            return headers["X-Auth-Token"], A.OAUTH_HEADER_X_AUTH_TOKEN
        return None, None

    def headers(self) -> dict[str, str]:
        token = self.refresher.access_token()  # refreshes proactively near expiry
        with self._lock:
            return self._headers_for(token, self._mode)

    def on_success(self, headers: Mapping[str, str]) -> None:
        token, mode = self._read(headers)
        with self._lock:
            if token is not None and token == self._refreshed_token:
                self._refreshed_token = None
            if not self._confirmed and mode is not None:
                self._mode, self._confirmed = mode, True
                self._refused.clear()
                if self._on_header_mode is not None:
                    self._on_header_mode(mode)

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        token, mode = self._read(stale_headers)
        with self._lock:
            current = self.refresher.current()
            current_token = getattr(current, "access_token", None)
            if token is None:
                return False
            if current_token and current_token != token:
                return True  # refreshed meanwhile (another thread): just send the new one
            if mode != self._mode:
                return True  # another thread already switched the header form
            if not self._confirmed:
                self._refused.add((token, mode))
                for candidate in A.OAUTH_HEADER_ORDER:
                    if (token, candidate) not in self._refused:
                        self._mode = candidate
                        return True
            if token == self._refreshed_token:
                return False  # a token fresh from our own refresh was refused: refreshing again won't help
            fresh = self.refresher.refresh(token)  # one at a time; ReconnectNeeded on invalid_grant
            self._refreshed_token = getattr(fresh, "access_token", None)
            if not self._confirmed:
                self._mode = A.OAUTH_HEADER_ORDER[0]
            return True

    def __repr__(self) -> str:
        return f"OAuthAuth(firm_id={self.firm_id!r}, header_mode={self._mode!r})"


# =============================================================================================
# The client
# =============================================================================================
class BigTimeClient:
    """BigTime API v2 over one :class:`HttpPolicy`.

    Methods return the small dataclasses above (``raw`` keeps BigTime's record). Creates are sent
    once (``idempotent=False``): after :class:`Offline` on a create, whether it happened is unknown —
    look it up (:meth:`find_projects_by_code`) before creating again. Updates send the same fields
    again on a retry, which is harmless, so they are retried like reads.

    There is deliberately **no delete method**: this integration never deletes a project.
    """

    def __init__(self, base_url: str, auth: AuthStrategy, http: HttpPolicy) -> None:
        self.base_url = require_secure_url(SYSTEM, base_url.rstrip("/"))
        self.auth = auth
        self.http = http
        self.contact_create_path: str | None = None  # learnt on the first contact added
        bind = getattr(auth, "bind", None)
        if callable(bind):
            bind(self.base_url, http)

    # ---- plumbing ---------------------------------------------------------------------------
    def request(self, method: str, path: str, *, idempotent: bool, params: Mapping[str, Any] | None = None,
                json_body: Any = None, action: str = "do this") -> Any:
        """One API call: sign, send through the policy, cure a 401 if the strategy can, map errors,
        return the parsed JSON. ``action`` completes "The BigTime user lacks the right to …"."""
        url = self.base_url + path
        retries = 0
        while True:
            auth_headers = self.auth.headers()
            headers = {"Accept": JSON, "Content-Type": JSON, **auth_headers}
            kwargs: dict[str, Any] = {"headers": headers}
            if params:
                kwargs["params"] = params
            if json_body is not None:
                kwargs["json"] = json_body
            response = self.http.request(method, url, idempotent=idempotent, **kwargs)
            if response.status_code != 401:
                break
            # A 401 is decided before any work is done, so even a create may be sent again.
            if retries < MAX_AUTH_RETRIES and self.auth.on_unauthorized(auth_headers):
                retries += 1
                continue
            raise ReconnectNeeded(SYSTEM, "BigTime no longer accepts the stored sign-in (HTTP 401)")
        secrets = _secret_values(auth_headers)
        status = response.status_code
        if 200 <= status < 300:
            on_success = getattr(self.auth, "on_success", None)
            if callable(on_success):
                on_success(auth_headers)
            return self._json(response)
        message = error_message(response, secrets)
        if status == 405 or status == 403:
            raise PermissionDenied(SYSTEM, status, f"The BigTime user lacks the right to {action}. BigTime said: {message}")
        if status == 404:
            raise RequestRejected(SYSTEM, 404, f"BigTime could not find it: {message}")
        if 400 <= status < 500:
            raise RequestRejected(SYSTEM, status, message)
        if status >= 500:
            raise ServiceUnavailable(SYSTEM, status, f"BigTime answered HTTP {status}: {message}")
        raise UnexpectedResponse(SYSTEM, f"BigTime answered HTTP {status}, which this app does not expect.")

    @staticmethod
    def _json(response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise UnexpectedResponse(SYSTEM, f"BigTime answered with something that is not JSON ({kind}); "
                                             "the address may not be a BigTime API.") from None

    def _get(self, path: str, params: Mapping[str, Any] | None = None, action: str = "read this") -> Any:
        return self.request("GET", path, idempotent=True, params=params, action=action)

    @staticmethod
    def _new_id(data: Any, what: str) -> int:
        new_id = to_int(pick(data, "SystemId", "Sid", "Id"))
        if new_id is None:
            raise UnexpectedResponse(SYSTEM, f"BigTime created the {what} but its answer carried no id.")
        return new_id

    # ---- who we are ---------------------------------------------------------------------------
    def whoami(self) -> WhoAmI:
        """The firm and user behind the credential; one or two requests, and proof that it works."""
        identity_fn = getattr(self.auth, "identity", None)
        ident = dict(identity_fn() if callable(identity_fn) else {})
        who = WhoAmI(auth_mode=getattr(self.auth, "mode", "unknown"), firm_id=ident.get("firm_id"),
                     firm_name=ident.get("firm_name"), staff_id=ident.get("staff_id"), user_id=ident.get("user_id"),
                     name=ident.get("name"))
        if who.staff_id is not None:
            member = self.staff_member(who.staff_id)
            who.name = member.full_name or who.name
            who.email = member.email
        else:
            self._get(A.WHOAMI_PROBE_PATH)
        return who

    firm_info = whoami

    # ---- projects -----------------------------------------------------------------------------
    def projects(self, include_inactive: bool = True) -> list[Project]:
        data = self._get("/project", {"ShowInactive": "true" if include_inactive else "false"}, "read projects")
        return [Project.from_api(r) for r in _records(data)]

    def project(self, project_id: int) -> Project:
        return Project.from_api(self._get(f"/project/detail/{int(project_id)}", {"View": "Detailed"}, "read projects"))

    def create_project(self, fields: Mapping[str, Any]) -> int:
        """Create a project (BigTime's field names, e.g. ``Nm``, ``ProjectCode``, ``ClientId`` = the
        client's SystemId); its new SystemId. Sent once: see the class docstring."""
        return self.create_project_record(fields).id  # type: ignore[return-value]

    def create_project_record(self, fields: Mapping[str, Any]) -> Project:
        """As :meth:`create_project`, and the project as BigTime keeps it — so the caller can see
        whether a field (the ProjectCode) was kept as sent. When the answer carries no
        ``ProjectCode`` the project is read back (one more request)."""
        data = self.request("POST", "/project/detail", idempotent=False, json_body=dict(fields), action="create projects")
        project = Project.from_api(data)
        project.id = self._new_id(data, "project")
        if "ProjectCode" in fields and pick(data, "ProjectCode") is None:
            project = self.project(project.id)
        return project

    def update_project(self, project_id: int, fields: Mapping[str, Any]) -> Project:
        data = self.request("POST", f"/project/detail/{int(project_id)}", idempotent=True, json_body=dict(fields),
                            action="edit projects")
        return Project.from_api(data)

    def find_projects_by_code(self, code: str, include_inactive: bool = True) -> list[Project]:
        """Projects whose ``ProjectCode`` equals ``code`` (trimmed, case-insensitive). BigTime has no
        server-side filter, so this reads the whole list (one request) and filters here. Looking a
        project up by a custom field would cost a request per project, so it is not offered."""
        wanted = code.strip().lower()
        return sorted((p for p in self.projects(include_inactive) if (p.code or "").strip().lower() == wanted),
                      key=lambda p: p.id or 0)

    def project_contacts(self, project_id: int) -> list[Contact]:
        data = self._get("/project/Contacts", {"id": int(project_id)}, "read project contacts")
        return [Contact.from_api(r) for r in _records(data)]

    def add_project_contact(self, project_id: int, fields: Mapping[str, Any]) -> int:
        """Add a contact (``FName``, ``SName``, ``EMail``, ``Tag`` PRIMARY|BILLING|OTHER ...); its id.
        Sent once (not idempotent) to the path that worked before, else to each of
        :data:`.bigtime_assumptions.CONTACT_CREATE_PATHS` in turn while BigTime answers 404 or 405
        (it created nothing then); the one that works is kept for the next contacts."""
        paths = [self.contact_create_path] if self.contact_create_path else list(A.CONTACT_CREATE_PATHS)
        for index, path in enumerate(paths):
            try:
                data = self.request("POST", path, idempotent=False, params={"projectsid": int(project_id)},
                                    json_body=dict(fields), action="edit project contacts")
            except RequestRejected as exc:
                if exc.status in (404, 405) and index + 1 < len(paths):
                    continue
                raise
            self.contact_create_path = path
            return self._new_id(data, "contact")
        raise AssertionError("unreachable")

    def update_project_contact(self, project_id: int, contact_id: int, fields: Mapping[str, Any]) -> Contact:
        data = self.request("POST", f"/project/Contact/{int(contact_id)}", idempotent=True,
                            params={"projectsid": int(project_id)}, json_body=dict(fields), action="edit project contacts")
        return Contact.from_api(data)

    def project_custom_fields(self, project_id: int) -> dict[str, Any]:
        """The project's custom field values by name."""
        data = self._get(f"/project/CustomFields/{int(project_id)}", action="read projects")
        return {name: pick(r, "Value") for r in _records(data) if (name := to_text(pick(r, "Name")))}

    # ---- clients ------------------------------------------------------------------------------
    def clients(self, include_inactive: bool = True) -> list[Client]:
        data = self._get("/client", {"ShowInactive": "true" if include_inactive else "false"}, "read clients")
        return [Client.from_api(r) for r in _records(data)]

    def client(self, client_id: int) -> Client:
        return Client.from_api(self._get(f"/client/detail/{int(client_id)}", action="read clients"))

    def create_client(self, fields: Mapping[str, Any]) -> int:
        """Create a client (``Nm`` required; ``ClientId`` here is the text client *code*); its SystemId.
        Sent once (not idempotent)."""
        data = self.request("POST", "/client/detail", idempotent=False, json_body=dict(fields), action="create clients")
        return self._new_id(data, "client")

    def update_client(self, client_id: int, fields: Mapping[str, Any]) -> Client:
        data = self.request("POST", f"/client/detail/{int(client_id)}", idempotent=True, json_body=dict(fields),
                            action="edit clients")
        return Client.from_api(data)

    def find_clients_by_name(self, name: str, include_inactive: bool = True) -> list[Client]:
        """Clients named ``name`` (trimmed, case-insensitive), from the whole list."""
        wanted = " ".join(name.split()).lower()
        return sorted((c for c in self.clients(include_inactive) if " ".join((c.name or "").split()).lower() == wanted),
                      key=lambda c: c.id or 0)

    # ---- staff, picklists ---------------------------------------------------------------------
    def staff(self) -> list[StaffMember]:
        return [StaffMember.from_api(r) for r in _records(self._get("/staff", action="read staff"))]

    def staff_member(self, staff_id: int) -> StaffMember:
        return StaffMember.from_api(self._get(f"/staff/detail/{int(staff_id)}", action="read staff"))

    def picklist(self, name: str) -> list[PicklistItem]:
        """``/picklist/{name}``: projects, clients, staff, LaborCodes ..."""
        return [PicklistItem.from_api(r) for r in _records(self._get(f"/picklist/{name}", action="read lists"))]

    def field_values(self, field_name: str) -> list[PicklistItem]:
        """``/picklist/FieldValues/{field}``, e.g. ``StatusProduction`` → [{id, name, group}]."""
        data = self._get(f"/picklist/FieldValues/{field_name}", action="read lists")
        return [PicklistItem.from_api(r) for r in _records(data)]

    # ---- time, expenses -------------------------------------------------------------------------
    def time_by_project(self, project_id: int, start: date | str, end: date | str) -> list[TimeEntry]:
        data = self._get(f"/time/ByProject/{int(project_id)}", {"StartDt": _date_param(start), "EndDt": _date_param(end)},
                         "read time")
        return [TimeEntry.from_api(r) for r in _records(data)]

    def expenses(self, start: date | str, end: date | str, project_ids: Iterable[int] | None = None) -> list[Expense]:
        """``POST /expense/ReportByFilter`` — a report, i.e. a read: retried like a GET."""
        names = A.EXPENSE_FILTER_FIELDS
        body: dict[str, Any] = {names["start"]: _date_param(start), names["end"]: _date_param(end)}
        if project_ids is not None:
            body[names["projects"]] = [int(p) for p in project_ids]
        data = self.request("POST", "/expense/ReportByFilter", idempotent=True, json_body=body, action="read expenses")
        return [Expense.from_api(r) for r in _records(data)]

    # ---- invoices, budgets --------------------------------------------------------------------
    def invoice_history(self, start: date | str, end: date | str) -> list[Invoice]:
        """Posted invoices dated in [start, end] (both required by BigTime)."""
        data = self._get("/invoice/history", {"startDt": _date_param(start), "endDt": _date_param(end)}, "view invoices")
        return [Invoice.from_api(r) for r in _records(data)]

    def all_invoices(self) -> list[Invoice]:
        """Every posted invoice (one request over the widest window; see the assumptions)."""
        return self.invoice_history(A.INVOICE_HISTORY_EARLIEST, date.today() + timedelta(days=366))

    def invoice(self, invoice_id: int) -> Invoice:
        return Invoice.from_api(self._get(f"/invoice/detail/{int(invoice_id)}", action="view invoices"))

    def budget_status(self, project_id: int) -> list[BudgetRow]:
        """Per-task rows of ``/task/BudgetStatusByProject``, normalised to one set of names."""
        data = self._get(f"/task/BudgetStatusByProject/{int(project_id)}", action="read budgets")
        return [BudgetRow.from_api(r) for r in _records(data)]

    def project_totals(self, project_id: int, invoices: Iterable[Invoice] | None = None) -> ProjectTotals:
        """The project's figures for the write-back (see :class:`ProjectTotals`): its detail, its
        budget-status rows and the posted invoices. Pass ``invoices`` (e.g. one
        :meth:`all_invoices` per cycle) to save the history request; otherwise 3 requests."""
        project = self.project(project_id)
        return totals_from(project_id, project, self.budget_status(project_id),
                           self.all_invoices() if invoices is None else list(invoices))


def _rows_sum(rows: list[BudgetRow], name: str) -> float | None:
    """A figure summed over the rows; None when a row lacks it. No rows at all is BigTime saying the
    project has no tasks and nothing logged: 0."""
    values = [getattr(r, name) for r in rows]
    if any(v is None for v in values):
        return None
    return round(sum(values), 2)  # type: ignore[arg-type]


def totals_from(project_id: int, project: Project | None, rows: list[BudgetRow] | None,
                invoices: list[Invoice] | None) -> ProjectTotals:
    """The write-back figures of one project from what was read (pure; the unit tests call it).
    ``project``: its detail (None: not read); ``rows``: its budget-status rows (None: not read);
    ``invoices``: every posted invoice of the history (None: the history cannot be attributed)."""
    totals = ProjectTotals(project_id=project_id)
    mine: list[Invoice] = []
    if invoices is not None:
        mine = sorted((i for i in invoices if i.project_id == project_id), key=lambda i: (i.date or date.min, i.id or 0))
        totals.invoices = mine
    for figure, (where, name) in A.WRITEBACK_SOURCES.items():
        value: float | None = None
        if where == "project":
            value = to_number(pick(project.raw, name)) if project is not None else None
            reason = f"{name} on the project"
        elif where == "rows":
            value = _rows_sum(rows, name) if rows is not None else None
            reason = f"{A.BUDGET_FIELDS[name][0]} on budget-status rows"
        else:
            reason = f"{name} on invoices"
            if invoices is None:
                reason = "ProjectSid on invoices of the invoice history"
            else:
                amounts = [to_number(pick(i.raw, name)) for i in mine]
                value = None if any(a is None for a in amounts) else round(sum(amounts), 2)  # type: ignore[arg-type]
        totals.figures[figure] = value
        if value is None:
            totals.missing[figure] = reason
    return totals


__all__ = [
    "DEFAULT_BASE_URL", "ApiKeyAuth", "AuthStrategy", "BigTimeClient", "BudgetRow", "Client", "ConnectorError",
    "Contact", "Expense", "Invoice", "OAuthAuth", "PicklistItem", "Project", "ProjectTotals", "SessionAuth",
    "StaffMember", "TimeEntry", "WhoAmI", "error_message", "html_to_sentence", "lower_keys", "pick", "to_bool",
    "to_date", "to_datetime", "to_int", "to_number", "totals_from",
]
