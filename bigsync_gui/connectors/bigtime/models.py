"""BigTime's records as small typed dataclasses (``raw`` keeps the record as it came); the
write-back figures computed from them are in :mod:`.figures`.

Each field says where it comes from, ``api_field(convert, *names)``: the first of BigTime's names
the record carries (any key case), through ``convert``; :meth:`Record.from_api` reads them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Mapping, Self, TypeVar

from .. import bigtime_assumptions as A
from .parsing import low, pick, to_bool, to_date, to_datetime, to_int, to_number, to_text

_Date = date  # Invoice has a field named ``date``: inside the class that name is the field, not the type
_T = TypeVar("_T")
_SOURCE = "bigtime"  # a field's metadata key: (convert, BigTime's names)


def api_field(convert: Callable[[Any], _T], *names: str) -> _T:
    """A field read from the first of ``names`` the record has, through ``convert``. Its default is
    ``convert(None)``: what an absent field reads as (None, or an empty dict)."""
    return field(default_factory=lambda: convert(None), metadata={_SOURCE: (convert, names)})


def api_names(record_type: type[Record], name: str) -> tuple[str, ...]:
    """BigTime's spellings of one field of ``record_type``, in the order they are tried."""
    return next(tuple(f.metadata[_SOURCE][1]) for f in fields(record_type) if f.name == name)


@dataclass
class Record:
    """What every record shares: ``raw``, BigTime's record as it came (keyword-only, so it stays
    last), and the reading of its :func:`api_field` fields."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, kw_only=True)

    @classmethod
    def read(cls, record: Any) -> dict[str, Any]:
        """The record's values under our field names, ``raw`` included."""
        r = low(record)
        values = {
            f.name: f.metadata[_SOURCE][0](pick(r, *f.metadata[_SOURCE][1]))
            for f in fields(cls)
            if _SOURCE in f.metadata
        }
        return {**values, "raw": dict(record) if isinstance(record, Mapping) else {}}

    @classmethod
    def from_api(cls, record: Any) -> Self:
        return cls(**cls.read(record))


def _custom_fields(udfs: Any) -> dict[str, Any]:
    """A project's ``UdfList``: each custom field's value by its name."""
    pairs = ((to_text(pick(udf, "Name")), pick(udf, "Value")) for udf in (udfs if isinstance(udfs, list) else []))
    return {name: value for name, value in pairs if name}


