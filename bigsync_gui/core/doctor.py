"""``doctor``: every assumption BigSync makes about the connected services, checked with reads only.

``connectors/bigtime_assumptions.py`` lists what BigTime's documentation leaves open; the mapped
Salesforce fields are what the admin was asked to create. Each check below is a small function that
returns a :class:`Check`: **confirmed**, **different** (what was seen: field names and types, never
values) or **not checked** (and why). A check is *needed* when a difference stops BigSync from doing
what it is set up to do (a mapped figure could not be read or written, a project could not be found
again); a difference that is not needed is reported for us to learn from, and BigSync copes with it.

Doctor never writes to either service: it sends GETs only (plus, for OAuth, the token refresh that
every call needs). The redacted report (:func:`write_report`) holds names and types only — no
tokens, keys, record ids or values — so an admin can send it to us.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import BigTimeClient, lower_keys, pick
from ..connectors.bigtime.models import Project, api_names
from ..connectors.errors import (
    ApiLimitReached,
    ConnectorError,
    NotConnected,
    Offline,
    PermissionDenied,
    RateLimited,
    ReconnectNeeded,
    RequestRejected,
    ServiceUnavailable,
    Transient,
)
from ..connectors.salesforce import SalesforceClient
from ..connectors.systems import label_of
from .creation import CODE_MAX
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check, DoctorReport, report_path, write_report
from .problems import code_of
from .profile import Profile
from .settings import ACCOUNT_FIGURES, DEFAULT_FIELD_MAP, INVOICE_OBJECT, Settings
from .store import Store

FULL_CODE_LENGTH = len("SF-") + 18
BUDGET_PROJECTS_TRIED = 3  # linked projects whose budget rows doctor reads, at most, to find a row
# Opportunity field types that can hold each kind of figure (describe's ``type``).
_NUMBER_TYPES = {"currency", "double", "percent", "int", "long"}
_FIGURE_TYPES = {
    "project_id": {"string", "textarea"} | _NUMBER_TYPES,
    "project_url": {"url", "string", "textarea"},
    "last_sync": {"datetime"},
    "client_id": {"string"},
}
# What the write-back reads on the project list: its id, name and code, each under its first BigTime name
# with all the spellings Project.from_api tries.
_PROJECT_LIST_FIELDS = {names[0]: names for names in (api_names(Project, f) for f in ("id", "name", "code"))}
_INVOICE_FIELDS_USED = {
    "ProjectSid": "whose invoice it is",
    "TotalAmt": "invoiced_to_date",
    "PaidAmt": "paid_to_date",
    "InvoiceAmt": "",
}
_INVOICE_ROW_REQUIRED = ("Name", "Opportunity__c", "BigTime_Invoice_Id__c")


# ---- helpers ------------------------------------------------------------------------------------
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


def _why_not(exc: Exception) -> str:
    """Why a check could not run, without the service's message (it may quote ids or values)."""
    service = label_of(getattr(exc, "system", None))
    if isinstance(exc, NotConnected) and exc.message:
        return exc.message  # our own sentence: which sign-in is missing and how to make it
    if isinstance(exc, (NotConnected, ReconnectNeeded)):
        return f"{service} is not connected, or needs signing in again."
    if isinstance(exc, (Offline, ServiceUnavailable)):
        return f"{service} could not be reached."
    if isinstance(exc, (RateLimited, ApiLimitReached)):
        return f"{service} asked us to wait (rate limit)."
    if isinstance(exc, PermissionDenied):
        return f"The {service} user may not read this (HTTP {exc.status})."
    if isinstance(exc, RequestRejected):
        return f"{service} refused the read (HTTP {exc.status})."
    return f"{service} answered something unexpected ({type(exc).__name__})."


# ---- BigTime checks -----------------------------------------------------------------------------
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
    lacking = [ours for ours, names in _PROJECT_LIST_FIELDS.items() if not any(_present(first, n) for n in names)]
    names = [n for names in _PROJECT_LIST_FIELDS.values() for n in names] + ["DtModified"]
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


