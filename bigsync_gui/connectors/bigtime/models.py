"""BigTime's records as small typed dataclasses (``raw`` keeps the record as it came); the
write-back figures computed from them are in :mod:`.figures`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from .. import bigtime_assumptions as A
from .parsing import low, pick, to_bool, to_date, to_datetime, to_int, to_number, to_text

_Date = date  # Invoice has a field named ``date``: inside the class that name is the field, not the type


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
        r = low(record)
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
        r = low(record)
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
        r = low(record)
        address = pick(r, "Address")
        addr = (
            {k.lower(): v for k, v in address.items()}
            if isinstance(address, Mapping)
            else ({"address": address} if isinstance(address, str) else {})
        )
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
        r = low(record)
        first, last = to_text(pick(r, "FName", "FirstName")), to_text(pick(r, "SName", "LastName"))
        full = to_text(pick(r, "FullName", "Name")) or (" ".join(p for p in (first, last) if p) or None)
        return cls(
            id=to_int(pick(r, "SystemId", "StaffSid", "Sid", "Id")),
            first_name=first,
            last_name=last,
            full_name=full,
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
        r = low(record)
        raw_id = pick(r, "Id", "SystemId", "Sid")
        ident = to_int(raw_id)
        return cls(
            id=ident if ident is not None else to_text(raw_id),
            name=to_text(pick(r, "Name", "Nm")),
            group=to_text(pick(r, "Group")),
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


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
        r = low(record)
        return cls(
            id=to_int(pick(r, "SID", "SystemId")),
            date=to_date(pick(r, "Dt")),
            project_id=to_int(pick(r, "ProjectSID")),
            staff_id=to_int(pick(r, "StaffSID")),
            task_id=to_int(pick(r, "TaskSID", "BudgCatID")),
            hours=to_number(pick(r, "Hours_IN", "HoursIn")),
            hours_billable=to_number(pick(r, "HoursBillable")),
            charge_billable=to_number(pick(r, "ChargeBillable")),
            cost=to_number(pick(r, "CostIN")),
            notes=to_text(pick(r, "Notes", "Nt")),
            is_approved=to_bool(pick(r, "IsApproved")),
            is_invoiced=to_bool(pick(r, "IsInvoiced")),
            raw=dict(record) if isinstance(record, Mapping) else {},
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
        r = low(record)
        return cls(
            id=to_int(pick(r, "SID", "SystemId")),
            date=to_date(pick(r, "Dt")),
            project_id=to_int(pick(r, "ProjectSID")),
            staff_id=to_int(pick(r, "StaffSID")),
            category_id=to_int(pick(r, "CatSID")),
            cost=to_number(pick(r, "CostIN")),
            billable=to_number(pick(r, "CostBill")),
            notes=to_text(pick(r, "Nt", "Notes")),
            is_invoiced=to_bool(pick(r, "IsInvoiced")),
            raw=dict(record) if isinstance(record, Mapping) else {},
        )


@dataclass
class Invoice:
    id: int | None
    project_id: int | None = None
    client_id: int | None = None
    number: str | None = None
    date: _Date | None = None
    due_date: _Date | None = None
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
        r = low(record)
        number = pick(r, "InvoiceNbr", "InvoiceNumber")
        return cls(
            id=to_int(pick(r, "Sid", "SystemId", "InvoiceSid")),
            project_id=to_int(pick(r, "ProjectSid", "ProjectSID")),
            client_id=to_int(pick(r, "ClientSid")),
            number=to_text(number),
            date=to_date(pick(r, "InvoiceDt")),
            due_date=to_date(pick(r, "InvoiceDtDue")),
            amount=to_number(pick(r, "InvoiceAmt")),
            total=to_number(pick(r, "TotalAmt")),
            paid=to_number(pick(r, "PaidAmt")),
            status=to_int(pick(r, "Status")),
            status_text=to_text(pick(r, "StatusTxt")),
            raw=dict(record) if isinstance(record, Mapping) else {},
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
    names: dict[str, str] = field(default_factory=dict, repr=False)  # our figure → the BigTime name that gave it

    FIGURES = tuple(A.BUDGET_FIELDS)

    @classmethod
    def from_api(cls, record: Any) -> BudgetRow:
        r = low(record)
        figures: dict[str, float | None] = {}
        names: dict[str, str] = {}
        for ours, theirs in A.BUDGET_FIELDS.items():
            name = next((n for n in theirs if to_number(pick(r, n)) is not None), None)
            figures[ours] = to_number(pick(r, name)) if name else None
            if name:
                names[ours] = name
        return cls(
            task_id=to_int(pick(r, "TaskSid", "TaskSID", "TaskId")),
            task_name=to_text(pick(r, "TaskNm", "TaskName")),
            raw=dict(record) if isinstance(record, Mapping) else {},
            names=names,
            **figures,
        )


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
