"""BigTime's data as the emulator keeps it: the firm, its people, clients, projects, time, money.

Records are stored in the API's own shape (PascalCase field names, numeric ``SystemId``s); keys
starting with ``_`` are internal (passwords, rights, payments) and never leave the emulator.
Input field names are matched case-insensitively and only an object's "Update view" fields are
taken on create/update — everything else is ignored, as BigTime documents.

Every derived figure (project input hours/fees, budget status per task, WIP, invoiced and paid to
date) is computed from the time entries, expenses and invoices, so the numbers always agree.

Choices for what ``reference/bigtime.md`` leaves unknown are kept in the constants below.
"""

from __future__ import annotations

import copy
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from .. import credentials as cred
from ..switches import Switches
from .switches import BIGTIME_SWITCHES

# ---- choices for the unknowns (one place) ---------------------------------------------------
ACCESS_TOKEN_TTL_SECONDS = 264960  # BigTime's example expires_in (≈ 3 days)
SESSION_TTL_SECONDS = 7 * 24 * 3600  # "tokens expire after 7 days" (current help page)
RATE_LIMIT_REQUESTS = 30  # per firm, in any rolling window of RATE_LIMIT_WINDOW_SECONDS
RATE_LIMIT_WINDOW_SECONDS = 60.0
CODE_TTL_SECONDS = 600  # authorization codes: 10 minutes, single use
LOGIN_TXN_TTL_SECONDS = 900  # the login → consent transaction carried in a hidden field

# Invoice status codes (BigTime's numbering is not documented).
INVOICE_DRAFT, INVOICE_OPEN, INVOICE_PARTIAL, INVOICE_PAID = 0, 1, 2, 3
INVOICE_STATUS_TXT = {INVOICE_DRAFT: "Draft", INVOICE_OPEN: "Open", INVOICE_PARTIAL: "Partially Paid", INVOICE_PAID: "Paid"}

# Rights a user may lack (→ HTTP 405 with the message).
PERMISSIONS = {
    "can_create_projects": "You do not have rights to create projects",
    "can_edit_projects": "You do not have rights to edit projects",
    "can_delete_projects": "You do not have rights to delete projects",
    "can_create_clients": "You do not have rights to create clients",
    "can_edit_clients": "You do not have rights to edit clients",
    "can_edit_contacts": "You do not have rights to edit project contacts",
    "can_view_invoices": "You do not have rights to view invoices",
    "can_log_time": "You do not have rights to enter time or expenses",
}

# First SystemId per kind: distinct ranges so a client id used as a project id (a classic bug)
# finds nothing instead of the wrong record.
ID_BASE = {"staff": 11, "client": 201, "project": 1001, "contact": 5001, "task": 7001,
           "time": 100001, "expense": 300001, "invoice": 9001}
KINDS = tuple(ID_BASE)

# Picklists.
STATUS_PRODUCTION = [
    {"Id": 1, "Name": "Not Started", "Group": "Active"},
    {"Id": 2, "Name": "In Progress", "Group": "Active"},
    {"Id": 3, "Name": "On Hold", "Group": "Active"},
    {"Id": 4, "Name": "Completed", "Group": "Inactive"},
    {"Id": 5, "Name": "Cancelled", "Group": "Inactive"},
]
STATUS_BILLING = [
    {"Id": 1, "Name": "Billable", "Group": "Active"},
    {"Id": 2, "Name": "Billing Hold", "Group": "Active"},
    {"Id": 3, "Name": "Non-Billable", "Group": "Active"},
    {"Id": 4, "Name": "Closed", "Group": "Inactive"},
]
PROJECT_TYPES = [
    {"Id": 1, "Name": "Time & Materials"},
    {"Id": 2, "Name": "Fixed Fee"},
    {"Id": 3, "Name": "Retainer"},
    {"Id": 4, "Name": "Internal"},
]
LABOR_CODES = [
    {"Id": 31, "Name": "Consulting", "Billable": True},
    {"Id": 32, "Name": "Project Management", "Billable": True},
    {"Id": 33, "Name": "Development", "Billable": True},
    {"Id": 34, "Name": "Training", "Billable": True},
    {"Id": 35, "Name": "Internal / Admin", "Billable": False},
]
EXPENSE_CODES = [
    {"Id": 41, "Name": "Airfare", "Group": "Travel", "Billable": True},
    {"Id": 42, "Name": "Lodging", "Group": "Travel", "Billable": True},
    {"Id": 43, "Name": "Meals", "Group": "Travel", "Billable": True},
    {"Id": 44, "Name": "Mileage", "Group": "Travel", "Billable": True},
    {"Id": 45, "Name": "Software & Licences", "Group": "Materials", "Billable": True},
    {"Id": 46, "Name": "Office Supplies", "Group": "Overhead", "Billable": False},
]
CUSTOM_FIELDS = [
    {"Sid": 1, "Name": "Salesforce Opportunity Id"},
    {"Sid": 2, "Name": "Salesforce Account Id"},
    {"Sid": 3, "Name": "Engagement Lead"},
]
BUDGET_STYLES = {0: "None", 1: "Fees", 2: "Hours", 3: "Fees and Hours"}

# ---- field definitions: name → type; "Update view" fields are the ones accepted on input ------
_STR, _TEXT, _INT, _NUM, _BOOL, _DATE, _ADDR = "str", "text", "int", "num", "bool", "date", "addr"

PROJECT_UPDATE = {
    "Nm": _STR, "ProjectCode": _STR, "ClientId": _INT, "TypeId": _INT, "StartDt": _DATE, "EndDt": _DATE,
    "Notes": _TEXT, "StatusProd": _INT, "StatusBill": _INT, "IsInactive": _BOOL, "BudgetHours": _NUM,
    "BudgetFees": _NUM, "BudgetStyle": _INT, "BasicRate": _NUM, "BillingRate": _NUM,
    "PrimaryContactId": _INT, "BillingContactId": _INT,
}
CLIENT_UPDATE = {
    "Nm": _STR, "ClientId": _STR, "Address": _STR, "City": _STR, "State": _STR, "Zip": _STR, "Country": _STR,
    "MainPH": _STR, "MainFX": _STR, "Notes": _TEXT, "IsInactive": _BOOL, "BillAddress": _STR, "BillCity": _STR,
    "BillState": _STR, "BillZip": _STR, "BillCountry": _STR, "WebSite": _STR,
}
CONTACT_UPDATE = {
    "Tag": _STR, "FName": _STR, "SName": _STR, "Title": _STR, "EMail": _STR, "Phone": _STR,
    "MobilePH": _STR, "OtherPH": _STR, "Address": _ADDR, "Notes": _TEXT,
}
STAFF_UPDATE = {
    "FName": _STR, "SName": _STR, "Title": _STR, "EMail": _STR, "Phone": _STR, "IsInactive": _BOOL,
    "BillRate": _NUM, "CostRate": _NUM, "HireDt": _DATE,
}
TASK_UPDATE = {
    "TaskNm": _STR, "TaskCode": _STR, "BudgetHours": _NUM, "BudgetFees": _NUM, "BudgetExps": _NUM,
    "IsInactive": _BOOL, "Notes": _TEXT,
}
TIME_UPDATE = {
    "Dt": _DATE, "ProjectSID": _INT, "StaffSID": _INT, "BudgCatID": _INT, "TaskSID": _INT, "Hours_IN": _NUM,
    "HoursBillable": _NUM, "Notes": _TEXT, "IsSubmitted": _BOOL, "IsApproved": _BOOL,
}
EXPENSE_UPDATE = {
    "Dt": _DATE, "ProjectSID": _INT, "StaffSID": _INT, "CatSID": _INT, "TaskSID": _INT, "CostIN": _NUM,
    "CostBill": _NUM, "Nt": _TEXT, "IsReimb": _BOOL,
}
INVOICE_UPDATE = {
    "ProjectSid": _INT, "InvoiceNbr": _STR, "InvoiceDt": _DATE, "InvoiceDtDue": _DATE, "InvoiceAmt": _NUM,
    "Status": _INT, "Notes": _TEXT, "TaxAmt": _NUM,
}
ADDRESS_FIELDS = ("Address", "City", "State", "Zip", "Country")
CONTACT_TAGS = ("PRIMARY", "BILLING", "OTHER")