# ---- Salesforce checks --------------------------------------------------------------------------
def check_identity(sf: SalesforceClient) -> Check:
    ident = sf.identity()
    return Check(
        "salesforce",
        "salesforce.identity",
        "Salesforce's identity service names the user and the org",
        CONFIRMED,
        True,
        seen=("organization_id: text", "user_id: text") + (("username: text",) if ident.username else ()),
    )


def check_rights(sf: SalesforceClient) -> Check:
    title = "The connected Salesforce user may use the API"
    perms = sf.user_permissions()
    if perms is None or perms.api_enabled is None:
        return Check(
            "salesforce",
            "salesforce.rights",
            title,
            NOT_CHECKED,
            True,
            "The user's permission sets cannot be read (that needs View Setup); the calls above worked.",
        )
    seen = tuple(
        f"{name}: boolean"
        for name, value in (
            ("PermissionsApiEnabled", perms.api_enabled),
            ("PermissionsViewSetup", perms.view_setup),
            ("PermissionsModifyAllData", perms.modify_all_data),
        )
        if value is not None
    )
    if not perms.api_enabled:
        return Check(
            "salesforce",
            "salesforce.rights",
            title,
            DIFFERENT,
            True,
            "The user lacks 'API Enabled': give it in their profile or a permission set.",
            seen,
        )
    note = "" if perms.view_setup else "Without View Setup BigSync cannot read the org's API allowance."
    return Check("salesforce", "salesforce.rights", title, CONFIRMED, True, note, seen)


def check_opportunity_fields(sf: SalesforceClient, field_map: Mapping[str, str]) -> list[Check]:
    """Each mapped field exists on its object (the Account for ACCOUNT_FIGURES, else the Opportunity)."""
    field_map = {**{f: DEFAULT_FIELD_MAP[f] for f in ACCOUNT_FIGURES}, **field_map}  # saved before: the default
    described = {
        obj: {name.lower(): info for name, info in sf.fields(obj).items()}
        for obj in ("Opportunity", *(["Account"] if any(field_map.get(f) for f in ACCOUNT_FIGURES) else []))
    }
    out = []
    for figure, target in field_map.items():
        target = (target or "").strip()
        if not target:
            continue
        obj = "Account" if figure in ACCOUNT_FIGURES else "Opportunity"
        title = f"{obj}.{target} exists and can be edited (for {figure})"
        key = f"salesforce.{obj.lower()}.{figure}"
        info = described[obj].get(target.lower())
        if info is None:
            without = (
                "two installations on one org may both create its client"
                if obj == "Account"
                else f"{figure} is not written"
            )
            out.append(
                Check(
                    "salesforce",
                    key,
                    title,
                    DIFFERENT,
                    True,
                    f"{obj} has no field {target}: create it (or change the mapping), else {without}.",
                )
            )
            continue
        seen = (f"{info.name}: {info.type}" + ("" if info.updateable else ", read-only"),)
        allowed = _FIGURE_TYPES.get(figure, _NUMBER_TYPES)
        if not info.updateable:
            out.append(
                Check(
                    "salesforce",
                    key,
                    title,
                    DIFFERENT,
                    True,
                    f"{info.name} cannot be edited by this user: make it editable, else {figure} is not written.",
                    seen,
                )
            )
        elif info.type not in allowed:
            out.append(
                Check(
                    "salesforce",
                    key,
                    title,
                    DIFFERENT,
                    True,
                    f"{info.name} is a {info.type} field; {figure} needs one of {', '.join(sorted(allowed))}.",
                    seen,
                )
            )
        else:
            out.append(Check("salesforce", key, title, CONFIRMED, True, seen=seen))
    return out


