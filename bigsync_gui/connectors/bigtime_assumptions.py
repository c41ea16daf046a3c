"""What the BigTime client *assumes* where BigTime's documentation is silent — in one place.

``docs/reference/bigtime.md`` marks these points **[unknown]**. Each constant below says what is
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
# ``STATELESS_REDIRECT_MAX_SECONDS`` and only once (``connectors/oauth/attempt.py``; the reasoning is in
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
# ``refresh_token``; client id and secret go in the body (the standard names requests-oauthlib sends:
# connectors/oauth/refresh.py; tests/unit/test_oauth.py holds the body to them).
# Unknown: whether a form-encoded body is accepted as well. Chosen: JSON first (the documented
# shape); on HTTP 400 or 415 the same request is sent once more as a form. The body that got a
# token is remembered (settings ``bigtime.token_body``) and used alone from then on.
TOKEN_PATH = "/oauth2/accesstoken"
AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_BODY_JSON = "json"
TOKEN_BODY_FORM = "form"
TOKEN_BODY_ORDER = (TOKEN_BODY_JSON, TOKEN_BODY_FORM)
TOKEN_BODY_FALLBACK_STATUSES = (400, 415)  # "this body is not understood": try the next shape once


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
# Sources (docs/reference/bigtime.md, "Audit of 2026-11-30"):
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
# Row figures whose every name is [libs] only. A project without budget-status rows says "nothing
# logged" (0) for a figure BigTime is known to report; for these it says nothing — no row ever showed
# the field exists — so an empty list leaves them unwritten rather than 0.
UNCONFIRMED_ROW_FIGURES = frozenset(
    {"hours_billable", "expenses_billable", "budget_hours", "budget_fees", "budget_expenses"}
)
# Row figures that an empty list does not answer: the above, and the total budget. No task rows says
# nothing was logged, but not that the budget is 0: a project without tasks keeps its budget on the
# project (its detail's BudgetFees), so Σ EstTotal over no rows would write a 0 next to that budget.
NO_ROWS_NO_ANSWER = UNCONFIRMED_ROW_FIGURES | {"budget_total"}
# Each Salesforce figure (core/settings.py DEFAULT_FIELD_MAP) -> its sources, tried in order until one
# answers (connectors/bigtime/figures.py). A source: (where, which field):
#   "project"         the project detail's field;
#   "rows"            the sum over the budget-status rows of a BUDGET_FIELDS figure;
#   "history"         the sum over the project's posted invoices as the invoice history lists them;
#   "invoice_detail"  the same sum, each invoice whose history row lacks the field read once with
#                     ``GET /invoice/detail/{id}`` (only invoices new or changed since the last read).
# A source answers only when every row or invoice it sums carries its field; else the next is tried;
# none answering leaves the figure unwritten ("absent is never 0"). Chosen and why:
# - budget_total: Σ EstTotal [live] — the task's fee + expense budget, the sum being the project's
#   budget ("Audit 2026-11-30"). The one budget figure with a live-checked source.
# - budget_fees, budget_hours: the project detail [doc] where BigTime gives them (whether they hold
#   anything for a project budgeted by task is undocumented: such a project may have none), then the
#   task budgets on the rows [libs].
# - budget_expenses: Σ BudgetExps [libs] only; EstTotal − BudgetFees would mix the project's budget
#   with its tasks' and is not used. Where it is absent the total budget holds the expense budget.
# - hours_logged, expenses_logged, wip: the [live] row sums (HrsIn, ExpCostIn, WipTotal).
# - invoiced_to_date: TotalAmt [libs in the history: its simple view's fields are undocumented; doc on
#   the detail], so payments (counted against TotalAmt) and the invoice rows (Amount__c = TotalAmt)
#   add up; else Σ InvoicedToDate [live]: the value of the work billed, *before tax* — a different
#   figure from TotalAmt on a taxed invoice, used only when no invoice total can be had.
# - paid_to_date: PaidAmt in the history, else on the invoice's detail (BigTime has no payment
#   endpoint).
WRITEBACK_CHAINS: dict[str, tuple[tuple[str, str], ...]] = {
    "budget_total": (("rows", "budget_total"),),
    "budget_fees": (("project", "BudgetFees"), ("rows", "budget_fees")),
    "budget_hours": (("project", "BudgetHours"), ("rows", "budget_hours")),
    "budget_expenses": (("rows", "budget_expenses"),),
    "hours_logged": (("rows", "hours_input"),),
    "expenses_logged": (("rows", "expenses_input"),),
    "wip": (("rows", "wip"),),
    "invoiced_to_date": (("history", "TotalAmt"), ("invoice_detail", "TotalAmt"), ("rows", "invoiced_to_date")),
    "paid_to_date": (("history", "PaidAmt"), ("invoice_detail", "PaidAmt")),
}
# The invoice fields the detail is read for when the history lacks them.
INVOICE_DETAIL_FIELDS = ("TotalAmt", "PaidAmt")
# A budget part that no source gave is not a problem when the total budget was written: BigTime keeps
# that project's budget by task, and the total holds it (docs/sync.md, "When a figure has no source").
# And the other way round: a project without task rows has no total, its fee budget being on the project.
EXPLAINED_BY = {
    "budget_fees": "budget_total",
    "budget_hours": "budget_total",
    "budget_expenses": "budget_total",
    "budget_total": "budget_fees",
}


def source_label(where: str, name: str) -> str:
    """A source in words, as Activity, ``status --json`` and doctor show which one answered."""
    if where == "project":
        return f"{name} on the project detail"
    if where == "rows":
        return f"sum of {BUDGET_FIELDS[name][0]} on budget-status rows"
    if where == "history":
        return f"{name} in the invoice history"
    return f"{name} from invoice details"


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

# ---- Character limits, and the client code that fits them --------------------------------------
# Known [doc, help "BigTime Character Limits"]: Project ID (ProjectCode) 30, Project Name 500, Project
# Notes 8000, Client ID (a client's code, ``ClientId``) 15, Client Name 50, Client Notes 500
# characters; "BigTime requires every client in the system to have a unique Id". Unknown: what the API
# does with a longer value (a 400, a cut, or nothing: the limits may be the web app's only), and
# whether it compares client codes ignoring case.
# Chosen: never send a longer value, counting characters the strict way: in UTF-16 code units, as
# .NET and SQL Server do (an emoji is two; the count is never below Python's).
# - **Client code** (``core/bigtime_limits.client_code``): "S" + 14 characters of 0-9A-Z = 15. What
#   identifies an account is its 15-character, case-sensitive id (an 18-character id is that plus a
#   suffix telling which letters are capitals). 15 case-sensitive characters hold 62**15 values, which
#   needs 18 characters of an alphabet without case: too many. But every Account id begins with the
#   key prefix "001", so the other 12 characters carry everything (62**12 < 36**14): read as a base-62
#   number (0-9A-Za-z) and written in 14 base-36 digits. Distinct accounts get distinct codes, ids
#   that differ only in case included, and a code means the same to a BigTime that ignores case. A
#   15- and an 18-character form of one id give one code (the 18-character id in any case: its
#   suffix restores the capitals). The code can be read back into the id (``account_of_code``), so a
#   client of ours is recognised as some account's even after that account was renamed.
# - **Names**: a client name over 50 (Salesforce allows 255) or a project name over 500 is cut on a
#   word boundary with an ellipsis ("…", one character); the whole name goes first into the record's
#   ``Notes``, then the Salesforce description (Long Text, up to 32,000), cut the same way to fit the
#   notes' own limit. An existing client is matched by its name whole, as we cut it, or as BigTime
#   would cut it (its first 50 characters).
# - **Earlier forms**: releases before this one coded a client "SF-" + the 18-character id (21
#   characters). Such a client is still found: by that code (ignoring case), or, if BigTime cut it to
#   15 ("SF-" + 12 characters, which accounts created close together share), only together with the
#   account's name.
ACCOUNT_KEY_PREFIX = "001"
CLIENT_CODE_PREFIX = "S"
LEGACY_CLIENT_CODE_PREFIX = "SF-"
CLIENT_CODE_MAX = 15
CLIENT_NAME_MAX = 50
PROJECT_NAME_MAX = 500
PROJECT_NOTES_MAX = 8000
CLIENT_NOTES_MAX = 500

# ---- ProjectCode: the code that finds a project again -------------------------------------------
# Known [doc]: a Project ID has at most 30 characters ("Character limits" above), so "SF-" + the
# 18-character id (21) fits. Unknown: whether a BigTime keeps fewer, and whether it would cut or refuse.
# The engine's once-only lookup needs the code to identify one opportunity, so it stays ready for a
# BigTime that keeps fewer: these forms, the first that fits the length learnt so far:
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


# ---- Two clients for one account: which one is used ---------------------------------------------
# Unknown: nothing documents how BigTime numbers records, and help/Time says time-entry "ID values can
# change": a larger SystemId is not a later record. Two clients can carry one account's code only when
# two installations created it at the same moment (docs/sync.md, "Clients"). Chosen: everyone uses the
# one with the most projects under it (where an installation already put its work; the project list is
# read in that cycle anyway), then the one under today's code form over an earlier one, then the lowest
# SystemId — a tie-break every installation computes alike, not a claim about age. What is left: if one
# installation put a project under its client before the other's showed in the list, and the other
# picks its own by the tie-break in the same instant, the account's projects sit under the two clients
# (none lost or duplicated; Activity names the unused one). The rule lives in ``core/client_lookup.py``
# (``pick``). Where BigTime enforces the unique client code its help asks for, the later create is
# refused instead (a 400): its installation reads the list again and uses the client holding the code
# (``core/creation.py``, ``_taken``); a 400 with no such client stands (the opportunity is refused).

# ---- A create without an answer has finished within our timeout ----------------------------------
# Unknown: nothing documents how long BigTime may go on with a create whose caller has gone (killed,
# connection dropped or timed out), nor whether a repeated ProjectCode is refused. Chosen: a create
# sent without an answer seen is not looked up and sent again until our connect + read timeout
# (settings ``bigtime.request_timeout_seconds``) has passed since it was sent; a BigTime that took
# longer than that could still land it after the look-up, and the project would exist twice. The
# rule lives in ``core/creation.py`` (``in_doubt``); the sandbox's ``hold`` fault plays a create that
# is still running when the caller gives up (tests/integration/test_engine.py).
