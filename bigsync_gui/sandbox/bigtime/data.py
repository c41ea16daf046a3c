"""BigTime's data as the emulator keeps it: the firm, its people, clients, projects, time, money.

Records are stored in the API's own shape (PascalCase field names, numeric ``SystemId``s); keys
starting with ``_`` are internal (passwords, rights, payments) and never leave the emulator.
Input field names are matched case-insensitively and only an object's "Update view" fields are
taken on create/update — everything else is ignored, as BigTime documents.

Every derived figure (project input hours/fees, budget status per task, WIP, invoiced and paid to
date) is computed from the time entries, expenses and invoices, so the numbers always agree.

:class:`BigTimeData` is the firm's store (:mod:`.store`: the state, its persistence, ids,
stamps, rights) with three parts given that store: ``directory`` (:mod:`.records`: staff, clients,
projects, contacts, tasks, picklists), ``ledger`` (:mod:`.ledger`: time, expenses, invoices,
payments, budget figures) and ``auth`` (:mod:`.auth_store`: codes, tokens, sessions, the API key);
here too the admin API's generic access by kind. Choices for what ``docs/reference/bigtime.md``
leaves unknown are kept in :mod:`.schema`.
"""

from __future__ import annotations

from typing import Any

from .auth_store import AuthStore
from .ledger import Ledger
from .records import Directory
from .schema import (
    EXPENSE_CODES,
    EXPENSE_UPDATE,
    INVOICE_DRAFT,
    INVOICE_OPEN,
    INVOICE_UPDATE,
    PERMISSIONS,
    RATE_LIMIT_WINDOW_SECONDS,
    TIME_UPDATE,
    BigTimeError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    as_int,
    money,
    normalise,
    parse_date,
    pick,
    public,
)
from .store import FirmStore