def check_invoice_object(sf: SalesforceClient) -> Check:
    title = f"The org has {INVOICE_OBJECT} with {', '.join(_INVOICE_ROW_REQUIRED)} (optional: one row per invoice)"
    try:
        fields = {name.lower(): info for name, info in sf.fields(INVOICE_OBJECT).items()}
    except RequestRejected as exc:
        if exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
            return Check(
                "salesforce",
                "salesforce.invoice_object",
                title,
                DIFFERENT,
                False,
                f"The org has no {INVOICE_OBJECT}: invoice rows are not written (the totals still are).",
            )
        raise
    seen = tuple(
        f"{fields[n.lower()].name}: {fields[n.lower()].type}" for n in _INVOICE_ROW_REQUIRED if n.lower() in fields
    )
    lacking = [n for n in _INVOICE_ROW_REQUIRED if n.lower() not in fields or not fields[n.lower()].createable]
    if lacking:
        return Check(
            "salesforce",
            "salesforce.invoice_object",
            title,
            DIFFERENT,
            False,
            f"{INVOICE_OBJECT} lacks {', '.join(lacking)} (or they cannot be set): invoice rows are not written.",
            seen,
        )
    return Check("salesforce", "salesforce.invoice_object", title, CONFIRMED, False, seen=seen)


# ---- running them -------------------------------------------------------------------------------
def _guarded(
    report: DoctorReport, system: str, placeholders: Callable[[str], list[Check]], run: Callable[[], list[Check]]
) -> None:
    """Run some checks; if the service stops them, each becomes 'not checked' with the reason."""
    if system in report.stopped:
        report.checks.extend(placeholders(report.stopped_why[system]))
        return
    try:
        report.checks.extend(run())
    except (NotConnected, ReconnectNeeded, Transient) as exc:
        report.stopped[system] = code_of(exc)
        report.stopped_why[system] = _why_not(exc)
        report.checks.extend(placeholders(report.stopped_why[system]))
    except ConnectorError as exc:
        report.checks.extend(placeholders(_why_not(exc)))


def _not_checked(system: str, key: str, title: str, needed: bool) -> Callable[[str], list[Check]]:
    return lambda why: [Check(system, key, title, NOT_CHECKED, needed, why)]


def _open_store(profile: Profile) -> Store | None:
    db = profile.data_dir / "state.db"
    return Store(db) if db.exists() else None


def run_doctor(connector: Any, field_map: Mapping[str, str] | None = None, now: datetime | None = None) -> DoctorReport:
    """Every check, against the services ``connector`` (core.connections.Connector) is connected to.
    ``field_map``: the Opportunity fields to check (default: the saved mapping; the wizard passes
    the one about to be saved)."""
    settings: Settings = connector.settings()
    fmap = dict(settings.sync.field_map if field_map is None else field_map)
    mapped = {figure for figure, target in fmap.items() if (target or "").strip()}
    report = DoctorReport(checked_at=(now or datetime.now(timezone.utc)).isoformat(timespec="seconds"))
    store = _open_store(connector.profile)
    try:
        _salesforce_checks(report, connector, fmap)
        _bigtime_checks(report, connector, settings, mapped, store)
    finally:
        if store is not None:
            store.close()
    return report


def _salesforce_checks(report: DoctorReport, connector: Any, fmap: Mapping[str, str]) -> None:
    holder: dict[str, SalesforceClient] = {}

    def client() -> SalesforceClient:
        if "sf" not in holder:
            holder["sf"] = connector.salesforce()
        return holder["sf"]

    _guarded(
        report,
        "salesforce",
        _not_checked(
            "salesforce", "salesforce.identity", "Salesforce's identity service names the user and the org", True
        ),
        lambda: [check_identity(client())],
    )
    _guarded(
        report,
        "salesforce",
        _not_checked("salesforce", "salesforce.rights", "The connected Salesforce user may use the API", True),
        lambda: [check_rights(client())],
    )
    _guarded(
        report,
        "salesforce",
        lambda why: [
            Check(
                "salesforce",
                f"salesforce.{o.lower()}.{f}",
                f"{o}.{t} exists and can be edited (for {f})",
                NOT_CHECKED,
                True,
                why,
            )
            for f, t in fmap.items()
            if (t or "").strip()
            for o in ["Account" if f in ACCOUNT_FIGURES else "Opportunity"]
        ],
        lambda: check_opportunity_fields(client(), fmap),
    )
    _guarded(
        report,
        "salesforce",
        _not_checked("salesforce", "salesforce.invoice_object", f"The org has {INVOICE_OBJECT}", False),
        lambda: [check_invoice_object(client())],
    )
    from .cdc_readiness import DOCTOR_KEY, DOCTOR_TITLE, doctor_check  # instant triggers (optional)

    _guarded(
        report,
        "salesforce",
        _not_checked("salesforce", DOCTOR_KEY, DOCTOR_TITLE, False),
        lambda: doctor_check(client()),
    )


