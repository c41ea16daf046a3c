"""The BigTime emulator's REST API: projects, contacts, custom fields, clients, staff, picklists,
time, expenses, invoices and budgets, each handler checking the caller's right through the
authenticator (:mod:`.auth`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from ..web import ApiError, Handler, read_json
from .data import ValidationError, parse_date
from .handlers import API_PREFIX, arg, bool_arg, lower_keys
from .limits import required_on_create
from .schema import pick

if TYPE_CHECKING:
    from .auth import BigTimeAuth
    from .data import BigTimeData


class RestRoutes:
    """``/BigtimeData/api/v2/...`` below the sign-in."""

    def __init__(self, data: BigTimeData, auth: BigTimeAuth) -> None:
        self.data = data
        self.auth = auth

    def rules(self) -> list[Rule]:
        def r(path: str, endpoint: Handler, *methods: str) -> Rule:
            return Rule(API_PREFIX.lower() + path, endpoint=endpoint, methods=list(methods))

        return [
            r("/project", self.project_list, "GET"),
            r("/project/detail", self.project_create, "POST"),
            r("/project/detail/<int:pid>", self.project_get, "GET"),
            r("/project/detail/<int:pid>", self.project_update, "POST"),
            r("/project/detail/<int:pid>", self.project_delete, "DELETE"),
            r("/project/contacts", self.project_contacts, "GET"),
            r("/project/contacts/<int:pid>", self.project_contacts, "GET"),
            r("/project/contact/<int:cid>", self.project_contact_get, "GET"),
            r("/project/contact/<int:cid>", self.project_contact_post, "POST"),
            r("/project/contact", self.project_contact_post, "POST"),
            r("/project/customfields/<int:pid>", self.project_custom_fields, "GET"),
            r("/project/customfields", self.project_custom_fields_post, "POST"),
            r("/project/customfieldsbyname", self.project_custom_fields_by_name, "POST"),
            r("/client", self.client_list, "GET"),
            r("/client/detail", self.client_create, "POST"),
            r("/client/detail/<int:cid>", self.client_get, "GET"),
            r("/client/detail/<int:cid>", self.client_update, "POST"),
            r("/staff", self.staff_list, "GET"),
            r("/staff/detail/<int:sid>", self.staff_get, "GET"),
            r("/picklist/fieldvalues/<field>", self.picklist_field_values, "GET"),
            r("/picklist/<name>", self.picklist, "GET"),
            r("/time/sheet/<int:sid>", self.time_sheet, "GET"),
            r("/time/byproject/<int:pid>", self.time_by_project, "GET"),
            r("/time", self.time_create, "POST"),
            r("/time/detail", self.time_create, "POST"),
            r("/time/detail/<int(signed=True):tid>", self.time_get, "GET"),
            r("/expense/reportbyfilter", self.expense_report, "POST"),
            r("/expense/detail", self.expense_create, "POST"),
            r("/expense/detail/<int:eid>", self.expense_get, "GET"),
            r("/invoice/history", self.invoice_history, "GET"),
            r("/invoice/drafts", self.invoice_drafts, "GET"),
            r("/invoice/detail/<int:iid>", self.invoice_get, "GET"),
            r("/task/budgetstatusbyproject/<int:pid>", self.budget_status, "GET"),
            r("/task/listbyproject/<int:pid>", self.task_list, "GET"),
        ]

    # ---- projects ----------------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        data = read_json(request)
        if data is None:
            data = {k: v for k, v in request.form.items()}
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The request body must be a JSON object.")
        return data

    def project_list(self, request: Request) -> Any:
        self.auth.staff(request)
        return self.data.directory.project_list(show_inactive=bool_arg(request, "ShowInactive"))

    def project_get(self, request: Request, pid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.get_project(pid, view=arg(request, "View") or "Basic")  # "BASIC ... by default"

    def project_create(self, request: Request) -> Any:
        self.auth.staff(request, "can_create_projects")
        body = self._body(request)
        if not self.data.switches["project_code_auto"]:
            required_on_create(body, "ProjectCode", "project code")
        pid = self.data.directory.create_project(body)
        return self.data.directory.get_project(pid)

    def project_update(self, request: Request, pid: int) -> Any:
        self.auth.staff(request, "can_edit_projects")
        self.data.directory.update_project(pid, self._body(request))
        return self.data.directory.get_project(pid)

    def project_delete(self, request: Request, pid: int) -> Any:
        self.auth.staff(request, "can_delete_projects")
        self.data.directory.delete_project(pid)
        return True

    def project_contacts(self, request: Request, pid: int | None = None) -> Any:
        self.auth.staff(request)
        if pid is None:
            raw = arg(request, "id", "projectsid", "projectid")
            if not raw or not raw.strip().isdigit():
                raise ApiError(400, "BAD_REQUEST", "The project id (id) is required.")
            pid = int(raw)
        return self.data.directory.project_contacts(pid)

    def project_contact_get(self, request: Request, cid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.get_contact(cid)

    def project_contact_post(self, request: Request, cid: int | None = None) -> Any:
        """``POST /project/Contact?projectsid=`` adds a contact (pybt); ``/project/Contact/{id}``
        updates one — and ``/project/Contact/0`` adds one only under the switch
        ``contact_create_with_id`` (otherwise contact 0 is not found)."""
        self.auth.staff(request, "can_edit_contacts")
        body = self._body(request)
        raw = arg(request, "projectsid", "projectid", "id")
        project = int(raw) if raw and raw.strip().isdigit() else pick(body, "ProjectSid", "ProjectId")
        if cid is None or (cid == 0 and self.data.switches["contact_create_with_id"]):
            if project in (None, ""):
                raise ApiError(400, "BAD_REQUEST", "projectsid is required to add a contact.")
            cid = self.data.directory.add_project_contact(int(project), body)
        else:
            self.data.directory.update_project_contact(
                cid, body, project_id=int(project) if project not in (None, "") else None
            )
        return self.data.directory.get_contact(cid)

    def project_custom_fields(self, request: Request, pid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.custom_fields(pid)

    def _custom_items(self, request: Request) -> list[dict[str, Any]]:
        data = read_json(request)
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else None
        if not items:
            raise ApiError(400, "BAD_REQUEST", "The body must be a custom field value or a list of them.")
        return items

    def _set_custom(self, request: Request, by_name: bool) -> Any:
        raw = arg(request, "projectsid", "projectid", "id")
        touched = []
        for item in self._custom_items(request):
            project = pick(item, "ProjectSid", "ProjectId") or raw
            if project in (None, ""):
                raise ValidationError("ProjectSid is required.")
            value = pick(item, "Value")
            if by_name:
                self.data.directory.set_custom_field(int(project), value, name=pick(item, "Name"))
            else:
                self.data.directory.set_custom_field(
                    int(project), value, sid=pick(item, "Sid"), name=pick(item, "Name")
                )
            touched.append(int(project))
        return [row for pid in dict.fromkeys(touched) for row in self.data.directory.custom_fields(pid)]

    def project_custom_fields_post(self, request: Request) -> Any:
        self.auth.staff(request, "can_edit_projects")
        return self._set_custom(request, by_name=False)

    def project_custom_fields_by_name(self, request: Request) -> Any:
        self.auth.staff(request, "can_edit_projects")
        return self._set_custom(request, by_name=True)

    # ---- clients, staff, picklists -----------------------------------------------------------
    def client_list(self, request: Request) -> Any:
        self.auth.staff(request)
        return self.data.directory.client_list(show_inactive=bool_arg(request, "ShowInactive"))

    def client_get(self, request: Request, cid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.get_client(cid, view=arg(request, "View") or "Basic")  # "BASIC ... by default"

    def client_create(self, request: Request) -> Any:
        self.auth.staff(request, "can_create_clients")
        body = self._body(request)
        if not self.data.switches["client_id_auto"]:
            required_on_create(body, "ClientId", "client id")
        return self.data.directory.get_client(self.data.directory.create_client(body))

    def client_update(self, request: Request, cid: int) -> Any:
        self.auth.staff(request, "can_edit_clients")
        self.data.directory.update_client(cid, self._body(request))
        return self.data.directory.get_client(cid)

    def staff_list(self, request: Request) -> Any:
        self.auth.staff(request)
        return self.data.directory.staff_list(show_inactive=bool_arg(request, "ShowInactive"))

    def staff_get(self, request: Request, sid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.get_staff(sid)

    def picklist(self, request: Request, name: str) -> Any:
        self.auth.staff(request)
        return self.data.directory.picklist(name)

    def picklist_field_values(self, request: Request, field: str) -> Any:
        self.auth.staff(request)
        return self.data.directory.field_values(field)

    # ---- time, expenses ----------------------------------------------------------------------
    def _dates(self, request: Request, start_names: tuple[str, ...], end_names: tuple[str, ...]) -> tuple[Any, Any]:
        start, end = arg(request, *start_names), arg(request, *end_names)
        return (parse_date(start, start_names[0]) if start else None, parse_date(end, end_names[0]) if end else None)

    def time_sheet(self, request: Request, sid: int) -> Any:
        self.auth.staff(request)
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.ledger.time_entries(staff_id=sid, start=start, end=end)

    def time_by_project(self, request: Request, pid: int) -> Any:
        self.auth.staff(request)
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.ledger.time_entries(project_id=pid, start=start, end=end)

    def time_get(self, request: Request, tid: int) -> Any:
        self.auth.staff(request)
        return self.data.ledger.get_time(tid)

    def time_create(self, request: Request) -> Any:
        staff = self.auth.staff(request, "can_log_time")
        data = read_json(request)
        if isinstance(data, list):
            return [self.data.ledger.get_time(self.data.ledger.log_time(item, staff_id=staff)) for item in data]
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a time entry or a list of them.")
        return self.data.ledger.get_time(self.data.ledger.log_time(data, staff_id=staff))

    def expense_report(self, request: Request) -> Any:
        self.auth.staff(request)
        body = lower_keys(read_json(request) or {})
        start = parse_date(body["mindate"], "mindate") if body.get("mindate") else None
        end = parse_date(body["maxdate"], "maxdate") if body.get("maxdate") else None

        def ids(value: Any, name: str) -> list[int] | None:
            if value in (None, "", []):
                return None
            items = value if isinstance(value, list) else str(value).split(",")
            try:
                return [int(str(v).strip()) for v in items if str(v).strip()]
            except ValueError:
                raise ValidationError(f"{name} must be a list of numeric ids.") from None

        return self.data.ledger.expenses(
            start,
            end,
            project_ids=ids(body.get("projectsids"), "projectsids"),
            staff_ids=ids(body.get("staffsids"), "staffsids"),
        )

    def expense_create(self, request: Request) -> Any:
        staff = self.auth.staff(request, "can_log_time")
        return self.data.ledger.get_expense(self.data.ledger.log_expense(self._body(request), staff_id=staff))

    def expense_get(self, request: Request, eid: int) -> Any:
        self.auth.staff(request)
        return self.data.ledger.get_expense(eid)

    # ---- invoices, budgets -------------------------------------------------------------------
    def invoice_history(self, request: Request) -> Any:
        self.auth.staff(request, "can_view_invoices")
        start, end = self._dates(request, ("startDt",), ("endDt",))
        if start is None or end is None:
            raise ApiError(400, "BAD_REQUEST", "Both startDt and endDt are required.")
        return self.data.ledger.invoice_history(start, end)

    def invoice_drafts(self, request: Request) -> Any:
        self.auth.staff(request, "can_view_invoices")
        return self.data.ledger.invoice_drafts(*self._dates(request, ("startDt",), ("endDt",)))

    def invoice_get(self, request: Request, iid: int) -> Any:
        self.auth.staff(request, "can_view_invoices")
        return self.data.ledger.get_invoice(iid)

    def budget_status(self, request: Request, pid: int) -> Any:
        self.auth.staff(request)
        return self.data.ledger.budget_status(pid)

    def task_list(self, request: Request, pid: int) -> Any:
        self.auth.staff(request)
        return self.data.directory.project_tasks(pid, show_completed=bool_arg(request, "ShowCompleted"))