class BigTimeError(Exception):
    """An error the API reports: ``status`` and a BigTime-like message."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class ValidationError(BigTimeError):
    status = 400


class NotFoundError(BigTimeError):
    status = 404


class PermissionDenied(BigTimeError):
    status = 405


# ---- helpers ----------------------------------------------------------------------------------
def _fmt_date(d: date) -> str:
    return d.strftime("%Y-%m-%dT00:00:00")


def _fmt_stamp(dt: datetime) -> str:
    """Timestamps as BigTime (.NET) writes them: no offset. Ours are UTC."""
    return dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_date(value: Any, field: str = "date") -> date:
    """A date from the forms BigTime accepts: ISO (with or without a time part) or M/D/YYYY."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip() if value is not None else ""
    if text:
        head = text.split("T")[0].split(" ")[0]
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"):
            try:
                return datetime.strptime(head, fmt).date()
            except ValueError:
                continue
    raise ValidationError(f"The value '{value}' is not valid for {field}. Use a date like 2026-11-26.")


def _as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "t"):
        return True
    if text in ("false", "0", "no", "n", "f", ""):
        return False
    raise ValidationError(f"The value '{value}' is not valid for {field}.")


def _as_num(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise ValidationError(f"The value '{value}' is not valid for {field}.")
    try:
        return round(float(value), 4)
    except (TypeError, ValueError):
        raise ValidationError(f"The value '{value}' is not valid for {field}.") from None


def _as_int(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(f"The value '{value}' is not valid for {field}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"The value '{value}' is not valid for {field}.") from None
    if number != int(number):
        raise ValidationError(f"The value '{value}' is not valid for {field}.")
    return int(number)


def normalise(fields: dict[str, Any] | None, allowed: dict[str, str]) -> dict[str, Any]:
    """Keep the allowed fields (names matched case-insensitively, renamed to PascalCase), coerced."""
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise ValidationError("The request body must be a JSON object.")
    by_lower = {name.lower(): name for name in allowed}
    out: dict[str, Any] = {}
    for key, value in fields.items():
        name = by_lower.get(str(key).lower())
        if name is None:
            continue  # not in the Update view: ignored, as BigTime documents
        kind = allowed[name]
        if kind in (_STR, _TEXT):
            out[name] = "" if value is None else str(value).strip() if kind == _STR else str(value)
        elif kind == _INT:
            out[name] = _as_int(value, name)
        elif kind == _NUM:
            out[name] = 0.0 if value in (None, "") else _as_num(value, name)
        elif kind == _BOOL:
            out[name] = _as_bool(value, name)
        elif kind == _DATE:
            out[name] = None if value in (None, "") else _fmt_date(parse_date(value, name))
        elif kind == _ADDR:
            if value is None:
                value = {}
            if isinstance(value, str):
                value = {"Address": value}
            if not isinstance(value, dict):
                raise ValidationError(f"The value for {name} must be an object with {', '.join(ADDRESS_FIELDS)}.")
            sub = {f.lower(): f for f in ADDRESS_FIELDS}
            out[name] = {sub[k.lower()]: ("" if v is None else str(v)) for k, v in value.items() if k.lower() in sub}
    return out


def _pick(fields: dict[str, Any] | None, *names: str) -> Any:
    """A value from input by any of ``names``, case-insensitively."""
    if not fields:
        return None
    lowered = {str(k).lower(): v for k, v in fields.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def _money(x: float) -> float:
    return round(x + 0.0, 2)


class BigTimeData:
    """The emulated BigTime firm. Callers hold the world's lock while mutating."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.clear()

    # ---- lifecycle / persistence -----------------------------------------------------------
    def clear(self) -> None:
        self.firm: dict[str, Any] = {"Id": cred.BT_FIRM_ID, "Nm": cred.BT_FIRM_NAME}
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.next_id: dict[str, int] = dict(ID_BASE)
        self.next_invoice_nbr = 1001
        self.custom_values: dict[int, dict[int, str]] = {}  # project → {udf Sid → value}
        self.oauth_txns: dict[str, dict[str, Any]] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.session_tokens: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {
            # BigTime's limit as public clients meet it: 30 requests in any 60 s per firm, then 503
            # without Retry-After (POST /__sandbox__/rate_limit changes it).
            "rate_limit_requests": RATE_LIMIT_REQUESTS,
            "rate_limit_window_seconds": RATE_LIMIT_WINDOW_SECONDS,
            "rate_limit_retry_after": False,
            "access_token_ttl_seconds": ACCESS_TOKEN_TTL_SECONDS,
            "session_ttl_seconds": SESSION_TTL_SECONDS,
            "api_key": cred.BT_API_KEY,
            "api_key_revoked": False,
        }
        self.switches = Switches(BIGTIME_SWITCHES)

    def to_json(self) -> dict[str, Any]:
        return {
            "firm": self.firm,
            "records": {kind: list(recs.values()) for kind, recs in self.records.items()},
            "next_id": self.next_id,
            "next_invoice_nbr": self.next_invoice_nbr,
            "custom_values": {str(p): {str(s): v for s, v in vals.items()} for p, vals in self.custom_values.items()},
            "oauth_codes": self.oauth_codes,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "session_tokens": self.session_tokens,
            "settings": self.settings,
            "switches": self.switches.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Any) -> BigTimeData:
        self = cls(clock)
        self.firm = dict(data.get("firm") or self.firm)
        for kind, recs in (data.get("records") or {}).items():
            if kind in self.records:
                id_key = "Sid" if kind == "invoice" else "SID" if kind in ("time", "expense") else "SystemId"
                self.records[kind] = {int(r[id_key]): r for r in recs}
        self.next_id.update({k: int(v) for k, v in (data.get("next_id") or {}).items()})
        self.next_invoice_nbr = int(data.get("next_invoice_nbr", self.next_invoice_nbr))
        self.custom_values = {int(p): {int(s): v for s, v in vals.items()} for p, vals in (data.get("custom_values") or {}).items()}
        for name in ("oauth_codes", "access_tokens", "refresh_tokens", "session_tokens"):
            setattr(self, name, dict(data.get(name) or {}))
        self.settings.update(data.get("settings") or {})
        self.switches = Switches(BIGTIME_SWITCHES, data.get("switches") or {})
        return self

    # ---- small utilities -------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().date()

    def _new_id(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def _get(self, kind: str, record_id: Any, label: str) -> dict[str, Any]:
        try:
            rid = int(record_id)
        except (TypeError, ValueError):
            raise NotFoundError(f"{label} '{record_id}' was not found.") from None
        record = self.records[kind].get(rid)
        if record is None:
            raise NotFoundError(f"{label} {rid} was not found.")
        return record

    def _stamp(self, record: dict[str, Any], created: bool = False) -> None:
        now = _fmt_stamp(self.now())
        if created:
            record["DtCreated"] = now
        record["DtModified"] = now

    def _touch(self, project: dict[str, Any]) -> None:
        """Time, expenses and invoices change the project's DtModified only under the lenient
        reading (switch ``entries_touch_project``): nothing documents that they do."""
        if self.switches["entries_touch_project"]:
            self._stamp(project)

    # ---- permissions -----------------------------------------------------------------------
    def permissions(self, staff_id: int) -> dict[str, bool]:
        staff = self._get("staff", staff_id, "Staff member")
        rights = staff.setdefault("_rights", {})
        return {name: bool(rights.get(name, True)) for name in PERMISSIONS}

    def set_permissions(self, staff_id: int, changes: dict[str, Any]) -> dict[str, bool]:
        staff = self._get("staff", staff_id, "Staff member")
        rights = staff.setdefault("_rights", {})
        for name, value in changes.items():
            if name not in PERMISSIONS:
                raise ValidationError(f"Unknown permission '{name}'. Known: {', '.join(PERMISSIONS)}")
            rights[name] = _as_bool(value, name)
        return self.permissions(staff_id)

    def require(self, staff_id: int | None, permission: str) -> None:
        if staff_id is None:
            return
        if not self.permissions(staff_id)[permission]:
            raise PermissionDenied(PERMISSIONS[permission])

    # ---- staff -----------------------------------------------------------------------------
    def add_staff(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, STAFF_UPDATE)
        if not values.get("FName") and not values.get("SName"):
            raise ValidationError("A staff member needs a first or last name (FName, SName).")
        sid = self._new_id("staff")
        login = _pick(fields, "UserId", "Login", "Username") or values.get("EMail") or f"staff{sid}@{cred.BT_FIRM_ID}.example"
        record = {
            "SystemId": sid, "FName": "", "SName": "", "Title": "", "EMail": "", "Phone": "", "IsInactive": False,
            "BillRate": 150.0, "CostRate": 75.0, "HireDt": None, **values,
            "_login": str(login), "_password": str(_pick(fields, "Pwd", "Password") or cred.BT_PASSWORD),
            "_userid": 900 + sid, "_rights": {},
        }
        record["FullName"] = f"{record['FName']} {record['SName']}".strip()
        if not record["EMail"]:
            record["EMail"] = record["_login"]
        self._stamp(record, created=True)
        self.records["staff"][sid] = record
        return sid

    def update_staff(self, staff_id: int, fields: dict[str, Any]) -> None:
        record = self._get("staff", staff_id, "Staff member")
        record.update(normalise(fields, STAFF_UPDATE))
        record["FullName"] = f"{record['FName']} {record['SName']}".strip()
        if "permissions" in fields and isinstance(fields["permissions"], dict):
            self.set_permissions(staff_id, fields["permissions"])
        self._stamp(record)

    def staff_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [_public(s) for s in self.records["staff"].values() if show_inactive or not s["IsInactive"]]

    def get_staff(self, staff_id: int) -> dict[str, Any]:
        return _public(self._get("staff", staff_id, "Staff member"))

    def find_login(self, login: str, password: str) -> int | None:
        for staff in self.records["staff"].values():
            if staff["_login"].lower() == str(login).strip().lower() and staff["_password"] == password and not staff["IsInactive"]:
                return staff["SystemId"]
        return None

    def staff_session_info(self, staff_id: int) -> dict[str, Any]:
        staff = self._get("staff", staff_id, "Staff member")
        return {"staffsid": staff["SystemId"], "userid": staff["_userid"], "fname": staff["FName"], "sname": staff["SName"]}

    # ---- clients ---------------------------------------------------------------------------
    def create_client(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, CLIENT_UPDATE)
        if not values.get("Nm"):
            raise ValidationError("The client name (Nm) is required.")
        sid = self._new_id("client")
        record = {"SystemId": sid, **{name: ("" if kind in (_STR, _TEXT) else False) for name, kind in CLIENT_UPDATE.items()}}
        record.update(values)
        self._stamp(record, created=True)
        self.records["client"][sid] = record
        return sid

    def update_client(self, client_id: int, fields: dict[str, Any]) -> None:
        record = self._get("client", client_id, "Client")
        values = normalise(fields, CLIENT_UPDATE)
        if "Nm" in values and not values["Nm"]:
            raise ValidationError("The client name (Nm) cannot be empty.")
        record.update(values)
        self._stamp(record)
        for project in self.records["project"].values():
            if project["ClientId"] == record["SystemId"]:
                project["DisplayName"] = self._display_name(project)

    def client_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [self._client_view(c, basic=True) for c in self.records["client"].values() if show_inactive or not c["IsInactive"]]

    def get_client(self, client_id: int) -> dict[str, Any]:
        return self._client_view(self._get("client", client_id, "Client"), basic=False)

    def _client_view(self, record: dict[str, Any], basic: bool) -> dict[str, Any]:
        if basic:
            return {k: record[k] for k in ("SystemId", "Nm", "ClientId", "City", "State", "Country", "IsInactive", "DtModified")}
        out = _public(record)
        contacts = [c for c in self.records["contact"].values() if self.records["project"].get(c["_project"], {}).get("ClientId") == record["SystemId"]]
        out["ContactList"] = [_public(c) for c in contacts]
        return out

    # ---- projects --------------------------------------------------------------------------
    def _display_name(self, project: dict[str, Any]) -> str:
        client = self.records["client"].get(project.get("ClientId") or 0)
        return f"{client['Nm']}:{project['Nm']}" if client else project["Nm"]

    def _check_project_refs(self, values: dict[str, Any], project_id: int | None = None) -> None:
        if values.get("ClientId") is not None and values["ClientId"] not in self.records["client"]:
            raise ValidationError(f"Invalid ClientId: there is no client with SystemId {values['ClientId']}.")
        if values.get("StatusProd") is not None and values["StatusProd"] not in {s["Id"] for s in STATUS_PRODUCTION}:
            raise ValidationError(f"Invalid StatusProd: {values['StatusProd']} is not a production status.")
        if values.get("StatusBill") is not None and values["StatusBill"] not in {s["Id"] for s in STATUS_BILLING}:
            raise ValidationError(f"Invalid StatusBill: {values['StatusBill']} is not a billing status.")
        if values.get("TypeId") is not None and values["TypeId"] not in {t["Id"] for t in PROJECT_TYPES}:
            raise ValidationError(f"Invalid TypeId: {values['TypeId']} is not a project type.")
        if values.get("BudgetStyle") is not None and values["BudgetStyle"] not in BUDGET_STYLES:
            raise ValidationError(f"Invalid BudgetStyle: {values['BudgetStyle']}.")
        for key in ("PrimaryContactId", "BillingContactId"):
            cid = values.get(key)
            if cid:
                contact = self.records["contact"].get(cid)
                if contact is None or (project_id is not None and contact["_project"] != project_id):
                    raise ValidationError(f"Invalid {key}: contact {cid} is not a contact of this project.")

    def _apply_status(self, record: dict[str, Any], values: dict[str, Any]) -> None:
        """Production status and IsInactive agree: an Inactive-group status means inactive."""
        groups = {s["Id"]: s["Group"] for s in STATUS_PRODUCTION}
        if "StatusProd" in values and values["StatusProd"] is not None:
            record["IsInactive"] = groups[values["StatusProd"]] == "Inactive"
        elif "IsInactive" in values:
            current = groups.get(record.get("StatusProd") or 0, "Active")
            if values["IsInactive"] and current != "Inactive":
                record["StatusProd"] = next(s["Id"] for s in STATUS_PRODUCTION if s["Group"] == "Inactive")
            elif not values["IsInactive"] and current == "Inactive":
                record["StatusProd"] = 2

    def _fit_code(self, code: str) -> str:
        """A ProjectCode longer than the limit (switch ``project_code_max``) is cut or refused."""
        limit = self.switches["project_code_max"]
        if limit is None or len(code) <= limit:
            return code
        if self.switches["project_code_overflow"] == "refuse":
            raise ValidationError(f"ProjectCode is too long: at most {limit} characters are allowed.")
        return code[:limit]

    def create_project(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, PROJECT_UPDATE)
        if not values.get("Nm"):
            raise ValidationError("The project name (Nm) is required.")
        for key in ("PrimaryContactId", "BillingContactId"):
            values.pop(key, None)  # a new project has no contacts yet
        self._check_project_refs(values)
        sid = self._new_id("project")
        record: dict[str, Any] = {
            "SystemId": sid, "Nm": "", "DisplayName": "", "ProjectCode": "", "ClientId": None, "TypeId": 1,
            "StartDt": _fmt_date(self.today()), "EndDt": None, "Notes": "", "StatusProd": 1, "StatusBill": 1,
            "IsInactive": False, "BudgetHours": 0.0, "BudgetFees": 0.0, "BudgetStyle": 0, "BasicRate": 0.0,
            "BillingRate": 0.0, "PrimaryContactId": None, "BillingContactId": None,
        }
        if values.get("ProjectCode"):
            values["ProjectCode"] = self._fit_code(values["ProjectCode"])
        record.update({k: v for k, v in values.items() if k not in ("IsInactive",)})
        if not record["ProjectCode"]:
            record["ProjectCode"] = f"P{sid:05d}"
        self._apply_status(record, values)
        record["DisplayName"] = self._display_name(record)
        self._stamp(record, created=True)
        self.records["project"][sid] = record
        return sid

    def update_project(self, project_id: int, fields: dict[str, Any]) -> None:
        record = self._get("project", project_id, "Project")
        values = normalise(fields, PROJECT_UPDATE)
        if "Nm" in values and not values["Nm"]:
            raise ValidationError("The project name (Nm) cannot be empty.")
        self._check_project_refs(values, project_id=record["SystemId"])
        if values.get("ProjectCode"):
            values["ProjectCode"] = self._fit_code(values["ProjectCode"])
        record.update({k: v for k, v in values.items() if k != "IsInactive"})
        self._apply_status(record, values)
        record["DisplayName"] = self._display_name(record)
        self._stamp(record)

    def delete_project(self, project_id: int) -> None:
        """Permanent, as in BigTime: the project, its contacts, tasks, time and expenses go."""
        record = self._get("project", project_id, "Project")
        pid = record["SystemId"]
        if any(inv["ProjectSid"] == pid and inv["Status"] != INVOICE_DRAFT for inv in self.records["invoice"].values()):
            raise ValidationError("This project has posted invoices and cannot be deleted.")
        del self.records["project"][pid]
        for kind, key in (("contact", "_project"), ("task", "ProjectSid"), ("time", "ProjectSID"),
                          ("expense", "ProjectSID"), ("invoice", "ProjectSid")):
            self.records[kind] = {i: r for i, r in self.records[kind].items() if r.get(key) != pid}
        self.custom_values.pop(pid, None)

    def project_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [self._project_view(p, basic=True) for p in self.records["project"].values() if show_inactive or not p["IsInactive"]]

    def get_project(self, project_id: int, view: str = "Detailed") -> dict[str, Any]:
        return self._project_view(self._get("project", project_id, "Project"), basic=view.lower() == "basic")

    def _project_view(self, record: dict[str, Any], basic: bool) -> dict[str, Any]:
        if basic:
            keys = ("SystemId", "Nm", "DisplayName", "ProjectCode", "ClientId", "TypeId", "StartDt", "EndDt",
                    "StatusProd", "StatusBill", "IsInactive")
            if self.switches["project_list_dt_modified"]:
                keys += ("DtModified",)
            return {k: record[k] for k in keys}
        out = _public(record)
        pid = record["SystemId"]
        entries = [t for t in self.records["time"].values() if t["ProjectSID"] == pid]
        out["InputHours"] = round(sum(t["Hours_IN"] for t in entries), 2)
        out["InputFees"] = _money(sum(t["ChargeBillable"] for t in entries))
        out["UdfList"] = self.custom_fields(pid, with_project=False)
        return out

    # ---- custom fields ---------------------------------------------------------------------
    def custom_fields(self, project_id: int, with_project: bool = True) -> list[dict[str, Any]]:
        pid = self._get("project", project_id, "Project")["SystemId"]
        values = self.custom_values.get(pid, {})
        rows = []
        for udf in CUSTOM_FIELDS:
            row = {"Sid": udf["Sid"], "Name": udf["Name"], "Value": values.get(udf["Sid"], "")}
            rows.append({"ProjectSid": pid, **row} if with_project else row)
        return rows

    def set_custom_field(self, project_id: int, value: Any, sid: Any = None, name: str | None = None) -> None:
        pid = self._get("project", project_id, "Project")["SystemId"]
        udf = None
        if sid not in (None, ""):
            udf = next((u for u in CUSTOM_FIELDS if u["Sid"] == _as_int(sid, "Sid")), None)
        elif name:
            udf = next((u for u in CUSTOM_FIELDS if u["Name"].lower() == str(name).strip().lower()), None)
        if udf is None:
            raise ValidationError(f"Unknown custom field {sid if sid not in (None, '') else name!r}.")
        self.custom_values.setdefault(pid, {})[udf["Sid"]] = "" if value is None else str(value)
        self._stamp(self.records["project"][pid])

    # ---- project contacts ------------------------------------------------------------------
    def add_project_contact(self, project_id: int, fields: dict[str, Any]) -> int:
        project = self._get("project", project_id, "Project")
        values = normalise(fields, CONTACT_UPDATE)
        if not values.get("FName") and not values.get("SName"):
            raise ValidationError("A contact needs a first or last name (FName, SName).")
        tag = (values.get("Tag") or "OTHER").upper()
        if tag not in CONTACT_TAGS:
            raise ValidationError(f"Invalid Tag '{values.get('Tag')}': use PRIMARY, BILLING or OTHER.")
        values["Tag"] = tag
        sid = self._new_id("contact")
        record = {"SystemId": sid, **{n: ("" if k != _ADDR else {}) for n, k in CONTACT_UPDATE.items()}, **values,
                  "ProjectSid": project["SystemId"], "_project": project["SystemId"]}
        record["Address"] = {f: record["Address"].get(f, "") for f in ADDRESS_FIELDS}
        self._stamp(record, created=True)
        self.records["contact"][sid] = record
        self._link_tag(project, record)
        return sid

    def update_project_contact(self, contact_id: int, fields: dict[str, Any], project_id: int | None = None) -> None:
        record = self._get("contact", contact_id, "Contact")
        if project_id is not None and record["_project"] != int(project_id):
            raise NotFoundError(f"Contact {contact_id} is not a contact of project {project_id}.")
        values = normalise(fields, CONTACT_UPDATE)
        if "Tag" in values:
            values["Tag"] = (values["Tag"] or "OTHER").upper()
            if values["Tag"] not in CONTACT_TAGS:
                raise ValidationError(f"Invalid Tag '{values['Tag']}': use PRIMARY, BILLING or OTHER.")
        if "Address" in values:
            values["Address"] = {**record["Address"], **values["Address"]}
        record.update(values)
        self._stamp(record)
        self._link_tag(self.records["project"][record["_project"]], record)

    def _link_tag(self, project: dict[str, Any], contact: dict[str, Any]) -> None:
        key = {"PRIMARY": "PrimaryContactId", "BILLING": "BillingContactId"}.get(contact["Tag"])
        if key and project[key] != contact["SystemId"]:
            project[key] = contact["SystemId"]
            self._stamp(project)

    def delete_contact(self, contact_id: int) -> None:
        record = self._get("contact", contact_id, "Contact")
        del self.records["contact"][record["SystemId"]]
        project = self.records["project"].get(record["_project"])
        if project:
            for key in ("PrimaryContactId", "BillingContactId"):
                if project[key] == record["SystemId"]:
                    project[key] = None

    def project_contacts(self, project_id: int) -> list[dict[str, Any]]:
        pid = self._get("project", project_id, "Project")["SystemId"]
        return [_public(c) for c in self.records["contact"].values() if c["_project"] == pid]

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return _public(self._get("contact", contact_id, "Contact"))

    # ---- tasks (budget lines) --------------------------------------------------------------
    def add_task(self, project_id: int, fields: dict[str, Any]) -> int:
        project = self._get("project", project_id, "Project")
        values = normalise(fields, TASK_UPDATE)
        if not values.get("TaskNm"):
            raise ValidationError("The task name (TaskNm) is required.")
        sid = self._new_id("task")
        record = {"SystemId": sid, "TaskSid": sid, "ProjectSid": project["SystemId"], "TaskNm": "", "TaskCode": "",
                  "BudgetHours": 0.0, "BudgetFees": 0.0, "BudgetExps": 0.0, "IsInactive": False, "Notes": "", **values}
        self._stamp(record, created=True)
        self.records["task"][sid] = record
        return sid

    def project_tasks(self, project_id: int) -> list[dict[str, Any]]:
        pid = self._get("project", project_id, "Project")["SystemId"]
        return [_public(t) for t in self.records["task"].values() if t["ProjectSid"] == pid]

    # ---- time ------------------------------------------------------------------------------
    def _rate(self, project: dict[str, Any], staff: dict[str, Any]) -> float:
        return project["BillingRate"] or staff["BillRate"]

    def _entry_defaults(self, values: dict[str, Any], staff_id: int | None) -> dict[str, Any]:
        """Over the API the entry is the caller's; called directly (seed, console) it defaults to
        the firm's admin, today."""
        if values.get("StaffSID") is None:
            if staff_id is not None:
                values["StaffSID"] = staff_id
            else:
                values["StaffSID"] = min(self.records["staff"]) if self.records["staff"] else None
                if values.get("Dt") is None:
                    values["Dt"] = _fmt_date(self.today())
        return values

    def log_time(self, fields: dict[str, Any], staff_id: int | None = None) -> int:
        """A time entry. ``staff_id``: the API caller (used when the body names no StaffSID)."""
        values = normalise(fields, TIME_UPDATE)
        values = self._entry_defaults(values, staff_id)
        for key in ("ProjectSID", "StaffSID", "Dt"):
            if values.get(key) is None:
                raise ValidationError(f"{key} is required.")
        project = self.records["project"].get(values["ProjectSID"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSID: there is no project with SystemId {values['ProjectSID']}.")
        staff = self.records["staff"].get(values["StaffSID"])
        if staff is None:
            raise ValidationError(f"Invalid StaffSID: there is no staff member with SystemId {values['StaffSID']}.")
        hours = values.get("Hours_IN")
        if hours is None or hours <= 0 or hours > 24:
            raise ValidationError("Hours_IN must be more than 0 and at most 24.")
        code = next((c for c in LABOR_CODES if c["Id"] == values.get("BudgCatID")), None)
        if values.get("BudgCatID") is not None and code is None:
            raise ValidationError(f"Invalid BudgCatID: {values['BudgCatID']} is not a labor code.")
        task_sid = values.get("TaskSID")
        if task_sid is not None and self.records["task"].get(task_sid, {}).get("ProjectSid") != project["SystemId"]:
            raise ValidationError(f"Invalid TaskSID: task {task_sid} is not a task of project {project['SystemId']}.")
        billable_default = hours if (code is None or code["Billable"]) and project["StatusBill"] != 3 else 0.0
        billable = values.get("HoursBillable", billable_default)
        sid = self._new_id("time")
        record = {
            "SID": sid, "Dt": values["Dt"], "ProjectSID": project["SystemId"], "StaffSID": staff["SystemId"],
            "BudgCatID": values.get("BudgCatID"), "TaskSID": task_sid, "Hours_IN": hours, "HoursBillable": billable,
            "ChargeBillable": _money(billable * self._rate(project, staff)), "CostIN": _money(hours * staff["CostRate"]),
            "Notes": values.get("Notes", ""), "IsSubmitted": values.get("IsSubmitted", False),
            "IsApproved": values.get("IsApproved", False), "IsInvoiced": False, "InvoiceSID": None,
        }
        self._stamp(record, created=True)
        self.records["time"][sid] = record
        self._touch(project)
        return sid

    def _time_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = _public(entry)
        project = self.records["project"].get(entry["ProjectSID"], {})
        staff = self.records["staff"].get(entry["StaffSID"], {})
        task = self.records["task"].get(entry["TaskSID"] or 0, {})
        code = next((c for c in LABOR_CODES if c["Id"] == entry["BudgCatID"]), {})
        out.update({"ProjectNm": project.get("DisplayName", ""), "ClientSID": project.get("ClientId"),
                    "StaffNm": staff.get("FullName", ""), "TaskNm": task.get("TaskNm", ""), "BudgCatNm": code.get("Name", "")})
        return out

    def time_entries(self, staff_id: int | None = None, project_id: int | None = None,
                     start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
        if staff_id is not None:
            self._get("staff", staff_id, "Staff member")
        if project_id is not None:
            self._get("project", project_id, "Project")
        out = []
        for entry in self.records["time"].values():
            day = parse_date(entry["Dt"])
            if staff_id is not None and entry["StaffSID"] != int(staff_id):
                continue
            if project_id is not None and entry["ProjectSID"] != int(project_id):
                continue
            if (start and day < start) or (end and day > end):
                continue
            out.append(self._time_view(entry))
        return sorted(out, key=lambda e: (e["Dt"], e["SID"]))

    def get_time(self, sid: int) -> dict[str, Any]:
        return self._time_view(self._get("time", sid, "Time entry"))

    # ---- expenses --------------------------------------------------------------------------
    def log_expense(self, fields: dict[str, Any], staff_id: int | None = None) -> int:
        values = normalise(fields, EXPENSE_UPDATE)
        values = self._entry_defaults(values, staff_id)
        for key in ("ProjectSID", "StaffSID", "Dt", "CatSID"):
            if values.get(key) is None:
                raise ValidationError(f"{key} is required.")
        project = self.records["project"].get(values["ProjectSID"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSID: there is no project with SystemId {values['ProjectSID']}.")
        if values["StaffSID"] not in self.records["staff"]:
            raise ValidationError(f"Invalid StaffSID: there is no staff member with SystemId {values['StaffSID']}.")
        cat = next((c for c in EXPENSE_CODES if c["Id"] == values["CatSID"]), None)
        if cat is None:
            raise ValidationError(f"Invalid CatSID: {values['CatSID']} is not an expense code.")
        cost = values.get("CostIN")
        if cost is None or cost < 0:
            raise ValidationError("CostIN is required and cannot be negative.")
        task_sid = values.get("TaskSID")
        if task_sid is not None and self.records["task"].get(task_sid, {}).get("ProjectSid") != project["SystemId"]:
            raise ValidationError(f"Invalid TaskSID: task {task_sid} is not a task of project {project['SystemId']}.")
        sid = self._new_id("expense")
        record = {
            "SID": sid, "Dt": values["Dt"], "ProjectSID": project["SystemId"], "StaffSID": values["StaffSID"],
            "CatSID": cat["Id"], "TaskSID": task_sid, "CostIN": _money(cost),
            "CostBill": _money(values.get("CostBill", cost if cat["Billable"] else 0.0)),
            "Nt": values.get("Nt", ""), "IsReimb": values.get("IsReimb", True), "IsInvoiced": False, "InvoiceSID": None,
        }
        self._stamp(record, created=True)
        self.records["expense"][sid] = record
        self._touch(project)
        return sid

    def _expense_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = _public(entry)
        project = self.records["project"].get(entry["ProjectSID"], {})
        cat = next((c for c in EXPENSE_CODES if c["Id"] == entry["CatSID"]), {})
        out.update({"ProjectNm": project.get("DisplayName", ""), "CatNm": cat.get("Name", "")})
        return out

    def expenses(self, start: date | None = None, end: date | None = None,
                 project_ids: Iterable[int] | None = None, staff_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        pids = {int(p) for p in project_ids} if project_ids else None
        sids = {int(s) for s in staff_ids} if staff_ids else None
        out = []
        for entry in self.records["expense"].values():
            day = parse_date(entry["Dt"])
            if (start and day < start) or (end and day > end):
                continue
            if pids is not None and entry["ProjectSID"] not in pids:
                continue
            if sids is not None and entry["StaffSID"] not in sids:
                continue
            out.append(self._expense_view(entry))
        return sorted(out, key=lambda e: (e["Dt"], e["SID"]))

    def get_expense(self, sid: int) -> dict[str, Any]:
        return self._expense_view(self._get("expense", sid, "Expense"))

    # ---- invoices --------------------------------------------------------------------------
    def create_invoice(self, fields: dict[str, Any], tax_rate: float = 0.0) -> int:
        """An invoice for a project.

        Without ``InvoiceAmt`` it bills the project's unbilled time and billable expenses dated up
        to the invoice date (they become ``IsInvoiced``); with ``InvoiceAmt`` it is a fixed-fee
        invoice of that amount. ``Status`` 0 makes a draft (default: posted, i.e. open).
        ``InvoiceAmt`` is the sum of the lines; ``TotalAmt`` adds ``TaxAmt`` (given, or
        ``tax_rate`` × the lines), and payments count against ``TotalAmt``.
        """
        values = normalise(fields, INVOICE_UPDATE)
        if values.get("ProjectSid") is None:
            raise ValidationError("ProjectSid is required.")
        project = self.records["project"].get(values["ProjectSid"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSid: there is no project with SystemId {values['ProjectSid']}.")
        inv_day = parse_date(values.get("InvoiceDt") or self.today())
        status = values.get("Status", INVOICE_OPEN)
        if status not in (INVOICE_DRAFT, INVOICE_OPEN):
            raise ValidationError("Status must be 0 (draft) or 1 (posted).")
        sid = self._new_id("invoice")
        lines: list[dict[str, Any]] = []
        if values.get("InvoiceAmt") is None:
            for entry in self.records["time"].values():
                if entry["ProjectSID"] == project["SystemId"] and entry["InvoiceSID"] is None and entry["ChargeBillable"] > 0 \
                        and parse_date(entry["Dt"]) <= inv_day:
                    entry["IsInvoiced"], entry["InvoiceSID"] = status != INVOICE_DRAFT, sid
                    lines.append({"Type": "Time", "SourceSid": entry["SID"], "TaskSid": entry["TaskSID"], "Amount": entry["ChargeBillable"]})
            for entry in self.records["expense"].values():
                if entry["ProjectSID"] == project["SystemId"] and entry["InvoiceSID"] is None and entry["CostBill"] > 0 \
                        and parse_date(entry["Dt"]) <= inv_day:
                    entry["IsInvoiced"], entry["InvoiceSID"] = status != INVOICE_DRAFT, sid
                    lines.append({"Type": "Expense", "SourceSid": entry["SID"], "TaskSid": entry["TaskSID"], "Amount": entry["CostBill"]})
            amount = _money(sum(line["Amount"] for line in lines))
            if not lines:
                self.next_id["invoice"] -= 1
                raise ValidationError("There is nothing to invoice on this project (no unbilled time or expenses).")
        else:
            amount = _money(values["InvoiceAmt"])
            if amount <= 0:
                raise ValidationError("InvoiceAmt must be more than 0.")
            lines.append({"Type": "Fixed", "SourceSid": None, "TaskSid": None, "Amount": amount})
        tax = _money(values["TaxAmt"]) if values.get("TaxAmt") is not None else _money(amount * tax_rate)
        if tax < 0:
            raise ValidationError("TaxAmt cannot be negative.")
        nbr = values.get("InvoiceNbr") or ""
        if not nbr and status != INVOICE_DRAFT:
            nbr = str(self.next_invoice_nbr)
            self.next_invoice_nbr += 1
        record = {
            "Sid": sid, "ProjectSid": project["SystemId"], "ClientSid": project["ClientId"], "InvoiceNbr": nbr,
            "InvoiceDt": _fmt_date(inv_day),
            "InvoiceDtDue": values.get("InvoiceDtDue") or _fmt_date(inv_day + timedelta(days=30)),
            "InvoiceAmt": amount, "TotalAmt": _money(amount + tax), "PaidAmt": 0.0, "Status": status,
            "StatusTxt": INVOICE_STATUS_TXT[status], "Notes": values.get("Notes", ""), "Lines": lines,
            "_payments": [],
        }
        self._stamp(record, created=True)
        self.records["invoice"][sid] = record
        self._touch(project)
        return sid

    def post_invoice(self, invoice_id: int) -> None:
        record = self._get("invoice", invoice_id, "Invoice")
        if record["Status"] == INVOICE_DRAFT:
            record["Status"], record["StatusTxt"] = INVOICE_OPEN, INVOICE_STATUS_TXT[INVOICE_OPEN]
            if not record["InvoiceNbr"]:
                record["InvoiceNbr"] = str(self.next_invoice_nbr)
                self.next_invoice_nbr += 1
            for kind in ("time", "expense"):
                for entry in self.records[kind].values():
                    if entry["InvoiceSID"] == record["Sid"]:
                        entry["IsInvoiced"] = True
            self._stamp(record)

    def record_payment(self, invoice_id: int, amount: Any, when: Any = None) -> None:
        record = self._get("invoice", invoice_id, "Invoice")
        value = _as_num(amount, "amount")
        if value <= 0:
            raise ValidationError("A payment amount must be more than 0.")
        if record["Status"] == INVOICE_DRAFT:
            raise ValidationError("A draft invoice cannot take a payment; post it first.")
        if record["PaidAmt"] + value > record["TotalAmt"] + 0.005:
            raise ValidationError(f"The payment of {value:.2f} is more than the {record['TotalAmt'] - record['PaidAmt']:.2f} still due.")
        day = parse_date(when) if when else self.today()
        record["_payments"].append({"Dt": _fmt_date(day), "Amt": _money(value)})
        record["PaidAmt"] = _money(record["PaidAmt"] + value)
        record["Status"] = INVOICE_PAID if record["PaidAmt"] >= record["TotalAmt"] - 0.005 else INVOICE_PARTIAL
        record["StatusTxt"] = INVOICE_STATUS_TXT[record["Status"]]
        self._stamp(record)

    def delete_invoice(self, invoice_id: int) -> None:
        record = self._get("invoice", invoice_id, "Invoice")
        for kind in ("time", "expense"):
            for entry in self.records[kind].values():
                if entry["InvoiceSID"] == record["Sid"]:
                    entry["IsInvoiced"], entry["InvoiceSID"] = False, None
        del self.records["invoice"][record["Sid"]]

    def _invoice_view(self, record: dict[str, Any], detail: bool) -> dict[str, Any]:
        out = _public(record)
        project = self.records["project"].get(record["ProjectSid"], {})
        out["ProjectNm"] = project.get("DisplayName", "")
        out["ClientNm"] = self.records["client"].get(record["ClientSid"] or 0, {}).get("Nm", "")
        if self.switches["invoice_amount_is_total"]:
            out["InvoiceAmt"] = out["TotalAmt"]
        if not detail:
            out.pop("Lines", None)
        return out

    def invoice_history(self, start: date, end: date) -> list[dict[str, Any]]:
        out = [self._invoice_view(r, detail=False) for r in self.records["invoice"].values()
               if r["Status"] != INVOICE_DRAFT and start <= parse_date(r["InvoiceDt"]) <= end]
        return sorted(out, key=lambda r: (r["InvoiceDt"], r["Sid"]))

    def invoice_drafts(self) -> list[dict[str, Any]]:
        return [self._invoice_view(r, detail=False) for r in self.records["invoice"].values() if r["Status"] == INVOICE_DRAFT]

    def get_invoice(self, invoice_id: int) -> dict[str, Any]:
        return self._invoice_view(self._get("invoice", invoice_id, "Invoice"), detail=True)

    # ---- budget status ---------------------------------------------------------------------
    def budget_status(self, project_id: int) -> list[dict[str, Any]]:
        """Per-task totals under the names checked live (``EstTotal`` = fee + expense budget,
        ``InvoicedToDate``, ``WipTotal``, ``HrsIn``, ``ChargeIn``, ``FeeCostIn``, ``ExpCostIn``);
        the client libraries' names and the task budget too under the switch ``budget_row_aliases``.

        One row per task of the project, plus a project-level row (TaskSid 0) when some time,
        expenses or fixed-fee invoices belong to no task — so the rows always add up to the project.
        """
        project = self._get("project", project_id, "Project")
        pid = project["SystemId"]
        tasks = [t for t in self.records["task"].values() if t["ProjectSid"] == pid]
        rows: dict[int, dict[str, Any]] = {}

        def row(task_sid: int) -> dict[str, Any]:
            if task_sid not in rows:
                task = self.records["task"].get(task_sid) if task_sid else None
                rows[task_sid] = {
                    "TaskSid": task_sid, "TaskNm": task["TaskNm"] if task else "(Project level)", "ProjectSid": pid,
                    "BudgetHours": task["BudgetHours"] if task else 0.0, "BudgetFees": task["BudgetFees"] if task else 0.0,
                    "BudgetExps": task["BudgetExps"] if task else 0.0,
                    "_hin": 0.0, "_hbill": 0.0, "_fees": 0.0, "_cost": 0.0, "_exp_in": 0.0, "_exp_bill": 0.0,
                    "_wip": 0.0, "_invoiced": 0.0,
                }
            return rows[task_sid]

        for task in tasks:
            row(task["SystemId"])
        posted = {i["Sid"] for i in self.records["invoice"].values() if i["ProjectSid"] == pid and i["Status"] != INVOICE_DRAFT}
        for entry in self.records["time"].values():
            if entry["ProjectSID"] != pid:
                continue
            r = row(entry["TaskSID"] or 0)
            r["_hin"] += entry["Hours_IN"]
            r["_hbill"] += entry["HoursBillable"]
            r["_fees"] += entry["ChargeBillable"]
            r["_cost"] += entry["CostIN"]
            if entry["InvoiceSID"] in posted:
                r["_invoiced"] += entry["ChargeBillable"]
            else:  # unbilled, or only on a draft: still work in progress
                r["_wip"] += entry["ChargeBillable"]
        for entry in self.records["expense"].values():
            if entry["ProjectSID"] != pid:
                continue
            r = row(entry["TaskSID"] or 0)
            r["_exp_in"] += entry["CostIN"]
            r["_exp_bill"] += entry["CostBill"]
            if entry["InvoiceSID"] in posted:
                r["_invoiced"] += entry["CostBill"]
            else:
                r["_wip"] += entry["CostBill"]
        for inv in self.records["invoice"].values():
            if inv["Sid"] in posted:
                for line in inv["Lines"]:
                    if line["Type"] == "Fixed":
                        row(0)["_invoiced"] += line["Amount"]

        out = []
        for task_sid in sorted(rows, key=lambda s: (s == 0, s)):
            r = rows[task_sid]
            hin, hbill, fees, cost = round(r["_hin"], 2), round(r["_hbill"], 2), _money(r["_fees"]), _money(r["_cost"])
            exp_in, exp_bill, wip, invoiced = _money(r["_exp_in"]), _money(r["_exp_bill"]), _money(r["_wip"]), _money(r["_invoiced"])
            public = {"TaskSid": r["TaskSid"], "TaskNm": r["TaskNm"],
                      # the names two scripts checked against the live API
                      "EstTotal": _money(r["BudgetFees"] + r["BudgetExps"]), "InvoicedToDate": invoiced, "FeeCostIn": cost,
                      "ExpCostIn": exp_in, "WipTotal": wip, "HrsIn": hin, "ChargeIn": fees}
            if self.switches["budget_row_aliases"]:
                public.update({"ProjectSid": pid, "BudgetHours": r["BudgetHours"], "BudgetFees": r["BudgetFees"],
                               "BudgetExps": r["BudgetExps"],
                               # the names of two client libraries
                               "HoursInput": hin, "HoursBill": hbill, "FeesInput": fees, "FeesCost": cost,
                               "ExpensesInput": exp_in, "ExpensesBillable": exp_bill, "TotalWip": wip})
            out.append(public)
        return out

    def project_totals(self, project_id: int) -> dict[str, Any]:
        """Project-level figures under the names of their sources: the project's ``BudgetHours`` and
        ``BudgetFees``, its tasks' ``BudgetExps``, the budget-status sums (``HrsIn``, ``ChargeIn``,
        ``ExpCostIn``, ``WipTotal``, ``InvoicedToDate``, ``EstTotal``) and its posted invoices'
        ``TotalAmt`` and ``PaidAmt``. Whatever the switches say (they change views, not figures)."""
        project = self._get("project", project_id, "Project")
        pid = project["SystemId"]
        rows = self.budget_status(project_id)
        invoices = [i for i in self.records["invoice"].values() if i["ProjectSid"] == pid and i["Status"] != INVOICE_DRAFT]
        return {
            "BudgetHours": project["BudgetHours"], "BudgetFees": project["BudgetFees"],
            "BudgetExps": _money(sum(t["BudgetExps"] for t in self.records["task"].values() if t["ProjectSid"] == pid)),
            "HrsIn": round(sum(r["HrsIn"] for r in rows), 2), "ChargeIn": _money(sum(r["ChargeIn"] for r in rows)),
            "ExpCostIn": _money(sum(r["ExpCostIn"] for r in rows)), "WipTotal": _money(sum(r["WipTotal"] for r in rows)),
            "InvoicedToDate": _money(sum(r["InvoicedToDate"] for r in rows)), "EstTotal": _money(sum(r["EstTotal"] for r in rows)),
            "TotalAmt": _money(sum(i["TotalAmt"] for i in invoices)), "PaidAmt": _money(sum(i["PaidAmt"] for i in invoices)),
        }

    # ---- picklists -------------------------------------------------------------------------
    def picklist(self, name: str) -> list[dict[str, Any]]:
        key = name.lower()
        if key == "projects":
            return [{"Id": p["SystemId"], "Name": p["DisplayName"], "Group": "Inactive" if p["IsInactive"] else "Active"}
                    for p in self.records["project"].values()]
        if key == "clients":
            return [{"Id": c["SystemId"], "Name": c["Nm"], "Group": "Inactive" if c["IsInactive"] else "Active"}
                    for c in self.records["client"].values()]
        if key == "staff":
            return [{"Id": s["SystemId"], "Name": s["FullName"], "Group": "Inactive" if s["IsInactive"] else "Active"}
                    for s in self.records["staff"].values()]
        if key in ("laborcodes", "laborcode"):
            return [{"Id": c["Id"], "Name": c["Name"]} for c in LABOR_CODES]
        if key in ("expensecodes", "expensecode", "expensecategories"):
            return [{"Id": c["Id"], "Name": c["Name"], "Group": c["Group"]} for c in EXPENSE_CODES]
        if key in ("projecttypes", "projecttype"):
            return copy.deepcopy(PROJECT_TYPES)
        raise NotFoundError(f"There is no picklist named '{name}'.")

    def field_values(self, field: str) -> list[dict[str, Any]]:
        key = field.lower()
        table = {
            "statusproduction": STATUS_PRODUCTION, "statusprod": STATUS_PRODUCTION,
            "statusbilling": STATUS_BILLING, "statusbill": STATUS_BILLING,
            "projecttype": PROJECT_TYPES, "projecttypes": PROJECT_TYPES, "typeid": PROJECT_TYPES,
            "budgetstyle": [{"Id": k, "Name": v} for k, v in BUDGET_STYLES.items()],
            "contacttag": [{"Id": t, "Name": t.title()} for t in CONTACT_TAGS],
        }
        if key in table:
            return copy.deepcopy(table[key])
        if key in ("laborcodes", "laborcode", "expensecodes", "expensecode"):
            return self.picklist(key)
        raise ValidationError(f"'{field}' is not a field with a list of values.")

    # ---- OAuth and sessions ----------------------------------------------------------------
    def _expiry(self, seconds: float) -> str:
        return (self.now() + timedelta(seconds=seconds)).isoformat()

    def _expired(self, stamp: str) -> bool:
        return datetime.fromisoformat(stamp) <= self.now()

    def new_login_txn(self, client_id: str, redirect_uri: str, state: str | None, challenge: str | None, method: str | None) -> str:
        self._purge()
        txn = secrets.token_urlsafe(18)
        self.oauth_txns[txn] = {"client_id": client_id, "redirect_uri": redirect_uri, "state": state, "staff_id": None,
                                "code_challenge": challenge, "code_challenge_method": method,
                                "expires": self._expiry(LOGIN_TXN_TTL_SECONDS)}
        return txn

    def login_txn(self, txn: str) -> dict[str, Any] | None:
        info = self.oauth_txns.get(txn or "")
        if info is None or self._expired(info["expires"]):
            return None
        return info

    def issue_code(self, txn: str) -> str:
        info = self.oauth_txns.pop(txn)
        code = secrets.token_urlsafe(24)
        self.oauth_codes[code] = {"client_id": info["client_id"], "redirect_uri": info["redirect_uri"],
                                  "staff_id": info["staff_id"], "code_challenge": info["code_challenge"],
                                  "code_challenge_method": info["code_challenge_method"],
                                  "expires": self._expiry(CODE_TTL_SECONDS), "used": False}
        return code

    def take_code(self, code: str) -> dict[str, Any] | None:
        """The code's grant, once: a used or expired code is gone (and the tokens it gave die too)."""
        info = self.oauth_codes.get(code or "")
        if info is None:
            return None
        if info["used"]:
            for token in info.get("issued", []):  # replay of a used code: revoke what it gave (RFC 6749 §4.1.2)
                if token in self.access_tokens:
                    self.access_tokens[token]["revoked"] = True
                if token in self.refresh_tokens:
                    self.refresh_tokens[token]["revoked"] = True
            return None
        if self._expired(info["expires"]):
            return None
        info["used"] = True
        return info

    def issue_tokens(self, staff_id: int, client_id: str) -> dict[str, Any]:
        ttl = int(self.settings.get("access_token_ttl_seconds") or ACCESS_TOKEN_TTL_SECONDS)
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self.access_tokens[access] = {"staff_id": staff_id, "client_id": client_id, "expires": self._expiry(ttl), "revoked": False}
        self.refresh_tokens[refresh] = {"staff_id": staff_id, "client_id": client_id, "revoked": False}
        return {"access_token": access, "refresh_token": refresh, "expires_in": ttl}

    def rotate_refresh(self, refresh: str, client_id: str) -> dict[str, Any] | None:
        info = self.refresh_tokens.get(refresh or "")
        if info is None or info["revoked"] or info["client_id"] != client_id:
            return None
        if info["staff_id"] not in self.records["staff"] or self.records["staff"][info["staff_id"]]["IsInactive"]:
            return None
        info["revoked"] = True  # rotation: the old refresh token dies
        return self.issue_tokens(info["staff_id"], client_id)

    def new_session(self, staff_id: int) -> str:
        token = secrets.token_urlsafe(32)
        ttl = int(self.settings.get("session_ttl_seconds") or SESSION_TTL_SECONDS)
        self.session_tokens[token] = {"staff_id": staff_id, "expires": self._expiry(ttl), "revoked": False}
        return token

    def check_access_token(self, token: str) -> int | None:
        info = self.access_tokens.get(token or "")
        if info is None or info["revoked"] or self._expired(info["expires"]):
            return None
        return info["staff_id"]

    def check_session_token(self, token: str) -> int | None:
        info = self.session_tokens.get(token or "")
        if info is None or info["revoked"] or self._expired(info["expires"]):
            return None
        return info["staff_id"]

    def check_api_key(self, key: str) -> int | None:
        """The firm's API key acts as the firm's first staff member (the admin)."""
        if self.settings.get("api_key_revoked") or not key or key != self.settings.get("api_key"):
            return None
        return min(self.records["staff"]) if self.records["staff"] else None

    def expire_tokens(self, kind: str = "all", token: str | None = None) -> int:
        past = (self.now() - timedelta(seconds=1)).isoformat()
        count = 0
        stores = {"access": self.access_tokens, "session": self.session_tokens, "code": self.oauth_codes}
        for name, store in stores.items():
            if kind not in ("all", name):
                continue
            for key, info in store.items():
                if token is None or key == token:
                    info["expires"] = past
                    count += 1
        return count

    def revoke_tokens(self, kind: str = "all", token: str | None = None) -> int:
        count = 0
        stores = {"access": self.access_tokens, "refresh": self.refresh_tokens, "session": self.session_tokens}
        for name, store in stores.items():
            if kind not in ("all", name):
                continue
            for key, info in store.items():
                if token is None or key == token:
                    info["revoked"] = True
                    count += 1
        if kind in ("all", "api_key") and token is None:
            self.settings["api_key_revoked"] = True
            count += 1
        return count

    def _purge(self) -> None:
        self.oauth_txns = {k: v for k, v in self.oauth_txns.items() if not self._expired(v["expires"])}
        self.oauth_codes = {k: v for k, v in self.oauth_codes.items()
                            if not (self._expired(v["expires"]) and datetime.fromisoformat(v["expires"]) < self.now() - timedelta(days=1))}

    # ---- generic access for the admin API ----------------------------------------------------
    def list_kind(self, kind: str) -> list[dict[str, Any]]:
        if kind == "project":
            return self.project_list(show_inactive=True)
        if kind == "client":
            return [self.get_client(i) for i in self.records["client"]]
        if kind == "staff":
            return [{**self.get_staff(i), "permissions": self.permissions(i), "login": self.records["staff"][i]["_login"]}
                    for i in self.records["staff"]]
        if kind == "contact":
            return [self.get_contact(i) for i in self.records["contact"]]
        if kind == "time":
            return self.time_entries()
        if kind == "expense":
            return self.expenses()
        if kind == "invoice":
            return [self.get_invoice(i) for i in self.records["invoice"]]
        if kind == "task":
            return [_public(t) for t in self.records["task"].values()]
        raise NotFoundError(f"Unknown record kind '{kind}'.")

    def get_kind(self, kind: str, record_id: int) -> dict[str, Any]:
        getters = {"project": self.get_project, "client": self.get_client, "contact": self.get_contact,
                   "time": self.get_time, "expense": self.get_expense, "invoice": self.get_invoice,
                   "task": lambda i: _public(self._get("task", i, "Task"))}
        if kind == "staff":
            return {**self.get_staff(record_id), "permissions": self.permissions(record_id),
                    "login": self.records["staff"][int(record_id)]["_login"]}
        if kind not in getters:
            raise NotFoundError(f"Unknown record kind '{kind}'.")
        return getters[kind](record_id)

    def create_kind(self, kind: str, fields: dict[str, Any]) -> int:
        if kind == "project":
            pid = self.create_project(fields)
            tasks = _pick(fields, "Tasks")
            for task in tasks or []:
                self.add_task(pid, task)
            return pid
        if kind == "client":
            return self.create_client(fields)
        if kind == "staff":
            sid = self.add_staff(fields)
            if isinstance(fields.get("permissions"), dict):
                self.set_permissions(sid, fields["permissions"])
            return sid
        if kind == "contact":
            project = _pick(fields, "ProjectSid", "project_id", "ProjectId")
            if project is None:
                raise ValidationError("ProjectSid is required to add a project contact.")
            return self.add_project_contact(_as_int(project, "ProjectSid") or 0, fields)
        if kind == "task":
            project = _pick(fields, "ProjectSid", "project_id")
            return self.add_task(_as_int(project, "ProjectSid") or 0, fields)
        if kind == "time":
            return self.log_time(fields)
        if kind == "expense":
            return self.log_expense(fields)
        if kind == "invoice":
            return self.create_invoice(fields)
        raise NotFoundError(f"Unknown record kind '{kind}'.")

    def update_kind(self, kind: str, record_id: int, fields: dict[str, Any]) -> None:
        """Admin updates: the Update view fields, plus a few admin-only ones."""
        if kind == "project":
            self.update_project(record_id, fields)
            for udf in _pick(fields, "UdfList") or []:
                if isinstance(udf, dict):
                    self.set_custom_field(record_id, _pick(udf, "Value"), sid=_pick(udf, "Sid"), name=_pick(udf, "Name"))
        elif kind == "client":
            self.update_client(record_id, fields)
        elif kind == "staff":
            self.update_staff(record_id, fields)
        elif kind == "contact":
            self.update_project_contact(record_id, fields)
        elif kind in ("time", "expense"):
            record = self._get(kind, record_id, "Time entry" if kind == "time" else "Expense")
            allowed = TIME_UPDATE if kind == "time" else EXPENSE_UPDATE
            values = normalise(fields, {k: v for k, v in allowed.items() if k not in ("ProjectSID", "StaffSID")})
            record.update(values)
            if kind == "time":
                project = self.records["project"][record["ProjectSID"]]
                staff = self.records["staff"][record["StaffSID"]]
                record["ChargeBillable"] = _money(record["HoursBillable"] * self._rate(project, staff))
                record["CostIN"] = _money(record["Hours_IN"] * staff["CostRate"])
            self._stamp(record)
        elif kind == "invoice":
            record = self._get("invoice", record_id, "Invoice")
            if _pick(fields, "Status") in (1, "1", "posted") and record["Status"] == INVOICE_DRAFT:
                self.post_invoice(record_id)
            values = normalise(fields, {k: v for k, v in INVOICE_UPDATE.items() if k in ("InvoiceNbr", "InvoiceDt", "InvoiceDtDue", "Notes")})
            record.update(values)
            self._stamp(record)
        else:
            raise NotFoundError(f"Unknown record kind '{kind}'.")

    def delete_kind(self, kind: str, record_id: int) -> None:
        if kind == "project":
            self.delete_project(record_id)
        elif kind == "contact":
            self.delete_contact(record_id)
        elif kind == "invoice":
            self.delete_invoice(record_id)
        elif kind in ("time", "expense", "client", "staff", "task"):
            label = {"time": "Time entry", "expense": "Expense", "client": "Client", "staff": "Staff member", "task": "Task"}[kind]
            record = self._get(kind, record_id, label)
            rid = int(record_id)
            if kind == "client" and any(p["ClientId"] == rid for p in self.records["project"].values()):
                raise ValidationError("This client has projects and cannot be deleted.")
            if kind in ("time", "expense") and record.get("InvoiceSID"):
                raise ValidationError("This entry is on an invoice and cannot be deleted.")
            del self.records[kind][rid]
        else:
            raise NotFoundError(f"Unknown record kind '{kind}'.")
