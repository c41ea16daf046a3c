"""BigTime's data as the emulator keeps it: the firm, its people, clients, projects, time, money.

Records are stored in the API's own shape (PascalCase field names, numeric ``SystemId``s); keys
starting with ``_`` are internal (passwords, rights, payments) and never leave the emulator.
Input field names are matched case-insensitively and only an object's "Update view" fields are
taken on create/update — everything else is ignored, as BigTime documents.

Every derived figure (project input hours/fees, budget status per task, WIP, invoiced and paid to
date) is computed from the time entries, expenses and invoices, so the numbers always agree.

:class:`BigTimeData` holds the state, its persistence, permissions and the admin API's generic
access; what it does with the state comes from three mixins: :mod:`.records` (staff, clients,
projects, contacts, tasks, picklists), :mod:`.ledger` (time, expenses, invoices, payments, budget
figures) and :mod:`.auth_store` (codes, tokens, sessions, the API key). Choices for what
``docs/reference/bigtime.md`` leaves unknown are kept in :mod:`.schema`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .. import credentials as cred
from ..switches import Switches
from .auth_store import AuthStoreMixin
from .ledger import LedgerMixin
from .records import RecordsMixin
from .schema import (
    ACCESS_TOKEN_TTL_SECONDS,
    EXPENSE_CODES,
    EXPENSE_UPDATE,
    ID_BASE,
    INVOICE_DRAFT,
    INVOICE_OPEN,
    INVOICE_UPDATE,
    KINDS,
    PERMISSIONS,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW_SECONDS,
    SESSION_TTL_SECONDS,
    TIME_UPDATE,
    BigTimeError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    as_bool,
    as_int,
    fmt_stamp,
    money,
    normalise,
    parse_date,
    pick,
    public,
)
from .switches import BIGTIME_SWITCHES


class BigTimeData(RecordsMixin, LedgerMixin, AuthStoreMixin):
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
        now = fmt_stamp(self.now())
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
            rights[name] = as_bool(value, name)
        return self.permissions(staff_id)

    def require(self, staff_id: int | None, permission: str) -> None:
        if staff_id is None:
            return
        if not self.permissions(staff_id)[permission]:
            raise PermissionDenied(PERMISSIONS[permission])

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
            return [public(t) for t in self.records["task"].values()]
        raise NotFoundError(f"Unknown record kind '{kind}'.")

    def get_kind(self, kind: str, record_id: int) -> dict[str, Any]:
        getters = {"project": self.get_project, "client": self.get_client, "contact": self.get_contact,
                   "time": self.get_time, "expense": self.get_expense, "invoice": self.get_invoice,
                   "task": lambda i: public(self._get("task", i, "Task"))}
        if kind == "staff":
            return {**self.get_staff(record_id), "permissions": self.permissions(record_id),
                    "login": self.records["staff"][int(record_id)]["_login"]}
        if kind not in getters:
            raise NotFoundError(f"Unknown record kind '{kind}'.")
        return getters[kind](record_id)

    def create_kind(self, kind: str, fields: dict[str, Any]) -> int:
        if kind == "project":
            pid = self.create_project(fields)
            tasks = pick(fields, "Tasks")
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
            project = pick(fields, "ProjectSid", "project_id", "ProjectId")
            if project is None:
                raise ValidationError("ProjectSid is required to add a project contact.")
            return self.add_project_contact(as_int(project, "ProjectSid") or 0, fields)
        if kind == "task":
            project = pick(fields, "ProjectSid", "project_id")
            return self.add_task(as_int(project, "ProjectSid") or 0, fields)
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
            for udf in pick(fields, "UdfList") or []:
                if isinstance(udf, dict):
                    self.set_custom_field(record_id, pick(udf, "Value"), sid=pick(udf, "Sid"), name=pick(udf, "Name"))
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
                record["ChargeBillable"] = money(record["HoursBillable"] * self._rate(project, staff))
                record["CostIN"] = money(record["Hours_IN"] * staff["CostRate"])
            self._stamp(record)
        elif kind == "invoice":
            record = self._get("invoice", record_id, "Invoice")
            if pick(fields, "Status") in (1, "1", "posted") and record["Status"] == INVOICE_DRAFT:
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


# Imported from here by the app, the seed, the console and the tests.
__all__ = ["EXPENSE_CODES", "INVOICE_OPEN", "PERMISSIONS", "RATE_LIMIT_WINDOW_SECONDS", "BigTimeData", "BigTimeError",
           "NotFoundError", "PermissionDenied", "ValidationError", "parse_date"]
