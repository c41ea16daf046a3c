"""What the BigTime emulator's objects are: the choices for BigTime's unknowns, ids, picklists, the
"Update view" fields each object takes, the API's errors and input coercion (shared by
:mod:`.records`, :mod:`.ledger`, :mod:`.auth_store` and :mod:`.data`)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from typing import Any

# ---- choices for the unknowns (one place) ---------------------------------------------------
ACCESS_TOKEN_TTL_SECONDS = 264960  # BigTime's example expires_in (≈ 3 days)
# help/Session: "7 days" on the current page, 24 hours in older copies: the shorter written one (the
# setting ``session_ttl_seconds`` plays the 7 days).
SESSION_TTL_SECONDS = 24 * 3600
RATE_LIMIT_REQUESTS = 30  # per firm, in any rolling window of RATE_LIMIT_WINDOW_SECONDS
RATE_LIMIT_WINDOW_SECONDS = 60.0
CODE_TTL_SECONDS = 600  # authorization codes: 10 minutes, single use
LOGIN_TXN_TTL_SECONDS = 900  # the login → consent transaction carried in a hidden field

# Invoice status codes (BigTime's numbering is not documented).
INVOICE_DRAFT, INVOICE_OPEN, INVOICE_PARTIAL, INVOICE_PAID = 0, 1, 2, 3
INVOICE_STATUS_TXT = {
    INVOICE_DRAFT: "Draft",
    INVOICE_OPEN: "Open",
    INVOICE_PARTIAL: "Partially Paid",
    INVOICE_PAID: "Paid",
}

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
ID_BASE = {
    "staff": 11,
    "client": 201,
    "project": 1001,
    "contact": 5001,
    "task": 7001,
    "time": 100001,
    "expense": 300001,
    "invoice": 9001,
}
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
STR, TEXT, INT, NUM, BOOL, DATE, ADDR = "str", "text", "int", "num", "bool", "date", "addr"

PROJECT_UPDATE = {
    "Nm": STR,
    "ProjectCode": STR,
    "ClientId": INT,
    "TypeId": INT,
    "StartDt": DATE,
    "EndDt": DATE,
    "Notes": TEXT,
    "StatusProd": INT,
    "StatusBill": INT,
    "IsInactive": BOOL,
    "BudgetHours": NUM,
    "BudgetFees": NUM,
    "BudgetStyle": INT,
    "BasicRate": NUM,
    "BillingRate": NUM,
    "PrimaryContactId": INT,
    "BillingContactId": INT,
}
CLIENT_UPDATE = {
    "Nm": STR,
    "ClientId": STR,
    "Address": STR,
    "City": STR,
    "State": STR,
    "Zip": STR,
    "Country": STR,
    "MainPH": STR,
    "MainFX": STR,
    "Notes": TEXT,
    "IsInactive": BOOL,
    "BillAddress": STR,
    "BillCity": STR,
    "BillState": STR,
    "BillZip": STR,
    "BillCountry": STR,
    "WebSite": STR,
}
CONTACT_UPDATE = {
    "Tag": STR,
    "FName": STR,
    "SName": STR,
    "Title": STR,
    "EMail": STR,
    "Phone": STR,
    "MobilePH": STR,
    "OtherPH": STR,
    "Address": ADDR,
    "Notes": TEXT,
}
STAFF_UPDATE = {
    "FName": STR,
    "SName": STR,
    "Title": STR,
    "EMail": STR,
    "Phone": STR,
    "IsInactive": BOOL,
    "BillRate": NUM,
    "CostRate": NUM,
    "HireDt": DATE,
}
TASK_UPDATE = {
    "TaskNm": STR,
    "TaskCode": STR,
    "BudgetHours": NUM,
    "BudgetFees": NUM,
    "BudgetExps": NUM,
    "IsInactive": BOOL,
    "Notes": TEXT,
}
TIME_UPDATE = {
    "Dt": DATE,
    "ProjectSID": INT,
    "StaffSID": INT,
    "BudgCatID": INT,
    "TaskSID": INT,
    "Hours_IN": NUM,
    "HoursBillable": NUM,
    "Notes": TEXT,
    "IsSubmitted": BOOL,
    "IsApproved": BOOL,
}
EXPENSE_UPDATE = {
    "Dt": DATE,
    "ProjectSID": INT,
    "StaffSID": INT,
    "CatSID": INT,
    "TaskSID": INT,
    "CostIN": NUM,
    "CostBill": NUM,
    "Nt": TEXT,
    "IsReimb": BOOL,
}
INVOICE_UPDATE = {
    "ProjectSid": INT,
    "InvoiceNbr": STR,
    "InvoiceDt": DATE,
    "InvoiceDtDue": DATE,
    "InvoiceAmt": NUM,
    "Status": INT,
    "Notes": TEXT,
    "TaxAmt": NUM,
}
# BigTime's help, "BigTime Character Limits": Project ID 30, Project Name 500, Project Notes 8000,
# Custom Field (string) 1000, Client ID 15, Client Name 50, Client Notes 500, Task Name 750, Task Notes
# 2500, staff First Name 25, Last Name 25, Title 100, timesheet Notes 1000. What the API does with a
# longer value is not documented: refused here (400) unless the switch ``limit_overflow`` says otherwise
# (``ProjectCode``'s limit is the switch ``project_code_max``). Held in :mod:`.limits`.
CHARACTER_LIMITS = {
    "project": {"ProjectCode": 30, "Nm": 500, "Notes": 8000},
    "client": {"ClientId": 15, "Nm": 50, "Notes": 500},
    "custom": {"Value": 1000},
    "task": {"TaskNm": 750, "Notes": 2500},
    "staff": {"FName": 25, "SName": 25, "Title": 100},
    "time": {"Notes": 1000},
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
def fmt_date(d: date) -> str:
    return d.strftime("%Y-%m-%dT00:00:00")


def fmt_stamp(dt: datetime) -> str:
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


def as_bool(value: Any, field: str) -> bool:
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


def as_num(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise ValidationError(f"The value '{value}' is not valid for {field}.")
    try:
        return round(float(value), 4)
    except (TypeError, ValueError):
        raise ValidationError(f"The value '{value}' is not valid for {field}.") from None


def as_int(value: Any, field: str) -> int | None:
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
        if kind in (STR, TEXT):
            out[name] = "" if value is None else str(value).strip() if kind == STR else str(value)
        elif kind == INT:
            out[name] = as_int(value, name)
        elif kind == NUM:
            out[name] = 0.0 if value in (None, "") else as_num(value, name)
        elif kind == BOOL:
            out[name] = as_bool(value, name)
        elif kind == DATE:
            out[name] = None if value in (None, "") else fmt_date(parse_date(value, name))
        elif kind == ADDR:
            if value is None:
                value = {}
            if isinstance(value, str):
                value = {"Address": value}
            if not isinstance(value, dict):
                raise ValidationError(f"The value for {name} must be an object with {', '.join(ADDRESS_FIELDS)}.")
            sub = {f.lower(): f for f in ADDRESS_FIELDS}
            out[name] = {sub[k.lower()]: ("" if v is None else str(v)) for k, v in value.items() if k.lower() in sub}
    return out


def pick(fields: dict[str, Any] | None, *names: str) -> Any:
    """A value from input by any of ``names``, case-insensitively."""
    if not fields:
        return None
    lowered = {str(k).lower(): v for k, v in fields.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def money(x: float) -> float:
    return round(x + 0.0, 2)
