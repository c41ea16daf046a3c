"""What the BigTime client *assumes* where BigTime's documentation is silent — in one place.

``shared/reference/bigtime.md`` marks these points **[unknown]**. Each constant below says what is
known, what we chose, and why; change a choice here and nowhere else. The sandbox emulator accepts
every reading listed, so the tests prove the client copes with each.
"""

from __future__ import annotations

# ---- OAuth: which header carries the access token -------------------------------------------
# Known: session tokens go in ``X-Auth-Token`` + ``X-Auth-Realm`` [doc]. Unknown: whether an OAuth
# access token is sent as ``Authorization: Bearer`` or in ``X-Auth-Token``.
# Chosen: try Bearer first (what an OAuth 2.0 resource server normally wants); if BigTime answers
# 401 to a token we have not yet seen work, try the same token once in ``X-Auth-Token`` before
# refreshing. Whichever form succeeds is remembered (``OAuthAuth.header_mode``) and never switched
# again; the engine may persist it and pass it back in.
OAUTH_HEADER_BEARER = "bearer"
OAUTH_HEADER_X_AUTH_TOKEN = "x-auth-token"
OAUTH_HEADER_ORDER = (OAUTH_HEADER_BEARER, OAUTH_HEADER_X_AUTH_TOKEN)

# Unknown whether BigTime wants the realm with an OAuth token. Sending it when we know it is
# harmless for an API that ignores it and necessary for one that needs it, so: send it (with both forms).
OAUTH_SEND_REALM = True

# ---- OAuth: how the firm (realm) id is learnt ------------------------------------------------
# Known: a session answer carries ``firm`` [doc]. Unknown: how an OAuth client learns it.
# Chosen: the token response's ``firm`` field (case-insensitive) when present — the sandbox sends
# it; a real firm that does not can have it typed in by the admin (``OAuthAuth(firm_id=...)``).
# Without either, no realm header is sent. There is no documented "who am I" call for an OAuth
# token (``GET /session`` is not documented), so none is made; the staff id is taken from the token
# response when BigTime puts one there (``staffsid`` / ``userid``, as in the session answer).
TOKEN_FIRM_FIELDS = ("firm", "firmid", "realm")
TOKEN_STAFF_FIELDS = ("staffsid", "staffid")
TOKEN_USER_FIELDS = ("userid",)

# ---- OAuth: the token endpoint ----------------------------------------------------------------
# Known [doc]: ``POST /oauth2/accesstoken`` with client_id, client_secret, code and
# grant_type=authorization_code. Inferred (the doc text is truncated): a refresh posts to the same
# endpoint with grant_type=refresh_token and ``refresh_token``; client id and secret go in the
# body, form-encoded (the sandbox also accepts JSON and HTTP Basic).
TOKEN_PATH = "/oauth2/accesstoken"
AUTHORIZE_PATH = "/oauth2/authorize"
REFRESH_GRANT_TYPE = "refresh_token"
REFRESH_TOKEN_FIELD = "refresh_token"
CLIENT_ID_FIELD = "client_id"
CLIENT_SECRET_FIELD = "client_secret"


def refresh_request_body(refresh_token: str, client_id: str, client_secret: str | None) -> dict[str, str]:
    """The form body of a refresh-token request, with the field names assumed above."""
    body = {"grant_type": REFRESH_GRANT_TYPE, REFRESH_TOKEN_FIELD: refresh_token, CLIENT_ID_FIELD: client_id}
    if client_secret:
        body[CLIENT_SECRET_FIELD] = client_secret
    return body


# ---- Sessions -------------------------------------------------------------------------------
# Known: ``POST /session {"UserId","Pwd"}``; the token expires (7 days in the current help page,
# 24 h in older copies); a user in several firms names one, field probably ``Firm``.
# Chosen: re-post proactively once a session is older than the shorter reading (24 h), and
# reactively on any 401 — so either lifetime works.
SESSION_PATH = "/session"
SESSION_USER_FIELD = "UserId"
SESSION_PASSWORD_FIELD = "Pwd"
SESSION_FIRM_FIELD = "Firm"
SESSION_TOKEN_LIFETIME_SECONDS = 24 * 3600

# ---- Reading who we are -----------------------------------------------------------------------
# A cheap authenticated call that proves a credential works when nothing better identifies the
# user (API key, OAuth): one short picklist.
WHOAMI_PROBE_PATH = "/picklist/FieldValues/StatusProduction"

# ---- Budget status field names ----------------------------------------------------------------
# Known: ``GET /task/BudgetStatusByProject/{id}`` returns per-task rows, but two sources name the
# figures differently: family A (two client libraries) ``HoursInput, HoursBill, FeesInput,
# FeesCost, ExpensesInput, ExpensesBillable, TotalWip``; family B (two scripts that say they were
# checked against the live API) ``EstTotal, InvoicedToDate, FeeCostIn, ExpCostIn, WipTotal, HrsIn,
# ChargeIn``. Chosen: read both, and when a row has both names for one figure, **family B wins**
# (it is the one reported as checked live). Figures only one family has are taken from it.
# Each entry: our name -> candidate BigTime names, the winner first (matched case-insensitively).
BUDGET_FIELDS: dict[str, tuple[str, ...]] = {
    "hours_input": ("HrsIn", "HoursInput"),
    "hours_billable": ("HoursBill", "HrsBill"),
    "fees_input": ("ChargeIn", "FeesInput"),
    "fees_cost": ("FeeCostIn", "FeesCost"),
    "expenses_input": ("ExpCostIn", "ExpensesInput"),
    "expenses_billable": ("ExpensesBillable", "ExpBill"),
    "wip": ("WipTotal", "TotalWip"),
    "invoiced_to_date": ("InvoicedToDate",),
    "budget_total": ("EstTotal",),
    "budget_hours": ("BudgetHours",),
    "budget_fees": ("BudgetFees",),
    "budget_expenses": ("BudgetExps", "BudgetExpenses"),
}

# ---- Reading money back -----------------------------------------------------------------------
# Invoices: there is no per-project invoice endpoint and ``/invoice/history`` needs both dates, so
# a project's invoices are read from a window this wide (from this date to a year after today).
INVOICE_HISTORY_EARLIEST = "2000-01-01"
# The invoiced amount of an invoice: ``TotalAmt`` (the invoice total), else ``InvoiceAmt``.
INVOICE_AMOUNT_FIELDS = ("TotalAmt", "InvoiceAmt")

# ``POST /expense/ReportByFilter``: body field names as the reference gives them; whether
# ``projectsids`` is a list or a comma-separated string is unknown — we send a JSON list.
EXPENSE_FILTER_FIELDS = {"start": "mindate", "end": "maxdate", "projects": "projectsids"}

# ---- The project's page in BigTime's web app ---------------------------------------------------
# Unknown: BigTime documents its API, not the addresses of its web pages. Chosen: the API's host
# (so white-label hosts such as intuit.bigtime.net keep working) with the web app's path
# ``/Bigtime/Project/{id}`` — a plausible guess, not a checked address. Change it here only.
PROJECT_PAGE_PATH = "/Bigtime/Project/{project_id}"


def project_url(base_url: str, project_id: int) -> str:
    """The address of the project's page in BigTime's web app (see the assumption above):
    ``https://iq.bigtime.net/BigtimeData/api/v2`` → ``https://iq.bigtime.net/Bigtime/Project/1001``."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url.strip())
    origin = f"{parts.scheme or 'https'}://{parts.netloc}" if parts.netloc else "https://iq.bigtime.net"
    return origin + PROJECT_PAGE_PATH.format(project_id=int(project_id))
