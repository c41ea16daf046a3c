"""The BigTime emulator's named switches (mechanism: ``sandbox/switches.py``).

Default = the strict reading: only what ``docs/reference/bigtime.md`` marks [doc] or [code, checked
live]. Each switch turns on one reading a public client uses but nothing confirms.
"""

from __future__ import annotations

from ..switches import Switch, one_of, optional_int, strict_bool

BIGTIME_SWITCHES = (
    # OAuth. By default only what BigTime documents: no state on the redirect, a token response of
    # access_token/refresh_token/expires_in, a JSON token request, and the OAuth token in
    # X-Auth-Token with X-Auth-Realm (as every documented call). The lenient reading adds the other
    # forms; turning one of the two "True" ones off gives the other strict reading (form only,
    # Bearer only).
    Switch(
        "echo_state",
        False,
        True,
        "The OAuth redirect carries the state sent to /oauth2/authorize (BigTime documents {redirect_uri}?code= only).",
        strict_bool,
    ),
    Switch("token_firm", False, True, "The token response also names the firm ('firm').", strict_bool),
    Switch("token_form", False, True, "The token endpoint takes a form-encoded body.", strict_bool),
    Switch("token_json", True, True, "The token endpoint takes a JSON body (the documented shape).", strict_bool),
    Switch("oauth_bearer", False, True, "API calls take the OAuth token as Authorization: Bearer.", strict_bool),
    Switch("oauth_x_auth_token", True, True, "API calls take the OAuth token in X-Auth-Token.", strict_bool),
    Switch(
        "token_basic_auth",
        False,
        True,
        "The token endpoint also takes the client id and secret as HTTP Basic "
        "authentication (BigTime documents them in the body only).",
        strict_bool,
    ),
    Switch(
        "loopback_any_port",
        False,
        True,
        "A loopback redirect URI is accepted on any port, as RFC 8252 §7.3 asks "
        "of servers (BigTime does not say it does: by default only the registered address).",
        strict_bool,
    ),
    Switch(
        "json_by_accept",
        False,
        True,
        "Accept: application/json also asks for JSON, and a request naming no format gets JSON (ASP.NET's "
        "default). BigTime documents that it reads 'the content-type header': by default only a JSON "
        "Content-Type gets JSON, any other request XML.",
        strict_bool,
    ),
    Switch(
        "project_list_dt_modified",
        False,
        True,
        "The project list (basic view) carries DtModified: only one client's type has it.",
        strict_bool,
    ),
    Switch(
        "entries_touch_project",
        False,
        True,
        "Logging time or expenses, or raising an invoice, changes the project's DtModified: nothing documents it.",
        strict_bool,
    ),
    Switch(
        "budget_row_aliases",
        False,
        True,
        "Budget-status rows also carry HoursInput, HoursBill, FeesInput, FeesCost, ExpensesInput, "
        "ExpensesBillable, TotalWip and the task budget BudgetHours, BudgetFees, BudgetExps: names "
        "from client libraries, in no live-checked source.",
        strict_bool,
    ),
    Switch(
        "invoice_amount_is_total",
        False,
        True,
        "InvoiceAmt always equals TotalAmt (the strict reading taxes time-and-materials invoices, so "
        "TotalAmt = InvoiceAmt + tax there).",
        strict_bool,
    ),
    Switch(
        "history_total_amt",
        False,
        True,
        "The invoice history's simple view carries TotalAmt: its fields are not documented ('lists "
        "return the simple view; detail is fetched one invoice at a time'); by default only the detail "
        "(GET /invoice/detail/{id}) has it.",
        strict_bool,
    ),
    Switch(
        "task_budget_on_detail",
        False,
        True,
        "A project budgeted by task still carries BudgetFees and BudgetHours on its detail: documented "
        "as fields, but not whether they hold anything for such a project (by default they are absent "
        "there).",
        strict_bool,
    ),
    Switch(
        "contact_create_with_id",
        False,
        True,
        "POST /project/Contact/0?projectsid= creates a contact, as POST /project/Contact?projectsid= "
        "(pybt) does: our old guess.",
        strict_bool,
    ),
    Switch(
        "project_code_max",
        30,
        30,
        "The longest ProjectCode BigTime keeps: 30 (BigTime's help, 'BigTime Character Limits'). A lower "
        "value plays a BigTime that keeps fewer; null: no limit.",
        optional_int(1),
    ),
    Switch(
        "client_id_unique",
        True,
        False,
        "A client's ClientId (its code) must be unique: 'BigTime requires every client in the system to have a "
        "unique Id' (BigTime's help), compared ignoring case (whether BigTime does is not written); a duplicate "
        "is refused with HTTP 400. Off: two clients may share a code.",
        strict_bool,
    ),
    Switch(
        "project_code_unique",
        True,
        False,
        "A project's ProjectCode must be unique: 'The project code is a unique id that identifies each project in "
        "the system' (BigTime's help), compared ignoring case (whether BigTime does is not written); a duplicate "
        "is refused with HTTP 400. Off: two projects may share a code.",
        strict_bool,
    ),
    Switch(
        "project_code_auto",
        False,
        True,
        "A project created through the API without a ProjectCode gets one, as BigTime's web app auto-numbers "
        "it; by default it is refused with HTTP 400: 'A project code ... It's a mandatory field' (BigTime's "
        "help), and the API's help marks required fields without listing them.",
        strict_bool,
    ),
    Switch(
        "client_id_auto",
        False,
        True,
        "A client created through the API without a ClientId (its code) is accepted, as BigTime's web app "
        "auto-numbers it; by default it is refused with HTTP 400: 'BigTime requires every client in the system "
        "to have a unique Id' (BigTime's help).",
        strict_bool,
    ),
    Switch(
        "limit_overflow",
        "refuse",
        "truncate",
        "What a value over BigTime's documented character limits (ProjectCode 30, project Nm 500, client "
        "ClientId 15, client Nm 50) gets, which the docs do not say: 'refuse' (HTTP 400 naming the field), "
        "'truncate' (kept cut, silently) or 'keep' (kept whole: the limits are the web app's only).",
        one_of("refuse", "truncate", "keep"),
    ),
)

__all__ = ["BIGTIME_SWITCHES"]
