"""doctor's BigTime checks: what BigTime's documentation leaves open (``connectors/bigtime_assumptions.py``),
each a small function returning a :class:`Check` with field names and types seen, never values.
``core/doctor.py`` runs them, reads only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import BigTimeClient, lower_keys
from ..connectors.bigtime.models import Project, api_names
from .creation import CODE_MAX
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check
from .settings import Settings
from .store import Store

FULL_CODE_LENGTH = len("SF-") + 18
# What the write-back reads on the project list: its id, name and code, each under its first BigTime name
# with all the spellings Project.from_api tries.
PROJECT_LIST_FIELDS = {names[0]: names for names in (api_names(Project, f) for f in ("id", "name", "code"))}
_INVOICE_FIELDS_USED = {
    "ProjectSid": "whose invoice it is",
    "TotalAmt": "invoiced_to_date",
    "PaidAmt": "paid_to_date",
    "InvoiceAmt": "",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else "object" if isinstance(value, Mapping) else type(value).__name__


def _shape(record: Mapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
    """``name: type`` for each of ``names`` the record carries (matched ignoring case)."""
    low = lower_keys(record)
    out = []
    for name in names:
        if name.lower() in low:
            real = next(k for k in record if k.lower() == name.lower())
            out.append(f"{real}: {_type_name(low[name.lower()])}")
    return tuple(out)


def _present(record: Mapping[str, Any], name: str) -> bool:
    return name.lower() in lower_keys(record)


def check_oauth_header(settings: Settings, bt: BigTimeClient | None) -> Check:
    title = "BigTime takes the OAuth access token in X-Auth-Token (the documented form)"
    if settings.bigtime.auth_mode != "oauth":
        return Check(
            "bigtime",
            "bigtime.oauth_header",
            title,
            NOT_CHECKED,
            False,
            "Only for OAuth; BigTime is connected with an API key."
            if settings.bigtime.auth_mode == "api_key"
            else "Only for OAuth.",
        )
    auth = getattr(bt, "auth", None)
    learnt = getattr(auth, "header_mode", "") if getattr(auth, "header_mode_confirmed", False) else ""
    mode = settings.bigtime.oauth_header or learnt
    if not mode:
        return Check("bigtime", "bigtime.oauth_header", title, NOT_CHECKED, False, "No call has succeeded yet.")
    if mode == A.OAUTH_HEADER_X_AUTH_TOKEN:
        return Check("bigtime", "bigtime.oauth_header", title, CONFIRMED, False, seen=("X-Auth-Token",))
    return Check(
        "bigtime",
        "bigtime.oauth_header",
        title,
        DIFFERENT,
        False,
        "BigTime took the token as 'Authorization: Bearer'; BigSync uses that form from now on.",
        seen=("Authorization: Bearer",),
    )


def check_token_body(settings: Settings) -> Check:
    title = "BigTime's token endpoint takes a JSON body (the documented shape)"
    body = settings.bigtime.token_body
    if settings.bigtime.auth_mode != "oauth" or not body:
        return Check(
            "bigtime",
            "bigtime.token_body",
            title,
            NOT_CHECKED,
            False,
            "Only for OAuth." if settings.bigtime.auth_mode != "oauth" else "No token was obtained yet.",
        )
    if body == A.TOKEN_BODY_JSON:
        return Check("bigtime", "bigtime.token_body", title, CONFIRMED, False, seen=("application/json",))
    return Check(
        "bigtime",
        "bigtime.token_body",
        title,
        DIFFERENT,
        False,
        "BigTime took the token request only as a form; BigSync sends it so from now on.",
        seen=("application/x-www-form-urlencoded",),
    )


def check_realm(settings: Settings, bt: BigTimeClient) -> Check:
    """The firm id typed by the admin goes in X-Auth-Realm; the token (if it names one) agrees."""
    title = "The firm id you entered is accepted as X-Auth-Realm on every call"
    auth = bt.auth
    token_firm = getattr(auth, "token_firm", None)
    if token_firm and token_firm != settings.bigtime.firm_id:
        return Check(
            "bigtime",
            "bigtime.realm",
            title,
            DIFFERENT,
            True,
            "BigTime's token names another firm than the one entered: check the firm id "
            "(BigTime › My Company › Company Info) and connect BigTime again.",
            seen=("token: firm",),
        )
    bt.whoami()  # a read: proves the credential with this realm
    return Check("bigtime", "bigtime.realm", title, CONFIRMED, True, seen=("X-Auth-Realm",))


def check_project_list(projects: Sequence[Mapping[str, Any]]) -> Check:
    title = "The project list carries each project's id, name and ProjectCode"
    if not projects:
        return Check("bigtime", "bigtime.project_list", title, NOT_CHECKED, True, "BigTime has no project yet.")
    first = projects[0]
    lacking = [ours for ours, names in PROJECT_LIST_FIELDS.items() if not any(_present(first, n) for n in names)]
    names = [n for names in PROJECT_LIST_FIELDS.values() for n in names] + ["DtModified"]
    seen = _shape(first, names)
    if lacking:
        return Check(
            "bigtime",
            "bigtime.project_list",
            title,
            DIFFERENT,
            True,
            f"A project in the list lacks {', '.join(lacking)}: BigSync cannot find its projects again.",
            seen,
        )
    note = "" if _present(first, "DtModified") else "No DtModified in the list: figures are refreshed by rotation."
    return Check("bigtime", "bigtime.project_list", title, CONFIRMED, True, note, seen)


def check_budget_rows(rows: Sequence[Mapping[str, Any]] | None, mapped: set[str], why_not: str = "") -> list[Check]:
    """One check per BUDGET_FIELDS figure: its first ([live]) name on every row. Needed when a mapped
    write-back figure is summed from it."""
    from_rows = {
        name: figure for figure, chain in A.WRITEBACK_CHAINS.items() for where, name in chain if where == "rows"
    }
    out = []
    for ours, names in A.BUDGET_FIELDS.items():
        figure = from_rows.get(ours)
        # needed: the figure's first source, with a live-checked name (a fallback's absence is not a problem)
        needed = (
            figure is not None
            and figure in mapped
            and A.WRITEBACK_CHAINS[figure][0] == ("rows", ours)
            and ours not in A.UNCONFIRMED_ROW_FIGURES
        )
        title = f"Budget-status rows carry {names[0]}" + (f" (for {figure})" if figure else "")
        key = f"bigtime.budget_row.{ours}"
        if rows is None or not rows:
            out.append(
                Check("bigtime", key, title, NOT_CHECKED, needed, why_not or "The linked project has no budget rows.")
            )
            continue
        everywhere = [n for n in names if all(_present(r, n) for r in rows)]
        seen = _shape(rows[0], names)
        if names[0] in everywhere:
            out.append(Check("bigtime", key, title, CONFIRMED, needed, seen=seen))
        elif everywhere:
            out.append(
                Check(
                    "bigtime",
                    key,
                    title,
                    DIFFERENT,
                    False,
                    f"Rows carry {everywhere[0]} instead of {names[0]}; BigSync reads that.",
                    seen,
                )
            )
        else:
            what = (
                f"{figure} comes from its next source or stays empty (never 0)" if figure else "BigSync does not use it"
            )
            if ours == "budget_expenses":
                what += "; this name comes from client libraries only, so its absence is expected"
            out.append(
                Check(
                    "bigtime",
                    key,
                    title,
                    DIFFERENT,
                    needed,
                    f"No row carries {' or '.join(names)}: {what}.",
                    _shape(rows[0], rows[0]),
                )
            )
    return out


def check_project_detail(detail: Mapping[str, Any] | None, mapped: set[str], why_not: str = "") -> list[Check]:
    out = []
    for figure, chain in A.WRITEBACK_CHAINS.items():
        name = next((n for where, n in chain if where == "project"), None)
        if name is None:
            continue
        title = f"The project detail carries {name} (for {figure})"
        needed = figure in mapped and len(chain) == 1
        if detail is None:
            out.append(Check("bigtime", f"bigtime.project_detail.{name}", title, NOT_CHECKED, needed, why_not))
        elif _present(detail, name):
            out.append(
                Check(
                    "bigtime", f"bigtime.project_detail.{name}", title, CONFIRMED, needed, seen=_shape(detail, [name])
                )
            )
        else:
            out.append(
                Check(
                    "bigtime",
                    f"bigtime.project_detail.{name}",
                    title,
                    DIFFERENT,
                    needed,
                    f"The detail has no {name}: {figure} comes from its next source or stays empty "
                    "(a project budgeted by task keeps its budget on its tasks: Budget (total)).",
                    _shape(detail, detail),
                )
            )
    return out


def check_invoices(invoices: list[Mapping[str, Any]] | None, mapped: set[str], why_not: str = "") -> list[Check]:
    """ProjectSid, TotalAmt, PaidAmt on every posted invoice (needed when an invoice figure is mapped);
    InvoiceAmt is reported, never needed."""
    out = []
    by_invoice = {"invoiced_to_date", "paid_to_date"} & mapped
    for name, use in _INVOICE_FIELDS_USED.items():
        needed = bool(by_invoice) if name == "ProjectSid" else False  # amounts: the invoice's detail is next
        title = f"Invoice history rows carry {name}" + (f" ({use})" if use else " (shown, not used for amounts)")
        key = f"bigtime.invoice.{name}"
        if not invoices:
            out.append(
                Check("bigtime", key, title, NOT_CHECKED, needed, why_not or "BigTime has no posted invoice yet.")
            )
            continue
        everywhere = all(_present(i, name) for i in invoices)
        if everywhere:
            out.append(Check("bigtime", key, title, CONFIRMED, needed, seen=_shape(invoices[0], [name])))
        else:
            note = f"Some invoices lack {name}: " + (
                f"{use} is read from each invoice's detail (GET /invoice/detail/{{id}}) instead."
                if use and name != "ProjectSid"
                else f"{use} cannot be summed per project."
                if use
                else "BigSync does not need it."
            )
            out.append(Check("bigtime", key, title, DIFFERENT, needed, note, _shape(invoices[0], _INVOICE_FIELDS_USED)))
    return out


def check_contact_path() -> Check:
    return Check(
        "bigtime",
        "bigtime.contact_path",
        f"New project contacts are posted to {A.CONTACT_CREATE_PATHS[0]}",
        NOT_CHECKED,
        False,
        "Learnt only by adding a contact, which doctor never does; the sync tries "
        f"{' then '.join(A.CONTACT_CREATE_PATHS)}.",
    )


def check_code_length(store: Store | None) -> Check:
    title = f"BigTime keeps a ProjectCode of {FULL_CODE_LENGTH} characters ('SF-' + the 18-character id)"
    learnt = store.get_meta(CODE_MAX) if store is not None else None
    if not learnt:
        return Check(
            "bigtime",
            "bigtime.project_code_length",
            title,
            NOT_CHECKED,
            True,
            "No project code has been cut or refused so far.",
        )
    length = int(learnt)
    seen = (f"ProjectCode: at most {length} characters",)
    if length >= FULL_CODE_LENGTH:
        return Check("bigtime", "bigtime.project_code_length", title, CONFIRMED, True, seen=seen)
    if length >= A.PROJECT_CODE_MIN_LENGTH:
        return Check(
            "bigtime",
            "bigtime.project_code_length",
            title,
            DIFFERENT,
            False,
            "New projects get a shorter code that still holds the opportunity's 15-character id.",
            seen,
        )
    return Check(
        "bigtime",
        "bigtime.project_code_length",
        title,
        DIFFERENT,
        True,
        f"Codes shorter than {A.PROJECT_CODE_MIN_LENGTH} characters cannot identify an opportunity: ask "
        "BigTime support whether the ProjectCode limit can be raised.",
        seen,
    )
