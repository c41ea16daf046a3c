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

# ---- The figures read back, and where each comes from (ONE mapping) ---------------------------
# Sources (shared/reference/bigtime.md, "Audit 2026-11-30"):
#   [live]  ``GET /task/BudgetStatusByProject/{id}`` per-task rows: ``EstTotal`` (fee + expense budget;
#           the sum over tasks is the project's budget), ``InvoicedToDate``, ``WipTotal``, ``HrsIn``,
#           ``ChargeIn``, ``FeeCostIn``, ``ExpCostIn`` — two scripts that say they were checked live.
#   [libs]  ``HoursInput, HoursBill, FeesInput, FeesCost, ExpensesInput, ExpensesBillable, TotalWip``
#           and the task budget ``BudgetHours, BudgetFees, BudgetExps`` on rows: two client libraries,
#           in no live-checked source. Read only where no live name exists for the figure.
#   [doc]   the project detail (``GET /project/detail/{id}?View=Detailed``) lists ``BudgetHours`` and
#           ``BudgetFees`` (also seen in a live View=Detailed probe; *not* in the list view);
#           ``GET /invoice/history`` lists ``ProjectSid``, ``InvoiceAmt``, ``TotalAmt``, ``PaidAmt``.
# A budget-status row's figures: our name -> BigTime names, the first present wins (case-insensitive).
BUDGET_FIELDS: dict[str, tuple[str, ...]] = {
    "hours_input": ("HrsIn", "HoursInput"),  # [live], then [libs]
    "fees_input": ("ChargeIn", "FeesInput"),  # [live], then [libs]
    "fees_cost": ("FeeCostIn", "FeesCost"),  # [live], then [libs]
    "expenses_input": ("ExpCostIn", "ExpensesInput"),  # [live], then [libs]
    "wip": ("WipTotal", "TotalWip"),  # [live], then [libs]
    "invoiced_to_date": ("InvoicedToDate",),  # [live]
    "budget_total": ("EstTotal",),  # [live]
    "hours_billable": ("HoursBill",),  # [libs] only
    "expenses_billable": ("ExpensesBillable",),  # [libs] only
    "budget_hours": ("BudgetHours",),  # [libs] only on rows
    "budget_fees": ("BudgetFees",),  # [libs] only on rows
    "budget_expenses": ("BudgetExps", "BudgetExpenses"),  # [libs] only: no live-checked source at all
}
# Each Salesforce figure (core/settings.py DEFAULT_FIELD_MAP) -> (where it is read, which field).
# "rows": the sum over the budget-status rows of a BUDGET_FIELDS figure; "project": the project
# detail's field; "invoices": the sum over the project's posted invoices in the invoice history.
# Chosen and why:
# - hours_logged, expenses_logged, wip: the [live] row sums (HrsIn, ExpCostIn, WipTotal).
# - budget_hours, budget_fees: the project detail [doc] — the only source besides [libs] rows.
# - budget_expenses: **no live-verified source**. Only [libs] rows carry BudgetExps; when BigTime
#   does not send it the figure is not written (EstTotal − BudgetFees would mix the project's budget
#   with its tasks' and is not used).
# - invoiced_to_date, paid_to_date: the invoice history [doc], TotalAmt and PaidAmt: payments count
#   against TotalAmt, so invoiced − paid is what is still owed, and the invoice rows
#   (BigTime_Invoice__c.Amount__c = TotalAmt) add up to the opportunity's figure. Not InvoicedToDate
#   [live]: it is the value of the work billed (before tax), which would not match the rows.
WRITEBACK_SOURCES: dict[str, tuple[str, str]] = {
    "budget_hours": ("project", "BudgetHours"),
    "budget_fees": ("project", "BudgetFees"),
    "budget_expenses": ("rows", "budget_expenses"),
    "hours_logged": ("rows", "hours_input"),
    "expenses_logged": ("rows", "expenses_input"),
    "wip": ("rows", "wip"),
    "invoiced_to_date": ("invoices", "TotalAmt"),
    "paid_to_date": ("invoices", "PaidAmt"),
}

# ---- Reading money back -----------------------------------------------------------------------
# Invoices: there is no per-project invoice endpoint and ``/invoice/history`` needs both dates, so
# a project's invoices are read from a window this wide (from this date to a year after today).
INVOICE_HISTORY_EARLIEST = "2000-01-01"
# An invoice's amount: ``TotalAmt`` [doc] only. ``InvoiceAmt`` is not always equal (tax, discount)
# and is a different quantity, so it is never used in its place: an invoice without ``TotalAmt``
# has no amount (not written), not its InvoiceAmt and not 0.
INVOICE_AMOUNT_FIELD = "TotalAmt"

# ``POST /expense/ReportByFilter``: body field names as the reference gives them; whether
# ``projectsids`` is a list or a comma-separated string is unknown — we send a JSON list.
EXPENSE_FILTER_FIELDS = {"start": "mindate", "end": "maxdate", "projects": "projectsids"}

# ---- Project contacts: where a new one is posted ----------------------------------------------
# Known [code]: pybt adds a project contact with ``POST /project/Contact?projectsid=`` (no id
# segment). ``POST /project/Contact/0?projectsid=`` was our own guess, in no public client.
# Chosen: pybt's form first; on 404 or 405 (nothing was created) the other, once; the form that
# worked is remembered by the client and used from then on.
CONTACT_CREATE_PATHS = ("/project/Contact", "/project/Contact/0")

# ---- ProjectCode: the code that finds a project again -------------------------------------------
# Unknown: the longest ProjectCode BigTime keeps, and whether it cuts a longer one or refuses it.
# The engine's once-only lookup needs the code to identify one opportunity: "SF-" + the 18-character
# id is 21 characters. Chosen: these forms, the first that fits the length learnt so far:
#   "SF-" + 18-char id (21) → "SF-" + 15-char id (18) → the 15-char id alone (15).
# The 15-character id is unique in an org but case-sensitive, so the two short forms are matched
# exactly (the 18-character one also ignoring case, as before). A code cut to 18..20 characters
# still holds the 15-char id; a code cut shorter is matched only together with the project name.
# Shorter than 15 cannot identify an opportunity: such a limit is an error the admin must see.
# Detected: a created project whose code comes back different from the one sent (cut), or a 400
# whose message names the ProjectCode and its length (refused: nothing was created).
PROJECT_CODE_MIN_LENGTH = 15
PROJECT_CODE_LENGTH_WORDS = ("long", "length", "characters", "exceed", "max")


def project_code_forms(prefix: str, record_id: str) -> tuple[str, ...]:
    """The codes that may identify the project of ``record_id``, longest first (see above)."""
    short = record_id[:15]
    return tuple(dict.fromkeys((prefix + record_id, prefix + short, short)))


def refuses_code_length(message: str) -> bool:
    """Whether a 400's message says the ProjectCode was too long (not, say, a duplicate)."""
    text = message.lower().replace(" ", "")
    return "projectcode" in text and any(word in text for word in PROJECT_CODE_LENGTH_WORDS)


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