def _address(value: Any) -> dict[str, Any]:
    """A contact's address: its parts by lower-case name (one line of text: ``{"address": ...}``)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): v for k, v in value.items()}
    return {"address": value} if isinstance(value, str) else {}


def _upper_text(value: Any) -> str | None:
    text = to_text(value)
    return text.upper() if text else None


def _id_or_text(value: Any) -> int | str | None:
    """A picklist id: a number where it is one, else its text (some lists are keyed by a code)."""
    ident = to_int(value)
    return ident if ident is not None else to_text(value)


@dataclass
class Project(Record):
    id: int | None = api_field(to_int, "SystemId", "Sid", "ProjectSid", "Id")
    name: str | None = api_field(to_text, "Nm", "Name", "ProjectNm")
    display_name: str | None = api_field(to_text, "DisplayName")
    code: str | None = api_field(to_text, "ProjectCode")
    client_id: int | None = api_field(to_int, "ClientId", "ClientSid")
    type_id: int | None = api_field(to_int, "TypeId")
    start_date: date | None = api_field(to_date, "StartDt")
    end_date: date | None = api_field(to_date, "EndDt")
    notes: str | None = api_field(to_text, "Notes")
    status_production: int | None = api_field(to_int, "StatusProd", "StatusProduction")
    status_billing: int | None = api_field(to_int, "StatusBill", "StatusBilling")
    is_inactive: bool | None = api_field(to_bool, "IsInactive")
    budget_hours: float | None = api_field(to_number, "BudgetHours")
    budget_fees: float | None = api_field(to_number, "BudgetFees")
    input_hours: float | None = api_field(to_number, "InputHours")
    input_fees: float | None = api_field(to_number, "InputFees")
    primary_contact_id: int | None = api_field(to_int, "PrimaryContactId")
    billing_contact_id: int | None = api_field(to_int, "BillingContactId")
    created: datetime | None = api_field(to_datetime, "DtCreated")
    modified: datetime | None = api_field(to_datetime, "DtModified")
    custom_fields: dict[str, Any] = api_field(_custom_fields, "UdfList", "CustomFields")


@dataclass
class Client(Record):
    id: int | None = api_field(to_int, "SystemId", "Sid", "Id")
    name: str | None = api_field(to_text, "Nm", "Name")
    code: str | None = api_field(to_text, "ClientId")  # on a client, BigTime's ``ClientId`` is the user-facing code
    address: str | None = api_field(to_text, "Address")
    city: str | None = api_field(to_text, "City")
    state: str | None = api_field(to_text, "State")
    zip: str | None = api_field(to_text, "Zip")
    country: str | None = api_field(to_text, "Country")
    phone: str | None = api_field(to_text, "MainPH", "Phone")
    fax: str | None = api_field(to_text, "MainFX", "Fax")
    notes: str | None = api_field(to_text, "Notes")
    is_inactive: bool | None = api_field(to_bool, "IsInactive")
    modified: datetime | None = api_field(to_datetime, "DtModified")


@dataclass
class Contact(Record):
    id: int | None = api_field(to_int, "SystemId", "Sid", "ContactSid", "Id")
    project_id: int | None = api_field(to_int, "ProjectSid", "ProjectId")
    tag: str | None = api_field(_upper_text, "Tag")  # PRIMARY | BILLING | OTHER
    first_name: str | None = api_field(to_text, "FName", "FirstName")
    last_name: str | None = api_field(to_text, "SName", "LastName")
    title: str | None = api_field(to_text, "Title")
    email: str | None = api_field(to_text, "EMail", "Email")
    phone: str | None = api_field(to_text, "Phone")
    mobile: str | None = api_field(to_text, "MobilePH", "Mobile")
    address: dict[str, Any] = api_field(_address, "Address")


@dataclass
class StaffMember(Record):
    id: int | None = api_field(to_int, "SystemId", "StaffSid", "Sid", "Id")
    first_name: str | None = api_field(to_text, "FName", "FirstName")
    last_name: str | None = api_field(to_text, "SName", "LastName")
    full_name: str | None = api_field(to_text, "FullName", "Name")
    email: str | None = api_field(to_text, "EMail", "Email")
    title: str | None = api_field(to_text, "Title")
    is_inactive: bool | None = api_field(to_bool, "IsInactive")

    @classmethod
    def from_api(cls, record: Any) -> Self:
        """Without a full name BigTime sent, the first and last names make one."""
        staff = super().from_api(record)
        staff.full_name = staff.full_name or " ".join(p for p in (staff.first_name, staff.last_name) if p) or None
        return staff


@dataclass
class PicklistItem(Record):
    id: int | str | None = api_field(_id_or_text, "Id", "SystemId", "Sid")
    name: str | None = api_field(to_text, "Name", "Nm")
    group: str | None = api_field(to_text, "Group")


@dataclass
class TimeEntry(Record):
    id: int | None = api_field(to_int, "SID", "SystemId")
    date: _Date | None = api_field(to_date, "Dt")
    project_id: int | None = api_field(to_int, "ProjectSID")
    staff_id: int | None = api_field(to_int, "StaffSID")
    task_id: int | None = api_field(to_int, "TaskSID", "BudgCatID")
    hours: float | None = api_field(to_number, "Hours_IN", "HoursIn")
    hours_billable: float | None = api_field(to_number, "HoursBillable")
    charge_billable: float | None = api_field(to_number, "ChargeBillable")
    cost: float | None = api_field(to_number, "CostIN")
    notes: str | None = api_field(to_text, "Notes", "Nt")
    is_approved: bool | None = api_field(to_bool, "IsApproved")
    is_invoiced: bool | None = api_field(to_bool, "IsInvoiced")


@dataclass
class Expense(Record):
    id: int | None = api_field(to_int, "SID", "SystemId")
    date: _Date | None = api_field(to_date, "Dt")
    project_id: int | None = api_field(to_int, "ProjectSID")
    staff_id: int | None = api_field(to_int, "StaffSID")
    category_id: int | None = api_field(to_int, "CatSID")
    cost: float | None = api_field(to_number, "CostIN")
    billable: float | None = api_field(to_number, "CostBill")
    notes: str | None = api_field(to_text, "Nt", "Notes")
    is_invoiced: bool | None = api_field(to_bool, "IsInvoiced")


@dataclass
class Invoice(Record):
    id: int | None = api_field(to_int, "Sid", "SystemId", "InvoiceSid")
    project_id: int | None = api_field(to_int, "ProjectSid", "ProjectSID")
    client_id: int | None = api_field(to_int, "ClientSid")
    number: str | None = api_field(to_text, "InvoiceNbr", "InvoiceNumber")
    date: _Date | None = api_field(to_date, "InvoiceDt")
    due_date: _Date | None = api_field(to_date, "InvoiceDtDue")
    amount: float | None = api_field(to_number, "InvoiceAmt")
    total: float | None = api_field(to_number, "TotalAmt")
    paid: float | None = api_field(to_number, "PaidAmt")  # BigTime has no payment endpoint; this is what was paid
    status: int | None = api_field(to_int, "Status")
    status_text: str | None = api_field(to_text, "StatusTxt")

    @property
    def invoiced(self) -> float | None:
        """The invoice's amount: ``TotalAmt`` only, None without it (see the assumptions)."""
        return to_number(pick(self.raw, A.INVOICE_AMOUNT_FIELD)) if self.raw else self.total


@dataclass
class BudgetRow(Record):
    """One row of ``/task/BudgetStatusByProject``, its figures under our names
    (:data:`.bigtime_assumptions.BUDGET_FIELDS`: the live-checked name wins); None: not sent."""

    task_id: int | None = api_field(to_int, "TaskSid", "TaskSID", "TaskId")
    task_name: str | None = api_field(to_text, "TaskNm", "TaskName")
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
    names: dict[str, str] = field(default_factory=dict, repr=False)  # our figure → the BigTime name that gave it

    FIGURES = tuple(A.BUDGET_FIELDS)

    @classmethod
    def from_api(cls, record: Any) -> Self:
        r, values = low(record), cls.read(record)
        names: dict[str, str] = {}
        for ours, theirs in A.BUDGET_FIELDS.items():
            name = next((n for n in theirs if to_number(pick(r, n)) is not None), None)
            values[ours] = to_number(pick(r, name)) if name else None
            if name:
                names[ours] = name
        return cls(**values, names=names)


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
