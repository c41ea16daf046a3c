"""Defensive parsing of BigTime answers: any key case, both budget-status families, numbers as
strings, missing fields; error bodies to short sentences; the OAuth header/refresh decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pytest
import requests

from bigsync_gui.connectors import bigtime_assumptions as A
from bigsync_gui.connectors.bigtime import (
    ApiKeyAuth,
    BudgetRow,
    Client,
    Contact,
    Invoice,
    OAuthAuth,
    PicklistItem,
    Project,
    StaffMember,
    TimeEntry,
    error_message,
    html_to_sentence,
    pick,
    redact,
    to_bool,
    to_date,
    to_datetime,
    to_int,
    to_number,
    totals_from,
)
from bigsync_gui.connectors.errors import ReconnectNeeded


# ---- scalars ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, expected",
    [
        (12, 12.0),
        (1.5, 1.5),
        ("12.5", 12.5),
        (" 1,234.50 ", 1234.5),
        ("$3,000", 3000.0),
        ("(5.25)", -5.25),
        ("-7", -7.0),
        ("", None),
        ("n/a", None),
        (None, None),
        (True, None),
        ("NaN", None),
    ],
)
def test_to_number(raw, expected):
    assert to_number(raw) == expected


def test_to_int_bool_dates():
    assert (to_int("1001"), to_int(1001.0), to_int("10.5"), to_int(None)) == (1001, 1001, None, None)
    assert (to_bool("True"), to_bool("false"), to_bool(1), to_bool(None), to_bool("maybe")) == (
        True,
        False,
        True,
        None,
        None,
    )
    assert to_date("2026-11-26T00:00:00") == to_date("11/26/2026") == to_date("2026-11-26") == date(2026, 11, 26)
    assert to_date("soon") is None and to_date("") is None
    assert to_datetime("2026-11-26T19:29:58.224") == datetime(2026, 11, 26, 19, 29, 58, 224000, tzinfo=timezone.utc)
    assert to_datetime("2026-11-26T19:29:58+02:00").utcoffset().total_seconds() == 7200


def test_pick_is_case_insensitive_and_skips_nulls():
    record = {"systemid": 5, "NM": "x", "ProjectCode": None, "projectcode": "ignored?"}
    assert pick(record, "SystemId") == 5 and pick(record, "Nm") == "x"
    assert pick(record, "Missing", "nm") == "x"
    assert pick("not a dict", "Nm") is None


# ---- records ----------------------------------------------------------------------------------------
def test_project_with_lower_case_keys_and_strings_for_numbers():
    project = Project.from_api(
        {
            "systemid": "1001",
            "nm": "ERP",
            "projectcode": "006ABC",
            "clientid": "201",
            "isinactive": "false",
            "budgethours": "260",
            "budgetfees": "45,500.00",
            "startdt": "2026-09-06T00:00:00",
            "udflist": [{"sid": 1, "name": "Salesforce Opportunity Id", "value": "006ABC"}],
            "dtmodified": "2026-11-26T19:42:37.755",
        }
    )
    assert (project.id, project.name, project.code, project.client_id) == (1001, "ERP", "006ABC", 201)
    assert (project.is_inactive, project.budget_hours, project.budget_fees) == (False, 260.0, 45500.0)
    assert project.start_date == date(2026, 9, 6)
    assert project.custom_fields == {"Salesforce Opportunity Id": "006ABC"}
    assert project.modified.tzinfo is timezone.utc


def test_missing_fields_are_none_not_errors():
    project = Project.from_api({"SystemId": 7})
    assert project.id == 7 and project.name is None and project.code is None and project.budget_fees is None
    assert project.custom_fields == {}
    assert Project.from_api({}).id is None
    assert Client.from_api({"nm": "Globex"}).code is None
    contact = Contact.from_api({"fname": "Ada", "tag": "primary", "address": {"CITY": "London"}})
    assert (contact.first_name, contact.tag, contact.email, contact.address) == (
        "Ada",
        "PRIMARY",
        None,
        {"city": "London"},
    )
    assert StaffMember.from_api({"FName": "Ada", "SName": "Lovelace"}).full_name == "Ada Lovelace"
    item = PicklistItem.from_api({"ID": "4", "NAME": "Completed", "group": "Inactive"})
    assert (item.id, item.name, item.group) == (4, "Completed", "Inactive")
    entry = TimeEntry.from_api({"sid": 1, "hours_in": "2.5", "dt": "2026-11-02T00:00:00"})
    assert (entry.hours, entry.hours_billable, entry.date) == (2.5, None, date(2026, 11, 2))


def test_client_code_is_text_and_project_client_id_is_numeric():
    assert Client.from_api({"SystemId": 201, "ClientId": "GLOBEX"}).code == "GLOBEX"
    assert Project.from_api({"SystemId": 1, "ClientId": "201"}).client_id == 201


def test_invoice_amounts():
    inv = Invoice.from_api(
        {
            "sid": "9001",
            "projectsid": 1001,
            "invoicenbr": 1042,
            "invoiceamt": "1000",
            "totalamt": "1,080.00",
            "paidamt": "500",
            "status": "2",
            "invoicedt": "2026-10-31T00:00:00",
        }
    )
    assert (inv.id, inv.project_id, inv.number, inv.status) == (9001, 1001, "1042", 2)
    assert (inv.amount, inv.invoiced, inv.paid) == (1000.0, 1080.0, 500.0)
    # TotalAmt only: InvoiceAmt is another quantity (before tax), never used in its place.
    assert Invoice.from_api({"Sid": 1, "InvoiceAmt": 300}).invoiced is None
    bare, unpaid = Invoice.from_api({"Sid": 1}), Invoice.from_api({"Sid": 1, "TotalAmt": 300})
    assert (bare.invoiced, bare.paid, unpaid.invoiced, unpaid.paid) == (None, None, 300.0, None)  # unknown: None, not 0


# ---- budget status: both families ------------------------------------------------------------------
FAMILY_A = {
    "TaskSid": 7001,
    "TaskNm": "Discovery",
    "HoursInput": 10,
    "HoursBill": 8,
    "FeesInput": 1500,
    "FeesCost": 700,
    "ExpensesInput": 50,
    "ExpensesBillable": 60,
    "TotalWip": 900,
}
FAMILY_B = {
    "TaskSid": 7001,
    "TaskNm": "Discovery",
    "EstTotal": 5000,
    "InvoicedToDate": 600,
    "FeeCostIn": 700,
    "ExpCostIn": 50,
    "WipTotal": 900,
    "HrsIn": 10,
    "ChargeIn": 1500,
}


def test_budget_row_family_a():
    row = BudgetRow.from_api(FAMILY_A)
    assert (row.task_id, row.hours_input, row.hours_billable, row.fees_input, row.fees_cost) == (
        7001,
        10.0,
        8.0,
        1500.0,
        700.0,
    )
    assert (row.expenses_input, row.expenses_billable, row.wip) == (50.0, 60.0, 900.0)
    assert row.invoiced_to_date is None and row.budget_total is None


def test_budget_row_family_b_lower_case_and_strings():
    row = BudgetRow.from_api({k.lower(): str(v) for k, v in FAMILY_B.items()})
    assert (row.hours_input, row.fees_input, row.fees_cost, row.expenses_input, row.wip) == (
        10.0,
        1500.0,
        700.0,
        50.0,
        900.0,
    )
    assert (row.invoiced_to_date, row.budget_total) == (600.0, 5000.0)
    assert row.hours_billable is None and row.expenses_billable is None


def test_budget_row_both_families_family_b_wins():
    both = {**FAMILY_A, **{k: v for k, v in FAMILY_B.items() if k not in ("TaskSid", "TaskNm")}}
    both.update({"HrsIn": 11, "HoursInput": 10, "WipTotal": 950, "TotalWip": 900, "ChargeIn": 1600, "FeesInput": 1500})
    row = BudgetRow.from_api(both)
    assert (row.hours_input, row.wip, row.fees_input) == (11.0, 950.0, 1600.0)
    assert row.hours_billable == 8.0 and row.invoiced_to_date == 600.0  # each from the only family that has it
    assert A.BUDGET_FIELDS["hours_input"][0] == "HrsIn"


def test_budget_row_winner_missing_falls_back():
    row = BudgetRow.from_api({"HrsIn": None, "HoursInput": "4.5"})
    assert row.hours_input == 4.5


def test_totals_from_sums_rows_and_the_projects_invoices_only():
    project = Project.from_api({"SystemId": 1001, "BudgetHours": 100, "BudgetFees": "20000"})
    rows = [
        BudgetRow.from_api(FAMILY_B),
        BudgetRow.from_api(
            {"TaskSid": 0, "HrsIn": "2.25", "ChargeIn": "300", "WipTotal": "0", "ExpCostIn": 10, "BudgetExps": 5}
        ),
    ]
    invoices = [
        Invoice.from_api({"Sid": 1, "ProjectSid": 1001, "TotalAmt": 1000, "PaidAmt": 400}),
        Invoice.from_api({"Sid": 2, "ProjectSid": "1001", "TotalAmt": "500.50", "PaidAmt": 0}),
        Invoice.from_api({"Sid": 3, "ProjectSid": 1002, "TotalAmt": 9999, "PaidAmt": 9999}),
    ]
    totals = totals_from(1001, project, rows, invoices)
    f = totals.figures
    assert (f["budget_hours"], f["budget_fees"]) == (100.0, 20000.0)
    assert (f["hours_logged"], f["expenses_logged"], f["wip"]) == (12.25, 60.0, 900.0)
    assert (f["invoiced_to_date"], f["paid_to_date"]) == (1500.5, 400.0)
    assert totals.sources["invoiced_to_date"] == "TotalAmt in the invoice history"
    assert totals.sources["budget_fees"] == "BudgetFees on the project detail"
    assert [i.id for i in totals.invoices] == [1, 2]
    # BudgetExps on one row only: the sum is unknown, not 5.
    assert (
        f["budget_expenses"] is None and totals.missing["budget_expenses"] == "sum of BudgetExps on budget-status rows"
    )
    # No rows at all and no invoices: BigTime says nothing was logged or invoiced — 0.
    empty = totals_from(5, Project.from_api({"SystemId": 5}), [], invoices)
    assert (empty.figures["hours_logged"], empty.figures["invoiced_to_date"], empty.figures["paid_to_date"]) == (
        0.0,
        0.0,
        0.0,
    )
    assert empty.figures["budget_hours"] is None  # neither the detail nor a row: no source
    assert (
        empty.missing["budget_hours"] == "BudgetHours on the project detail; sum of BudgetHours on budget-status rows"
    )
    # ... but for a figure whose field no live-checked row ever showed, no rows is no answer: not written, not 0.
    assert empty.figures["budget_expenses"] is None
    # ... nor for the total budget: no task rows is no task budget, not a budget of 0 (a project budgeted
    # on the project keeps it in the detail's BudgetFees, written as the fee budget).
    assert empty.figures["budget_total"] is None
    assert (
        totals_from(5, Project.from_api({"SystemId": 5, "BudgetFees": 377000}), [], invoices).figures["budget_fees"]
        == 377000.0
    )


def test_totals_from_each_figure_from_the_first_source_that_answers():
    # A project budgeted by task: no project-level budget on the detail; the rows carry the total.
    detail = Project.from_api({"SystemId": 9})
    rows = [
        BudgetRow.from_api({"TaskSid": 1, "EstTotal": 1200, "HrsIn": 3, "InvoicedToDate": 700, "BudgetFees": 1000}),
        BudgetRow.from_api({"TaskSid": 2, "EstTotal": 800, "HrsIn": 1, "InvoicedToDate": 300, "BudgetFees": 800}),
    ]
    simple = [
        Invoice.from_api({"Sid": 41, "ProjectSid": 9, "PaidAmt": 100}),
        Invoice.from_api({"Sid": 42, "ProjectSid": 9, "PaidAmt": 0}),
    ]
    totals = totals_from(9, detail, rows, simple, {41: {"TotalAmt": 757.75}, 42: {"TotalAmt": 324.75}})
    f, src = totals.figures, totals.sources
    assert (f["budget_total"], src["budget_total"]) == (2000.0, "sum of EstTotal on budget-status rows")
    assert (f["budget_fees"], src["budget_fees"]) == (
        1800.0,
        "sum of BudgetFees on budget-status rows",
    )  # the next source
    assert (f["invoiced_to_date"], src["invoiced_to_date"]) == (1082.5, "TotalAmt from invoice details")
    assert (f["paid_to_date"], src["paid_to_date"]) == (100.0, "PaidAmt in the invoice history")
    assert [i.total for i in totals.invoices] == [757.75, 324.75]  # the rows carry the detail's totals
    # One detail not read: invoiced falls to Σ InvoicedToDate (billed value, before tax), never 0 or a part.
    partial = totals_from(9, detail, rows, simple, {41: {"TotalAmt": 757.75}})
    assert (partial.figures["invoiced_to_date"], partial.sources["invoiced_to_date"]) == (
        1000.0,
        "sum of InvoicedToDate on budget-status rows",
    )
    # No source at all: None, and what was tried.
    bare = totals_from(9, detail, [BudgetRow.from_api({"TaskSid": 1, "HrsIn": 3})], simple, {})
    assert bare.figures["invoiced_to_date"] is None and bare.figures["budget_total"] is None
    assert bare.missing["invoiced_to_date"] == (
        "TotalAmt in the invoice history; TotalAmt from invoice details; sum of InvoicedToDate on budget-status rows"
    )


def test_totals_from_absent_fields_are_none_never_zero():
    rows = [BudgetRow.from_api({"TaskSid": 1, "HrsIn": 3}), BudgetRow.from_api({"TaskSid": 2})]
    invoices = [Invoice.from_api({"Sid": 1, "ProjectSid": 7, "InvoiceAmt": 100, "PaidAmt": 0})]
    totals = totals_from(7, None, rows, invoices)
    assert totals.figures["hours_logged"] is None  # one row lacks HrsIn
    assert totals.figures["invoiced_to_date"] is None and totals.figures["paid_to_date"] == 0.0
    assert totals.missing["invoiced_to_date"].startswith(
        "TotalAmt in the invoice history; TotalAmt from invoice details"
    )
    unattributed = totals_from(7, None, rows, None)
    assert unattributed.figures["paid_to_date"] is None
    assert "an invoice of the history names no project" in unattributed.missing["paid_to_date"]


# ---- error bodies ------------------------------------------------------------------------------------
def _response(status: int, body: str, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def test_error_message_shapes():
    required = "The project name (Nm) is required."
    assert error_message(_response(400, '{"Message": "%s"}' % required)) == required
    assert error_message(_response(400, '{"message": "lower case"}')) == "lower case"
    assert error_message(_response(400, '"A JSON string"')) == "A JSON string"
    assert error_message(_response(400, "Plain text problem\nsecond line", "text/plain")) == "Plain text problem"
    assert error_message(_response(400, "")) == "HTTP 400 without an explanation"
    state = '{"Message": "The request is invalid.", "ModelState": {"p.Nm": ["Nm is required"]}}'
    assert error_message(_response(400, state)) == "The request is invalid. Nm is required"


def test_html_page_becomes_a_short_sentence():
    page = (
        "<!DOCTYPE html><html><head><title>Runtime Error</title><style>body{color:red}</style>"
        "<script>var x = '<b>';</script></head><body><h1>Server Error in '/' Application.</h1>"
        "<p>An unexpected <b>error</b> occurred.</p>" + "<div>stack trace line</div>" * 500 + "</body></html>"
    )
    message = error_message(_response(500, page, "text/html"))
    assert message == "Server Error in '/' Application. — An unexpected error occurred."
    assert "<" not in html_to_sentence("<html><body>just <i>text</i></body></html>")
    assert (
        len(error_message(_response(500, "<html><body><p>" + "word " * 400 + "</p></body></html>", "text/html"))) <= 240
    )


def test_messages_never_carry_credentials():
    token = "eyJhbGciOiJIUzI1NiJ9.abcdefghijklmnopqrstuvwxyz0123456789"
    body = f'{{"Message": "Token {token} is not valid for key sandbox-api-key-0123"}}'
    message = error_message(_response(401, body), secrets=["sandbox-api-key-0123"])
    assert token not in message and "sandbox-api-key-0123" not in message and "[hidden]" in message
    assert redact("short words stay") == "short words stay"


# ---- auth decisions (no network) ---------------------------------------------------------------------
@dataclass
class _Tokens:
    access_token: str
    refresh_token: str | None = "r"
    expires_at: float | None = None
    raw: dict[str, Any] = field(default_factory=lambda: {"Firm": "firm-1"})


class _Refresher:
    def __init__(self) -> None:
        self.tokens = _Tokens("t1")
        self.refreshes = 0

    def current(self) -> _Tokens:
        return self.tokens

    def access_token(self) -> str:
        return self.tokens.access_token

    def refresh(self, stale_access_token: str | None = None) -> _Tokens:
        if stale_access_token is not None and stale_access_token != self.tokens.access_token:
            return self.tokens
        self.refreshes += 1
        self.tokens = _Tokens(f"t{self.refreshes + 1}")
        return self.tokens


def test_oauth_tries_the_other_header_before_refreshing_then_remembers():
    refresher = _Refresher()
    auth = OAuthAuth(refresher, "typed-firm")
    first = auth.headers()
    # X-Auth-Token + realm first (the documented form); the realm is the typed firm, never the token's.
    assert first == {"X-Auth-Token": "t1", "X-Auth-Realm": "typed-firm"}
    assert auth.on_unauthorized(first) is True and refresher.refreshes == 0
    second = auth.headers()
    assert second == {"Authorization": "Bearer t1", "X-Auth-Realm": "typed-firm"}
    auth.on_success(second)
    assert auth.header_mode == A.OAUTH_HEADER_BEARER and auth.header_mode_confirmed
    # Confirmed: a later 401 refreshes (once) and keeps the form.
    assert auth.on_unauthorized(auth.headers()) is True and refresher.refreshes == 1
    assert auth.headers() == {"Authorization": "Bearer t2", "X-Auth-Realm": "typed-firm"}
    # The freshly refreshed token refused too: nothing left to try (no refresh loop).
    assert auth.on_unauthorized(auth.headers()) is False and refresher.refreshes == 1


def test_oauth_both_forms_refused_then_one_refresh_then_gives_up():
    refresher = _Refresher()
    auth = OAuthAuth(refresher, "firm-1")
    assert auth.on_unauthorized(auth.headers()) is True  # x-auth-token refused → bearer
    assert auth.on_unauthorized(auth.headers()) is True and refresher.refreshes == 1  # both refused → refresh
    assert auth.headers()["X-Auth-Token"] == "t2"  # back to the first form with the new token
    assert auth.on_unauthorized(auth.headers()) is True  # t2 x-auth-token refused → bearer
    assert auth.on_unauthorized(auth.headers()) is False and refresher.refreshes == 1


def test_oauth_stale_headers_after_another_threads_refresh_just_retry():
    refresher = _Refresher()
    auth = OAuthAuth(refresher, "firm-1", header_mode="bearer")
    stale = auth.headers()
    refresher.refresh()
    assert auth.on_unauthorized(stale) is True and refresher.refreshes == 1


def test_oauth_needs_a_typed_firm_and_reports_the_token_ones():
    refresher = _Refresher()
    for missing in ("", "  "):
        with pytest.raises(ValueError, match="firm id"):
            OAuthAuth(refresher, missing)
    auth = OAuthAuth(refresher, " typed-in ")
    assert auth.headers()["X-Auth-Realm"] == "typed-in" and auth.firm_id == "typed-in"
    assert auth.token_firm == "firm-1"  # what the token response says (any case), for the mismatch check
    refresher.tokens.raw = {}
    assert auth.token_firm is None
    with pytest.raises(ValueError):
        OAuthAuth(refresher, "f", header_mode="cookie")


def test_api_key_401_is_reconnect_and_repr_hides_the_key():
    auth = ApiKeyAuth("secret-key-value", "firm-1")
    assert auth.headers() == {"X-Auth-ApiToken": "secret-key-value", "X-Auth-Realm": "firm-1"}
    with pytest.raises(ReconnectNeeded, match="API key was refused"):
        auth.on_unauthorized(auth.headers())
    assert "secret-key-value" not in repr(auth)
