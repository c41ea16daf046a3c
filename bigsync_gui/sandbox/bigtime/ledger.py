"""The emulated firm's money: time entries, expenses, invoices and their payments, and the
figures derived from them (budget status per task, project totals) — computed, never stored, so
they always agree. Kept in the firm's store (:mod:`.store`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from . import limits
from .schema import (
    EXPENSE_CODES,
    EXPENSE_UPDATE,
    INVOICE_DRAFT,
    INVOICE_OPEN,
    INVOICE_PAID,
    INVOICE_PARTIAL,
    INVOICE_STATUS_TXT,
    INVOICE_UPDATE,
    LABOR_CODES,
    TIME_UPDATE,
    ValidationError,
    as_num,
    fmt_date,
    money,
    normalise,
    parse_date,
    public,
)

if TYPE_CHECKING:
    from .store import FirmStore


class Ledger:
    """Time, expenses, invoices, payments, budget status and project totals."""

    def __init__(self, store: FirmStore) -> None:
        self.store = store

    # ---- time ------------------------------------------------------------------------------
    def rate(self, project: dict[str, Any], staff: dict[str, Any]) -> float:
        return project["BillingRate"] or staff["BillRate"]

    def _entry_defaults(self, values: dict[str, Any], staff_id: int | None) -> dict[str, Any]:
        """Over the API the entry is the caller's; called directly (seed, console) it defaults to
        the firm's admin, today."""
        if values.get("StaffSID") is None:
            if staff_id is not None:
                values["StaffSID"] = staff_id
            else:
                values["StaffSID"] = min(self.store.records["staff"]) if self.store.records["staff"] else None
                if values.get("Dt") is None:
                    values["Dt"] = fmt_date(self.store.today())
        return values

    def log_time(self, fields: dict[str, Any], staff_id: int | None = None) -> int:
        """A time entry. ``staff_id``: the API caller (used when the body names no StaffSID)."""
        values = normalise(fields, TIME_UPDATE)
        values = self._entry_defaults(values, staff_id)
        limits.fit(self.store.switches, "time", values)
        for key in ("ProjectSID", "StaffSID", "Dt"):
            if values.get(key) is None:
                raise ValidationError(f"{key} is required.")
        project = self.store.records["project"].get(values["ProjectSID"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSID: there is no project with SystemId {values['ProjectSID']}.")
        staff = self.store.records["staff"].get(values["StaffSID"])
        if staff is None:
            raise ValidationError(f"Invalid StaffSID: there is no staff member with SystemId {values['StaffSID']}.")
        hours = values.get("Hours_IN")
        if hours is None or hours <= 0 or hours > 24:
            raise ValidationError("Hours_IN must be more than 0 and at most 24.")
        code = next((c for c in LABOR_CODES if c["Id"] == values.get("BudgCatID")), None)
        if values.get("BudgCatID") is not None and code is None:
            raise ValidationError(f"Invalid BudgCatID: {values['BudgCatID']} is not a labor code.")
        task_sid = values.get("TaskSID")
        if (
            task_sid is not None
            and self.store.records["task"].get(task_sid, {}).get("ProjectSid") != project["SystemId"]
        ):
            raise ValidationError(f"Invalid TaskSID: task {task_sid} is not a task of project {project['SystemId']}.")
        billable_default = hours if (code is None or code["Billable"]) and project["StatusBill"] != 3 else 0.0
        billable = values.get("HoursBillable", billable_default)
        # help/Time: "unsubmitted entries have a negative SID value and submitted entries have a positive
        # value"; an entry's SID changes when it is submitted (``submit_time``).
        sid = self.store.new_id("time") * (1 if values.get("IsSubmitted") else -1)
        record = {
            "SID": sid,
            "Dt": values["Dt"],
            "ProjectSID": project["SystemId"],
            "StaffSID": staff["SystemId"],
            "BudgCatID": values.get("BudgCatID"),
            "TaskSID": task_sid,
            "Hours_IN": hours,
            "HoursBillable": billable,
            "ChargeBillable": money(billable * self.rate(project, staff)),
            "CostIN": money(hours * staff["CostRate"]),
            "Notes": values.get("Notes", ""),
            "IsSubmitted": values.get("IsSubmitted", False),
            "IsApproved": values.get("IsApproved", False),
            "IsInvoiced": False,
            "InvoiceSID": None,
        }
        self.store.stamp(record, created=True)
        self.store.records["time"][sid] = record
        self.store.touch(project)
        return sid

    def _time_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = public(entry)
        project = self.store.records["project"].get(entry["ProjectSID"], {})
        staff = self.store.records["staff"].get(entry["StaffSID"], {})
        task = self.store.records["task"].get(entry["TaskSID"] or 0, {})
        code = next((c for c in LABOR_CODES if c["Id"] == entry["BudgCatID"]), {})
        out.update(
            {
                "ProjectNm": project.get("DisplayName", ""),
                "ClientSID": project.get("ClientId"),
                "StaffNm": staff.get("FullName", ""),
                "TaskNm": task.get("TaskNm", ""),
                "BudgCatNm": code.get("Name", ""),
            }
        )
        return out

    def time_entries(
        self,
        staff_id: int | None = None,
        project_id: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[dict[str, Any]]:
        if staff_id is not None:
            self.store.get("staff", staff_id, "Staff member")
        if project_id is not None:
            self.store.get("project", project_id, "Project")
        out = []
        for entry in self.store.records["time"].values():
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
        return self._time_view(self.store.get("time", sid, "Time entry"))

    def submit_time(self, sid: int) -> int:
        """An unsubmitted entry (negative SID) made submitted gets a new, positive SID ("Time Entry 'ID'
        values can change", help/Time); the invoice line that names it follows. Its SID now."""
        record = self.store.get("time", sid, "Time entry")
        old = record["SID"]
        if old > 0:
            return old
        new = self.store.new_id("time")
        del self.store.records["time"][old]
        record["SID"] = new
        self.store.records["time"][new] = record
        for invoice in self.store.records["invoice"].values():
            for line in invoice.get("Lines") or []:
                if line.get("Type") == "Time" and line.get("SourceSid") == old:
                    line["SourceSid"] = new
        return new

    # ---- expenses --------------------------------------------------------------------------
    def log_expense(self, fields: dict[str, Any], staff_id: int | None = None) -> int:
        values = normalise(fields, EXPENSE_UPDATE)
        values = self._entry_defaults(values, staff_id)
        for key in ("ProjectSID", "StaffSID", "Dt", "CatSID"):
            if values.get(key) is None:
                raise ValidationError(f"{key} is required.")
        project = self.store.records["project"].get(values["ProjectSID"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSID: there is no project with SystemId {values['ProjectSID']}.")
        if values["StaffSID"] not in self.store.records["staff"]:
            raise ValidationError(f"Invalid StaffSID: there is no staff member with SystemId {values['StaffSID']}.")
        cat = next((c for c in EXPENSE_CODES if c["Id"] == values["CatSID"]), None)
        if cat is None:
            raise ValidationError(f"Invalid CatSID: {values['CatSID']} is not an expense code.")
        cost = values.get("CostIN")
        if cost is None or cost < 0:
            raise ValidationError("CostIN is required and cannot be negative.")
        task_sid = values.get("TaskSID")
        if (
            task_sid is not None
            and self.store.records["task"].get(task_sid, {}).get("ProjectSid") != project["SystemId"]
        ):
            raise ValidationError(f"Invalid TaskSID: task {task_sid} is not a task of project {project['SystemId']}.")
        sid = self.store.new_id("expense")
        record = {
            "SID": sid,
            "Dt": values["Dt"],
            "ProjectSID": project["SystemId"],
            "StaffSID": values["StaffSID"],
            "CatSID": cat["Id"],
            "TaskSID": task_sid,
            "CostIN": money(cost),
            "CostBill": money(values.get("CostBill", cost if cat["Billable"] else 0.0)),
            "Nt": values.get("Nt", ""),
            "IsReimb": values.get("IsReimb", True),
            "IsInvoiced": False,
            "InvoiceSID": None,
        }
        self.store.stamp(record, created=True)
        self.store.records["expense"][sid] = record
        self.store.touch(project)
        return sid

    def _expense_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = public(entry)
        project = self.store.records["project"].get(entry["ProjectSID"], {})
        cat = next((c for c in EXPENSE_CODES if c["Id"] == entry["CatSID"]), {})
        out.update({"ProjectNm": project.get("DisplayName", ""), "CatNm": cat.get("Name", "")})
        return out

    def expenses(
        self,
        start: date | None = None,
        end: date | None = None,
        project_ids: Iterable[int] | None = None,
        staff_ids: Iterable[int] | None = None,
    ) -> list[dict[str, Any]]:
        pids = {int(p) for p in project_ids} if project_ids else None
        sids = {int(s) for s in staff_ids} if staff_ids else None
        out = []
        for entry in self.store.records["expense"].values():
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
        return self._expense_view(self.store.get("expense", sid, "Expense"))

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
        project = self.store.records["project"].get(values["ProjectSid"])
        if project is None:
            raise ValidationError(f"Invalid ProjectSid: there is no project with SystemId {values['ProjectSid']}.")
        inv_day = parse_date(values.get("InvoiceDt") or self.store.today())
        status = values.get("Status", INVOICE_OPEN)
        if status not in (INVOICE_DRAFT, INVOICE_OPEN):
            raise ValidationError("Status must be 0 (draft) or 1 (posted).")
        sid = self.store.new_id("invoice")
        lines: list[dict[str, Any]] = []
        if values.get("InvoiceAmt") is None:
            for entry in self.store.records["time"].values():
                if (
                    entry["ProjectSID"] == project["SystemId"]
                    and entry["InvoiceSID"] is None
                    and entry["ChargeBillable"] > 0
                    and parse_date(entry["Dt"]) <= inv_day
                ):
                    entry["IsInvoiced"], entry["InvoiceSID"] = status != INVOICE_DRAFT, sid
                    lines.append(
                        {
                            "Type": "Time",
                            "SourceSid": entry["SID"],
                            "TaskSid": entry["TaskSID"],
                            "Amount": entry["ChargeBillable"],
                        }
                    )
            for entry in self.store.records["expense"].values():
                if (
                    entry["ProjectSID"] == project["SystemId"]
                    and entry["InvoiceSID"] is None
                    and entry["CostBill"] > 0
                    and parse_date(entry["Dt"]) <= inv_day
                ):
                    entry["IsInvoiced"], entry["InvoiceSID"] = status != INVOICE_DRAFT, sid
                    lines.append(
                        {
                            "Type": "Expense",
                            "SourceSid": entry["SID"],
                            "TaskSid": entry["TaskSID"],
                            "Amount": entry["CostBill"],
                        }
                    )
            amount = money(sum(line["Amount"] for line in lines))
            if not lines:
                self.store.next_id["invoice"] -= 1
                raise ValidationError("There is nothing to invoice on this project (no unbilled time or expenses).")
        else:
            amount = money(values["InvoiceAmt"])
            if amount <= 0:
                raise ValidationError("InvoiceAmt must be more than 0.")
            lines.append({"Type": "Fixed", "SourceSid": None, "TaskSid": None, "Amount": amount})
        tax = money(values["TaxAmt"]) if values.get("TaxAmt") is not None else money(amount * tax_rate)
        if tax < 0:
            raise ValidationError("TaxAmt cannot be negative.")
        nbr = values.get("InvoiceNbr") or ""
        if not nbr and status != INVOICE_DRAFT:
            nbr = str(self.store.next_invoice_nbr)
            self.store.next_invoice_nbr += 1
        record = {
            "Sid": sid,
            "ProjectSid": project["SystemId"],
            "ClientSid": project["ClientId"],
            "InvoiceNbr": nbr,
            "InvoiceDt": fmt_date(inv_day),
            "InvoiceDtDue": values.get("InvoiceDtDue") or fmt_date(inv_day + timedelta(days=30)),
            "InvoiceAmt": amount,
            "TotalAmt": money(amount + tax),
            "PaidAmt": 0.0,
            "Status": status,
            "StatusTxt": INVOICE_STATUS_TXT[status],
            "Notes": values.get("Notes", ""),
            "Lines": lines,
            "_payments": [],
        }
        self.store.stamp(record, created=True)
        self.store.records["invoice"][sid] = record
        self.store.touch(project)
        return sid

    def post_invoice(self, invoice_id: int) -> None:
        record = self.store.get("invoice", invoice_id, "Invoice")
        if record["Status"] == INVOICE_DRAFT:
            record["Status"], record["StatusTxt"] = INVOICE_OPEN, INVOICE_STATUS_TXT[INVOICE_OPEN]
            if not record["InvoiceNbr"]:
                record["InvoiceNbr"] = str(self.store.next_invoice_nbr)
                self.store.next_invoice_nbr += 1
            for kind in ("time", "expense"):
                for entry in self.store.records[kind].values():
                    if entry["InvoiceSID"] == record["Sid"]:
                        entry["IsInvoiced"] = True
            self.store.stamp(record)

    def record_payment(self, invoice_id: int, amount: Any, when: Any = None) -> None:
        record = self.store.get("invoice", invoice_id, "Invoice")
        value = as_num(amount, "amount")
        if value <= 0:
            raise ValidationError("A payment amount must be more than 0.")
        if record["Status"] == INVOICE_DRAFT:
            raise ValidationError("A draft invoice cannot take a payment; post it first.")
        if record["PaidAmt"] + value > record["TotalAmt"] + 0.005:
            raise ValidationError(
                f"The payment of {value:.2f} is more than the {record['TotalAmt'] - record['PaidAmt']:.2f} still due."
            )
        day = parse_date(when) if when else self.store.today()
        record["_payments"].append({"Dt": fmt_date(day), "Amt": money(value)})
        record["PaidAmt"] = money(record["PaidAmt"] + value)
        record["Status"] = INVOICE_PAID if record["PaidAmt"] >= record["TotalAmt"] - 0.005 else INVOICE_PARTIAL
        record["StatusTxt"] = INVOICE_STATUS_TXT[record["Status"]]
        self.store.stamp(record)

    def delete_invoice(self, invoice_id: int) -> None:
        record = self.store.get("invoice", invoice_id, "Invoice")
        for kind in ("time", "expense"):
            for entry in self.store.records[kind].values():
                if entry["InvoiceSID"] == record["Sid"]:
                    entry["IsInvoiced"], entry["InvoiceSID"] = False, None
        del self.store.records["invoice"][record["Sid"]]

    def _invoice_view(self, record: dict[str, Any], detail: bool) -> dict[str, Any]:
        out = public(record)
        project = self.store.records["project"].get(record["ProjectSid"], {})
        out["ProjectNm"] = project.get("DisplayName", "")
        out["ClientNm"] = self.store.records["client"].get(record["ClientSid"] or 0, {}).get("Nm", "")
        if self.store.switches["invoice_amount_is_total"]:
            out["InvoiceAmt"] = out["TotalAmt"]
        if not detail:
            out.pop("Lines", None)
            if not self.store.switches["history_total_amt"]:
                out.pop("TotalAmt", None)  # the simple view's fields are undocumented: the detail has it
        return out

    def invoice_history(self, start: date, end: date) -> list[dict[str, Any]]:
        out = [
            self._invoice_view(r, detail=False)
            for r in self.store.records["invoice"].values()
            if r["Status"] != INVOICE_DRAFT and start <= parse_date(r["InvoiceDt"]) <= end
        ]
        return sorted(out, key=lambda r: (r["InvoiceDt"], r["Sid"]))

    def invoice_drafts(self, start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
        """Every draft; help/Invoice: "you have the option of including startDt and endDt in order to
        limit the list" (each bound optional here, inclusive, on the invoice date)."""
        return [
            self._invoice_view(r, detail=False)
            for r in self.store.records["invoice"].values()
            if r["Status"] == INVOICE_DRAFT
            and not (start and parse_date(r["InvoiceDt"]) < start)
            and not (end and parse_date(r["InvoiceDt"]) > end)
        ]

    def get_invoice(self, invoice_id: int) -> dict[str, Any]:
        return self._invoice_view(self.store.get("invoice", invoice_id, "Invoice"), detail=True)

    # ---- budget status ---------------------------------------------------------------------
    def budget_status(self, project_id: int) -> list[dict[str, Any]]:
        """Per-task totals under the names checked live (``EstTotal`` = fee + expense budget,
        ``InvoicedToDate``, ``WipTotal``, ``HrsIn``, ``ChargeIn``, ``FeeCostIn``, ``ExpCostIn``);
        the client libraries' names and the task budget too under the switch ``budget_row_aliases``.

        One row per task of the project, plus a project-level row (TaskSid 0) when some time,
        expenses or fixed-fee invoices belong to no task — so the rows always add up to the project.
        """
        project = self.store.get("project", project_id, "Project")
        pid = project["SystemId"]
        tasks = [t for t in self.store.records["task"].values() if t["ProjectSid"] == pid]
        rows: dict[int, dict[str, Any]] = {}

        def row(task_sid: int) -> dict[str, Any]:
            if task_sid not in rows:
                task = self.store.records["task"].get(task_sid) if task_sid else None
                rows[task_sid] = {
                    "TaskSid": task_sid,
                    "TaskNm": task["TaskNm"] if task else "(Project level)",
                    "ProjectSid": pid,
                    "BudgetHours": task["BudgetHours"] if task else 0.0,
                    "BudgetFees": task["BudgetFees"] if task else 0.0,
                    "BudgetExps": task["BudgetExps"] if task else 0.0,
                    "_hin": 0.0,
                    "_hbill": 0.0,
                    "_fees": 0.0,
                    "_cost": 0.0,
                    "_exp_in": 0.0,
                    "_exp_bill": 0.0,
                    "_wip": 0.0,
                    "_invoiced": 0.0,
                }
            return rows[task_sid]

        for task in tasks:
            row(task["SystemId"])
        posted = {
            i["Sid"]
            for i in self.store.records["invoice"].values()
            if i["ProjectSid"] == pid and i["Status"] != INVOICE_DRAFT
        }
        for entry in self.store.records["time"].values():
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
        for entry in self.store.records["expense"].values():
            if entry["ProjectSID"] != pid:
                continue
            r = row(entry["TaskSID"] or 0)
            r["_exp_in"] += entry["CostIN"]
            r["_exp_bill"] += entry["CostBill"]
            if entry["InvoiceSID"] in posted:
                r["_invoiced"] += entry["CostBill"]
            else:
                r["_wip"] += entry["CostBill"]
        for inv in self.store.records["invoice"].values():
            if inv["Sid"] in posted:
                for line in inv["Lines"]:
                    if line["Type"] == "Fixed":
                        row(0)["_invoiced"] += line["Amount"]

        out = []
        for task_sid in sorted(rows, key=lambda s: (s == 0, s)):
            r = rows[task_sid]
            hin, hbill, fees, cost = round(r["_hin"], 2), round(r["_hbill"], 2), money(r["_fees"]), money(r["_cost"])
            exp_in, exp_bill, wip, invoiced = (
                money(r["_exp_in"]),
                money(r["_exp_bill"]),
                money(r["_wip"]),
                money(r["_invoiced"]),
            )
            public = {
                "TaskSid": r["TaskSid"],
                "TaskNm": r["TaskNm"],
                # the names two scripts checked against the live API
                "EstTotal": money(r["BudgetFees"] + r["BudgetExps"]),
                "InvoicedToDate": invoiced,
                "FeeCostIn": cost,
                "ExpCostIn": exp_in,
                "WipTotal": wip,
                "HrsIn": hin,
                "ChargeIn": fees,
            }
            if self.store.switches["budget_row_aliases"]:
                public.update(
                    {
                        "ProjectSid": pid,
                        "BudgetHours": r["BudgetHours"],
                        "BudgetFees": r["BudgetFees"],
                        "BudgetExps": r["BudgetExps"],
                        # the names of two client libraries
                        "HoursInput": hin,
                        "HoursBill": hbill,
                        "FeesInput": fees,
                        "FeesCost": cost,
                        "ExpensesInput": exp_in,
                        "ExpensesBillable": exp_bill,
                        "TotalWip": wip,
                    }
                )
            out.append(public)
        return out

    def project_totals(self, project_id: int) -> dict[str, Any]:
        """Project-level figures under the names of their sources: the project's ``BudgetHours`` and
        ``BudgetFees``, its tasks' ``BudgetExps``, the budget-status sums (``HrsIn``, ``ChargeIn``,
        ``ExpCostIn``, ``WipTotal``, ``InvoicedToDate``, ``EstTotal``) and its posted invoices'
        ``TotalAmt`` and ``PaidAmt``. Whatever the switches say (they change views, not figures)."""
        project = self.store.get("project", project_id, "Project")
        pid = project["SystemId"]
        rows = self.budget_status(project_id)
        invoices = [
            i for i in self.store.records["invoice"].values() if i["ProjectSid"] == pid and i["Status"] != INVOICE_DRAFT
        ]
        return {
            "BudgetHours": project["BudgetHours"],
            "BudgetFees": project["BudgetFees"],
            "BudgetExps": money(
                sum(t["BudgetExps"] for t in self.store.records["task"].values() if t["ProjectSid"] == pid)
            ),
            "HrsIn": round(sum(r["HrsIn"] for r in rows), 2),
            "ChargeIn": money(sum(r["ChargeIn"] for r in rows)),
            "ExpCostIn": money(sum(r["ExpCostIn"] for r in rows)),
            "WipTotal": money(sum(r["WipTotal"] for r in rows)),
            "InvoicedToDate": money(sum(r["InvoicedToDate"] for r in rows)),
            "EstTotal": money(sum(r["EstTotal"] for r in rows)),
            "TotalAmt": money(sum(i["TotalAmt"] for i in invoices)),
            "PaidAmt": money(sum(i["PaidAmt"] for i in invoices)),
        }
