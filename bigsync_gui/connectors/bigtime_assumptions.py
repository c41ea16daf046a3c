"""What the BigTime client *assumes* where BigTime's documentation is silent — in one place.

``shared/reference/bigtime.md`` marks these points **[unknown]**. Each constant below says what is
known, what we chose, and why; change a choice here and nowhere else. The sandbox emulator accepts
only what the reference documents by default; each other plausible reading is a named switch
(docs/sandbox.md), and the tests run the client against both.
"""

from __future__ import annotations

# ---- OAuth: the redirect carries no ``state`` -------------------------------------------------
# Known [doc, help/OAuth2]: BigTime redirects to ``{redirect_uri}?code={code}`` — no ``state``.
# Unknown: whether BigTime echoes a ``state`` (or honours PKCE) when one is sent.
# Chosen: send both anyway (harmless if ignored); refuse a *mismatched* state; accept a *missing*
# one only for the one pending sign-in attempt on its exact redirect address, within
# ``STATELESS_REDIRECT_MAX_SECONDS`` and only once (``connectors/oauth.py``; the reasoning is in
# docs/security.md). Salesforce always echoes ``state``, so it stays required there.
REDIRECT_REQUIRES_STATE = False
STATELESS_REDIRECT_MAX_SECONDS = 15 * 60  # as long as the sign-in page's own login transaction

# ---- OAuth: the realm (firm id) ----------------------------------------------------------------
# Known [doc]: every documented API call carries ``X-Auth-Realm: <firm id>``; the documented token
# response is ``{access_token, refresh_token, expires_in}`` — no firm, no token type — and no
# documented call tells an OAuth client its firm. Chosen: the admin types the firm id (BigTime:
# *My Company › Company Info*), as with an API key, and it goes on every call. The token response is
# never the source of the realm; if one does name a firm (``TOKEN_FIRM_FIELDS``) that differs from
# the typed one, connecting stops with a sentence naming both (``core/connections.py``).
TOKEN_FIRM_FIELDS = ("firm", "firmid", "realm")
# Who signed in, when BigTime puts it in the token response (as in the session answer); else None.
TOKEN_STAFF_FIELDS = ("staffsid", "staffid")
TOKEN_USER_FIELDS = ("userid",)

# ---- OAuth: which header carries the access token ------------------------------------------
# Known: session tokens go in ``X-Auth-Token`` + ``X-Auth-Realm`` [doc]. Unknown: whether an OAuth
# access token goes in ``X-Auth-Token`` too or in ``Authorization: Bearer``.
# Chosen: ``X-Auth-Token`` + realm first (the form every documented call uses), then ``Authorization:
# Bearer`` + realm: on a 401 to a token not yet seen working, the same token is tried once in the
# other form before refreshing. The form that works is remembered (``OAuthAuth.header_mode``) and
# never switched again; the profile keeps it (settings ``bigtime.oauth_header``) so later runs start
# with it and ``doctor`` can say which one BigTime took.
OAUTH_HEADER_X_AUTH_TOKEN = "x-auth-token"
OAUTH_HEADER_BEARER = "bearer"
OAUTH_HEADER_ORDER = (OAUTH_HEADER_X_AUTH_TOKEN, OAUTH_HEADER_BEARER)

# ---- OAuth: the token endpoint ----------------------------------------------------------------
# Known [doc]: ``POST /oauth2/accesstoken`` with client_id, client_secret, code and
# grant_type=authorization_code, the body shown as a JSON-style object. Inferred (the doc text is
# truncated): a refresh posts to the same endpoint with grant_type=refresh_token and
# ``refresh_token``; client id and secret go in the body.
# Unknown: whether a form-encoded body is accepted as well. Chosen: JSON first (the documented
# shape); on HTTP 400 or 415 the same request is sent once more as a form. The body that got a
# token is remembered (settings ``bigtime.token_body``) and used alone from then on.
TOKEN_PATH = "/oauth2/accesstoken"
AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_BODY_JSON = "json"
TOKEN_BODY_FORM = "form"
TOKEN_BODY_ORDER = (TOKEN_BODY_JSON, TOKEN_BODY_FORM)
TOKEN_BODY_FALLBACK_STATUSES = (400, 415)  # "this body is not understood": try the next shape once
REFRESH_GRANT_TYPE = "refresh_token"
REFRESH_TOKEN_FIELD = "refresh_token"
CLIENT_ID_FIELD = "client_id"
CLIENT_SECRET_FIELD = "client_secret"


def refresh_request_body(refresh_token: str, client_id: str, client_secret: str | None) -> dict[str, str]:
    """The fields of a refresh-token request, with the names assumed above."""
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