class BigTimeData(FirmStore):
    """The emulated BigTime firm: its store, and what is done with it by the directory (staff,
    clients, projects, contacts, tasks, picklists), the ledger (time, expenses, invoices, budget
    figures) and the credentials (codes, tokens, sessions, the API key)."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.directory = Directory(self)
        self.ledger = Ledger(self)
        self.auth = AuthStore(self)

    # ---- generic access for the admin API ----------------------------------------------------
    def list_kind(self, kind: str) -> list[dict[str, Any]]:
        if kind == "project":
            return self.directory.project_list(show_inactive=True)
        if kind == "client":
            return [self.directory.get_client(i) for i in self.records["client"]]
        if kind == "staff":
            return [
                {
                    **self.directory.get_staff(i),
                    "permissions": self.permissions(i),
                    "login": self.records["staff"][i]["_login"],
                }
                for i in self.records["staff"]
            ]
        if kind == "contact":
            return [self.directory.get_contact(i) for i in self.records["contact"]]
        if kind == "time":
            return self.ledger.time_entries()
        if kind == "expense":
            return self.ledger.expenses()
        if kind == "invoice":
            return [self.ledger.get_invoice(i) for i in self.records["invoice"]]
        if kind == "task":
            return [public(t) for t in self.records["task"].values()]
        raise NotFoundError(f"Unknown record kind '{kind}'.")

    def get_kind(self, kind: str, record_id: int) -> dict[str, Any]:
        getters = {
            "project": self.directory.get_project,
            "client": self.directory.get_client,
            "contact": self.directory.get_contact,
            "time": self.ledger.get_time,
            "expense": self.ledger.get_expense,
            "invoice": self.ledger.get_invoice,
            "task": lambda i: public(self.get("task", i, "Task")),
        }
        if kind == "staff":
            return {
                **self.directory.get_staff(record_id),
                "permissions": self.permissions(record_id),
                "login": self.records["staff"][int(record_id)]["_login"],
            }
        if kind not in getters:
            raise NotFoundError(f"Unknown record kind '{kind}'.")
        return getters[kind](record_id)

    def create_kind(self, kind: str, fields: dict[str, Any]) -> int:
        if kind == "project":
            pid = self.directory.create_project(fields)
            tasks = pick(fields, "Tasks")
            for task in tasks or []:
                self.directory.add_task(pid, task)
            return pid
        if kind == "client":
            return self.directory.create_client(fields)
        if kind == "staff":
            sid = self.directory.add_staff(fields)
            if isinstance(fields.get("permissions"), dict):
                self.set_permissions(sid, fields["permissions"])
            return sid
        if kind == "contact":
            project = pick(fields, "ProjectSid", "project_id", "ProjectId")
            if project is None:
                raise ValidationError("ProjectSid is required to add a project contact.")
            return self.directory.add_project_contact(as_int(project, "ProjectSid") or 0, fields)
        if kind == "task":
            project = pick(fields, "ProjectSid", "project_id")
            return self.directory.add_task(as_int(project, "ProjectSid") or 0, fields)
        if kind == "time":
            return self.ledger.log_time(fields)
        if kind == "expense":
            return self.ledger.log_expense(fields)
        if kind == "invoice":
            return self.ledger.create_invoice(fields)
        raise NotFoundError(f"Unknown record kind '{kind}'.")

    def update_kind(self, kind: str, record_id: int, fields: dict[str, Any]) -> int:
        """Admin updates: the Update view fields, plus a few admin-only ones. The record's id after."""
        if kind == "project":
            self.directory.update_project(record_id, fields)
            for udf in pick(fields, "UdfList") or []:
                if isinstance(udf, dict):
                    self.directory.set_custom_field(
                        record_id, pick(udf, "Value"), sid=pick(udf, "Sid"), name=pick(udf, "Name")
                    )
        elif kind == "client":
            self.directory.update_client(record_id, fields)
        elif kind == "staff":
            self.directory.update_staff(record_id, fields)
        elif kind == "contact":
            self.directory.update_project_contact(record_id, fields)
        elif kind in ("time", "expense"):
            record = self.get(kind, record_id, "Time entry" if kind == "time" else "Expense")
            allowed = TIME_UPDATE if kind == "time" else EXPENSE_UPDATE
            values = normalise(fields, {k: v for k, v in allowed.items() if k not in ("ProjectSID", "StaffSID")})
            record.update(values)
            if kind == "time":
                project = self.records["project"][record["ProjectSID"]]
                staff = self.records["staff"][record["StaffSID"]]
                record["ChargeBillable"] = money(record["HoursBillable"] * self.ledger.rate(project, staff))
                record["CostIN"] = money(record["Hours_IN"] * staff["CostRate"])
            self.stamp(record)
            if kind == "time" and record["IsSubmitted"]:
                return self.ledger.submit_time(record["SID"])
        elif kind == "invoice":
            record = self.get("invoice", record_id, "Invoice")
            if pick(fields, "Status") in (1, "1", "posted") and record["Status"] == INVOICE_DRAFT:
                self.ledger.post_invoice(record_id)
            values = normalise(
                fields,
                {k: v for k, v in INVOICE_UPDATE.items() if k in ("InvoiceNbr", "InvoiceDt", "InvoiceDtDue", "Notes")},
            )
            record.update(values)
            self.stamp(record)
        else:
            raise NotFoundError(f"Unknown record kind '{kind}'.")
        return int(record_id)  # its id after the update (a time entry's changes when it is submitted)

    def delete_kind(self, kind: str, record_id: int) -> None:
        if kind == "project":
            self.directory.delete_project(record_id)
        elif kind == "contact":
            self.directory.delete_contact(record_id)
        elif kind == "invoice":
            self.ledger.delete_invoice(record_id)
        elif kind in ("time", "expense", "client", "staff", "task"):
            label = {
                "time": "Time entry",
                "expense": "Expense",
                "client": "Client",
                "staff": "Staff member",
                "task": "Task",
            }[kind]
            record = self.get(kind, record_id, label)
            rid = int(record_id)
            if kind == "client" and any(p["ClientId"] == rid for p in self.records["project"].values()):
                raise ValidationError("This client has projects and cannot be deleted.")
            if kind in ("time", "expense") and record.get("InvoiceSID"):
                raise ValidationError("This entry is on an invoice and cannot be deleted.")
            del self.records[kind][rid]
        else:
            raise NotFoundError(f"Unknown record kind '{kind}'.")


# Imported from here by the app, the seed, the console and the tests.
__all__ = [
    "EXPENSE_CODES",
    "INVOICE_OPEN",
    "PERMISSIONS",
    "RATE_LIMIT_WINDOW_SECONDS",
    "BigTimeData",
    "BigTimeError",
    "NotFoundError",
    "PermissionDenied",
    "ValidationError",
    "parse_date",
]
