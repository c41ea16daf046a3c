"""The BigTime API v2 client: one method per call this integration makes, errors typed.

There is deliberately **no delete method**: this integration never deletes a BigTime project (or
anything else) — a deleted opportunity only severs the link.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable, Mapping

import requests

from .. import bigtime_assumptions as A
from ..errors import PermissionDenied, ReconnectNeeded, RequestRejected, ServiceUnavailable, UnexpectedResponse
from ..http import HttpPolicy, require_secure_url
from .auth import JSON, AuthStrategy, secret_values
from .figures import ProjectTotals, totals_from
from .models import (
    BudgetRow,
    Client,
    Contact,
    Expense,
    Invoice,
    PicklistItem,
    Project,
    StaffMember,
    TimeEntry,
    WhoAmI,
)
from .parsing import SYSTEM, date_param, error_message, pick, records, to_int, to_text

DEFAULT_BASE_URL = "https://iq.bigtime.net/BigtimeData/api/v2"
# How many times one request may be re-sent after a 401 (each time only if the auth strategy has
# something new to try: another header form, a refreshed token, a new session).
MAX_AUTH_RETRIES = 3


class BigTimeClient:
    """BigTime API v2 over one :class:`HttpPolicy`.

    Methods return the small dataclasses above (``raw`` keeps BigTime's record). Creates are sent
    once (``idempotent=False``): after :class:`Offline` on a create, whether it happened is unknown —
    look for its code in :meth:`projects` before creating again (core/creation.py does). Updates send
    the same fields again on a retry, which is harmless, so they are retried like reads.

    There is deliberately **no delete method**: this integration never deletes a project.
    """

    def __init__(self, base_url: str, auth: AuthStrategy, http: HttpPolicy) -> None:
        self.base_url = require_secure_url(SYSTEM, base_url.rstrip("/"))
        self.auth = auth
        self.http = http
        self.contact_create_path: str | None = None  # learnt on the first contact added
        bind = getattr(auth, "bind", None)
        if callable(bind):
            bind(self.base_url, http)

    # ---- plumbing ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        action: str = "do this",
    ) -> Any:
        """One API call: sign, send through the policy, cure a 401 if the strategy can, map errors,
        return the parsed JSON. ``action`` completes "The BigTime user lacks the right to …"."""
        url = self.base_url + path
        retries = 0
        while True:
            auth_headers = self.auth.headers()
            headers = {"Accept": JSON, "Content-Type": JSON, **auth_headers}
            kwargs: dict[str, Any] = {"headers": headers}
            if params:
                kwargs["params"] = params
            if json_body is not None:
                kwargs["json"] = json_body
            response = self.http.request(method, url, idempotent=idempotent, **kwargs)
            if response.status_code != 401:
                break
            # A 401 is decided before any work is done, so even a create may be sent again.
            if retries < MAX_AUTH_RETRIES and self.auth.on_unauthorized(auth_headers):
                retries += 1
                continue
            raise ReconnectNeeded(SYSTEM, "BigTime no longer accepts the stored sign-in (HTTP 401)")
        secrets = secret_values(auth_headers)
        status = response.status_code
        if 200 <= status < 300:
            on_success = getattr(self.auth, "on_success", None)
            if callable(on_success):
                on_success(auth_headers)
            return self._json(response)
        message = error_message(response, secrets)
        if status == 405 or status == 403:
            raise PermissionDenied(
                SYSTEM, status, f"The BigTime user lacks the right to {action}. BigTime said: {message}"
            )
        if status == 404:
            raise RequestRejected(SYSTEM, 404, f"BigTime could not find it: {message}")
        if 400 <= status < 500:
            raise RequestRejected(SYSTEM, status, message)
        if status >= 500:
            raise ServiceUnavailable(SYSTEM, status, f"BigTime answered HTTP {status}: {message}")
        raise UnexpectedResponse(SYSTEM, f"BigTime answered HTTP {status}, which this app does not expect.")

    @staticmethod
    def _json(response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise UnexpectedResponse(
                SYSTEM,
                f"BigTime answered with something that is not JSON ({kind}); the address may not be a BigTime API.",
            ) from None

    def _get(self, path: str, params: Mapping[str, Any] | None = None, action: str = "read this") -> Any:
        return self.request("GET", path, idempotent=True, params=params, action=action)

    @staticmethod
    def _new_id(data: Any, what: str) -> int:
        new_id = to_int(pick(data, "SystemId", "Sid", "Id"))
        if new_id is None:
            raise UnexpectedResponse(SYSTEM, f"BigTime created the {what} but its answer carried no id.")
        return new_id

    # ---- who we are ---------------------------------------------------------------------------
    def whoami(self) -> WhoAmI:
        """The firm and user behind the credential; one or two requests, and proof that it works."""
        identity_fn = getattr(self.auth, "identity", None)
        ident = dict(identity_fn() if callable(identity_fn) else {})
        who = WhoAmI(
            auth_mode=getattr(self.auth, "mode", "unknown"),
            firm_id=ident.get("firm_id"),
            firm_name=ident.get("firm_name"),
            staff_id=ident.get("staff_id"),
            user_id=ident.get("user_id"),
            name=ident.get("name"),
        )
        if who.staff_id is not None:
            member = self.staff_member(who.staff_id)
            who.name = member.full_name or who.name
            who.email = member.email
        else:
            self._get(A.WHOAMI_PROBE_PATH)
        return who

    # ---- projects -----------------------------------------------------------------------------
    def projects(self, include_inactive: bool = True) -> list[Project]:
        data = self._get("/project", {"ShowInactive": "true" if include_inactive else "false"}, "read projects")
        return [Project.from_api(r) for r in records(data)]

    def project(self, project_id: int) -> Project:
        return Project.from_api(self._get(f"/project/detail/{int(project_id)}", {"View": "Detailed"}, "read projects"))

    def create_project(self, fields: Mapping[str, Any]) -> int:
        """Create a project (BigTime's field names, e.g. ``Nm``, ``ProjectCode``, ``ClientId`` = the
        client's SystemId); its new SystemId. Sent once: see the class docstring."""
        return self.create_project_record(fields).id  # type: ignore[return-value]

    def create_project_record(self, fields: Mapping[str, Any]) -> Project:
        """As :meth:`create_project`, and the project as BigTime keeps it — so the caller can see
        whether a field (the ProjectCode) was kept as sent. When the answer carries no
        ``ProjectCode`` the project is read back (one more request)."""
        data = self.request(
            "POST", "/project/detail", idempotent=False, json_body=dict(fields), action="create projects"
        )
        project = Project.from_api(data)
        project.id = self._new_id(data, "project")
        if "ProjectCode" in fields and pick(data, "ProjectCode") is None:
            project = self.project(project.id)
        return project

    def update_project(self, project_id: int, fields: Mapping[str, Any]) -> Project:
        data = self.request(
            "POST",
            f"/project/detail/{int(project_id)}",
            idempotent=True,
            json_body=dict(fields),
            action="edit projects",
        )
        return Project.from_api(data)

    def project_contacts(self, project_id: int) -> list[Contact]:
        data = self._get("/project/Contacts", {"id": int(project_id)}, "read project contacts")
        return [Contact.from_api(r) for r in records(data)]

    def add_project_contact(self, project_id: int, fields: Mapping[str, Any]) -> int:
        """Add a contact (``FName``, ``SName``, ``EMail``, ``Tag`` PRIMARY|BILLING|OTHER ...); its id.
        Sent once (not idempotent) to the path that worked before, else to each of
        :data:`.bigtime_assumptions.CONTACT_CREATE_PATHS` in turn while BigTime answers 404 or 405
        (it created nothing then); the one that works is kept for the next contacts."""
        paths = [self.contact_create_path] if self.contact_create_path else list(A.CONTACT_CREATE_PATHS)
        for index, path in enumerate(paths):
            try:
                data = self.request(
                    "POST",
                    path,
                    idempotent=False,
                    params={"projectsid": int(project_id)},
                    json_body=dict(fields),
                    action="edit project contacts",
                )
            except RequestRejected as exc:
                if exc.status in (404, 405) and index + 1 < len(paths):
                    continue
                raise
            self.contact_create_path = path
            return self._new_id(data, "contact")
        raise AssertionError("unreachable")

    def update_project_contact(self, project_id: int, contact_id: int, fields: Mapping[str, Any]) -> Contact:
        data = self.request(
            "POST",
            f"/project/Contact/{int(contact_id)}",
            idempotent=True,
            params={"projectsid": int(project_id)},
            json_body=dict(fields),
            action="edit project contacts",
        )
        return Contact.from_api(data)

    def project_custom_fields(self, project_id: int) -> dict[str, Any]:
        """The project's custom field values by name."""
        data = self._get(f"/project/CustomFields/{int(project_id)}", action="read projects")
        return {name: pick(r, "Value") for r in records(data) if (name := to_text(pick(r, "Name")))}

    # ---- clients ------------------------------------------------------------------------------
    def clients(self, include_inactive: bool = True) -> list[Client]:
        data = self._get("/client", {"ShowInactive": "true" if include_inactive else "false"}, "read clients")
        return [Client.from_api(r) for r in records(data)]

    def client(self, client_id: int) -> Client:
        # BigTime answers the basic view unless asked for the detailed one (help/Client).
        data = self._get(f"/client/detail/{int(client_id)}", {"View": "Detailed"}, "read clients")
        return Client.from_api(data)

    def create_client(self, fields: Mapping[str, Any]) -> int:
        """Create a client (``Nm`` required; ``ClientId`` here is the text client *code*); its SystemId.
        Sent once (not idempotent)."""
        data = self.request("POST", "/client/detail", idempotent=False, json_body=dict(fields), action="create clients")
        return self._new_id(data, "client")

    def update_client(self, client_id: int, fields: Mapping[str, Any]) -> Client:
        data = self.request(
            "POST", f"/client/detail/{int(client_id)}", idempotent=True, json_body=dict(fields), action="edit clients"
        )
        return Client.from_api(data)

    # ---- staff, picklists ---------------------------------------------------------------------
    def staff(self) -> list[StaffMember]:
        return [StaffMember.from_api(r) for r in records(self._get("/staff", action="read staff"))]

    def staff_member(self, staff_id: int) -> StaffMember:
        return StaffMember.from_api(self._get(f"/staff/detail/{int(staff_id)}", action="read staff"))

    def picklist(self, name: str) -> list[PicklistItem]:
        """``/picklist/{name}``: projects, clients, staff, LaborCodes ..."""
        return [PicklistItem.from_api(r) for r in records(self._get(f"/picklist/{name}", action="read lists"))]

    def field_values(self, field_name: str) -> list[PicklistItem]:
        """``/picklist/FieldValues/{field}``, e.g. ``StatusProduction`` → [{id, name, group}]."""
        data = self._get(f"/picklist/FieldValues/{field_name}", action="read lists")
        return [PicklistItem.from_api(r) for r in records(data)]

    # ---- time, expenses -------------------------------------------------------------------------
    def time_by_project(self, project_id: int, start: date | str, end: date | str) -> list[TimeEntry]:
        data = self._get(
            f"/time/ByProject/{int(project_id)}", {"StartDt": date_param(start), "EndDt": date_param(end)}, "read time"
        )
        return [TimeEntry.from_api(r) for r in records(data)]

    def expenses(self, start: date | str, end: date | str, project_ids: Iterable[int] | None = None) -> list[Expense]:
        """``POST /expense/ReportByFilter`` — a report, i.e. a read: retried like a GET."""
        names = A.EXPENSE_FILTER_FIELDS
        body: dict[str, Any] = {names["start"]: date_param(start), names["end"]: date_param(end)}
        if project_ids is not None:
            body[names["projects"]] = [int(p) for p in project_ids]
        data = self.request("POST", "/expense/ReportByFilter", idempotent=True, json_body=body, action="read expenses")
        return [Expense.from_api(r) for r in records(data)]

    # ---- invoices, budgets --------------------------------------------------------------------
    def invoice_history(self, start: date | str, end: date | str) -> list[Invoice]:
        """Posted invoices dated in [start, end] (both required by BigTime)."""
        data = self._get("/invoice/history", {"startDt": date_param(start), "endDt": date_param(end)}, "view invoices")
        return [Invoice.from_api(r) for r in records(data)]

    def all_invoices(self) -> list[Invoice]:
        """Every posted invoice (one request over the widest window; see the assumptions)."""
        return self.invoice_history(A.INVOICE_HISTORY_EARLIEST, date.today() + timedelta(days=366))

    def invoice(self, invoice_id: int) -> Invoice:
        return Invoice.from_api(self._get(f"/invoice/detail/{int(invoice_id)}", action="view invoices"))

    def budget_status(self, project_id: int) -> list[BudgetRow]:
        """Per-task rows of ``/task/BudgetStatusByProject``, normalised to one set of names."""
        data = self._get(f"/task/BudgetStatusByProject/{int(project_id)}", action="read budgets")
        return [BudgetRow.from_api(r) for r in records(data)]

    def project_totals(self, project_id: int, invoices: Iterable[Invoice] | None = None) -> ProjectTotals:
        """The project's figures for the write-back (see :class:`ProjectTotals`): its detail, its
        budget-status rows and the posted invoices. Pass ``invoices`` (e.g. one
        :meth:`all_invoices` per cycle) to save the history request; otherwise 3 requests, plus one
        invoice detail per invoice of the project whose history row lacks TotalAmt or PaidAmt."""
        project = self.project(project_id)
        listed = self.all_invoices() if invoices is None else list(invoices)
        details = {
            i.id: self.invoice(i.id).raw
            for i in listed
            if i.project_id == project_id
            and i.id is not None
            and any(pick(i.raw, name) is None for name in A.INVOICE_DETAIL_FIELDS)
        }
        return totals_from(project_id, project, self.budget_status(project_id), listed, details)