def _bigtime_checks(
    report: DoctorReport, connector: Any, settings: Settings, mapped: set[str], store: Store | None
) -> None:
    holder: dict[str, Any] = {}

    def client() -> BigTimeClient:
        if "bt" not in holder:
            holder["bt"] = connector.bigtime()
        return holder["bt"]

    _guarded(
        report,
        "bigtime",
        _not_checked(
            "bigtime", "bigtime.realm", "The firm id you entered is accepted as X-Auth-Realm on every call", True
        ),
        lambda: [check_realm(settings, client())],
    )
    report.checks.append(check_oauth_header(connector.settings(), holder.get("bt")))
    report.checks.append(check_token_body(connector.settings()))

    def project_list() -> list[Check]:
        raws = [p.raw for p in client().projects()]
        holder["project_ids"] = set()
        for raw in raws:
            pid = pick(raw, *_PROJECT_LIST_FIELDS["SystemId"])
            holder["project_ids"].add(pid)
        return [check_project_list(raws)]

    _guarded(
        report,
        "bigtime",
        _not_checked(
            "bigtime", "bigtime.project_list", "The project list carries each project's id, name and ProjectCode", True
        ),
        project_list,
    )

    listed = holder.get("project_ids", set())
    links = [link for link in (store.links("linked") if store is not None else []) if link.project_id in listed]
    why = (
        "No opportunity is linked to a BigTime project yet: run doctor again after the first project is created."
        if not links
        else "None of the linked projects is in BigTime's project list."
    )

    def budget_rows() -> list[Check]:
        # The newest few linked projects, until one has rows (a new project has no task or time yet).
        for link in sorted(links, key=lambda k: k.created_at, reverse=True)[:BUDGET_PROJECTS_TRIED]:
            rows = [r.raw for r in client().budget_status(link.project_id)]
            if rows:
                return check_budget_rows(rows, mapped)
        return check_budget_rows(
            None,
            mapped,
            why if not links else "The linked projects read have no budget rows yet (no task, time or expense).",
        )

    _guarded(report, "bigtime", lambda w: check_budget_rows(None, mapped, w), budget_rows)

    def detail() -> list[Check]:
        if not links:
            return check_project_detail(None, mapped, why)
        return check_project_detail(client().project(links[0].project_id).raw, mapped)

    _guarded(report, "bigtime", lambda w: check_project_detail(None, mapped, w), detail)
    _guarded(
        report,
        "bigtime",
        lambda w: check_invoices(None, mapped, w),
        lambda: check_invoices([i.raw for i in client().all_invoices()], mapped),
    )
    from . import doctor_figures  # it builds on this module's Check

    _guarded(
        report,
        "bigtime",
        lambda w: [doctor_figures.not_checked(w)],
        lambda: doctor_figures.check_figure_sources(client(), links, mapped, why),
    )
    from . import doctor_limits  # it builds on this module's Check

    _guarded(
        report,
        "bigtime",
        doctor_limits.not_checked,
        lambda: doctor_limits.check_client_limits(client().clients(include_inactive=True)),
    )
    report.checks.append(check_contact_path())
    report.checks.append(check_code_length(store))


__all__ = [
    "CONFIRMED",
    "DIFFERENT",
    "NOT_CHECKED",
    "Check",
    "DoctorReport",
    "report_path",
    "run_doctor",
    "write_report",
]
