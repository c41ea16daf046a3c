"""``doctor``: every assumption BigSync makes about the connected services, checked with reads only.

``connectors/bigtime_assumptions.py`` lists what BigTime's documentation leaves open; the mapped
Salesforce fields are what the admin was asked to create. Each check (``doctor_bigtime.py``,
``doctor_salesforce.py`` and the ``doctor_*`` modules beside them) is a small function that
returns a :class:`Check`: **confirmed**, **different** (what was seen: field names and types, never
values) or **not checked** (and why). A check is *needed* when a difference stops BigSync from doing
what it is set up to do (a mapped figure could not be read or written, a project could not be found
again); a difference that is not needed is reported for us to learn from, and BigSync copes with it.

Doctor never writes to either service: it sends GETs only (plus, for OAuth, the token refresh that
every call needs). The redacted report (:func:`write_report`) holds names and types only — no
tokens, keys, record ids or values — so an admin can send it to us.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..connectors.bigtime import BigTimeClient, pick
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
from .doctor_bigtime import (
    PROJECT_LIST_FIELDS,
    check_budget_rows,
    check_code_length,
    check_contact_path,
    check_invoices,
    check_oauth_header,
    check_project_detail,
    check_project_list,
    check_realm,
    check_token_body,
)
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check, DoctorReport, report_path, write_report
from .doctor_salesforce import check_identity, check_invoice_object, check_opportunity_fields, check_rights
from .problems import code_of
from .profile import Profile
from .settings import ACCOUNT_FIGURES, INVOICE_OBJECT, Settings
from .store import Store

BUDGET_PROJECTS_TRIED = 3  # linked projects whose budget rows doctor reads, at most, to find a row


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
            pid = pick(raw, *PROJECT_LIST_FIELDS["SystemId"])
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
