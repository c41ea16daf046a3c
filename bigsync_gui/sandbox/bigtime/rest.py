"""The BigTime emulator's REST API: projects, contacts, custom fields, clients, staff, picklists,
time, expenses, invoices and budgets, each handler checking the caller's right. A mixin of
:class:`~.app.BigTimeApp`."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from ..web import ApiError, read_json
from .data import ValidationError, parse_date
from .handlers import api, arg, bool_arg, lower_keys
from .schema import pick


class RestApiMixin:
    """``/BigtimeData/api/v2/...`` below the sign-in."""

    # ---- projects ----------------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        data = read_json(request)
        if data is None:
            data = {k: v for k, v in request.form.items()}
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The request body must be a JSON object.")
        return data

    @api()
    def project_list(self, request: Request, staff: int) -> Any:
        return self.data.project_list(show_inactive=bool_arg(request, "ShowInactive"))

    @api()
    def project_get(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.get_project(pid, view=arg(request, "View") or "Detailed")

    @api("can_create_projects")
    def project_create(self, request: Request, staff: int) -> Any:
        pid = self.data.create_project(self._body(request))
        return self.data.get_project(pid)

    @api("can_edit_projects")
    def project_update(self, request: Request, staff: int, pid: int) -> Any:
        self.data.update_project(pid, self._body(request))
        return self.data.get_project(pid)

    @api("can_delete_projects")
    def project_delete(self, request: Request, staff: int, pid: int) -> Any:
        self.data.delete_project(pid)
        return True

    @api()
    def project_contacts(self, request: Request, staff: int, pid: int | None = None) -> Any:
        if pid is None:
            raw = arg(request, "id", "projectsid", "projectid")
            if not raw or not raw.strip().isdigit():
                raise ApiError(400, "BAD_REQUEST", "The project id (id) is required.")
            pid = int(raw)
        return self.data.project_contacts(pid)

    @api()
    def project_contact_get(self, request: Request, staff: int, cid: int) -> Any:
        return self.data.get_contact(cid)

    @api("can_edit_contacts")
    def project_contact_post(self, request: Request, staff: int, cid: int | None = None) -> Any:
        """``POST /project/Contact?projectsid=`` adds a contact (pybt); ``/project/Contact/{id}``
        updates one — and ``/project/Contact/0`` adds one only under the switch
        ``contact_create_with_id`` (otherwise contact 0 is not found)."""
        body = self._body(request)
        raw = arg(request, "projectsid", "projectid", "id")
        project = int(raw) if raw and raw.strip().isdigit() else pick(body, "ProjectSid", "ProjectId")
        if cid is None or (cid == 0 and self.data.switches["contact_create_with_id"]):
            if project in (None, ""):
                raise ApiError(400, "BAD_REQUEST", "projectsid is required to add a contact.")
            cid = self.data.add_project_contact(int(project), body)
        else:
            self.data.update_project_contact(cid, body, project_id=int(project) if project not in (None, "") else None)
        return self.data.get_contact(cid)

    @api()
    def project_custom_fields(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.custom_fields(pid)

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
                self.data.set_custom_field(int(project), value, name=pick(item, "Name"))
            else:
                self.data.set_custom_field(int(project), value, sid=pick(item, "Sid"), name=pick(item, "Name"))
            touched.append(int(project))
        return [row for pid in dict.fromkeys(touched) for row in self.data.custom_fields(pid)]

    @api("can_edit_projects")
    def project_custom_fields_post(self, request: Request, staff: int) -> Any:
        return self._set_custom(request, by_name=False)

    @api("can_edit_projects")
    def project_custom_fields_by_name(self, request: Request, staff: int) -> Any:
        return self._set_custom(request, by_name=True)

    # ---- clients, staff, picklists -----------------------------------------------------------
    @api()
    def client_list(self, request: Request, staff: int) -> Any:
        return self.data.client_list(show_inactive=bool_arg(request, "ShowInactive"))

    @api()
    def client_get(self, request: Request, staff: int, cid: int) -> Any:
        return self.data.get_client(cid)

    @api("can_create_clients")
    def client_create(self, request: Request, staff: int) -> Any:
        return self.data.get_client(self.data.create_client(self._body(request)))

    @api("can_edit_clients")
    def client_update(self, request: Request, staff: int, cid: int) -> Any:
        self.data.update_client(cid, self._body(request))
        return self.data.get_client(cid)

    @api()
    def staff_list(self, request: Request, staff: int) -> Any:
        return self.data.staff_list(show_inactive=bool_arg(request, "ShowInactive"))

    @api()
    def staff_get(self, request: Request, staff: int, sid: int) -> Any:
        return self.data.get_staff(sid)

    @api()
    def picklist(self, request: Request, staff: int, name: str) -> Any:
        return self.data.picklist(name)

    @api()
    def picklist_field_values(self, request: Request, staff: int, field: str) -> Any:
        return self.data.field_values(field)

    # ---- time, expenses ----------------------------------------------------------------------
    def _dates(self, request: Request, start_names: tuple[str, ...], end_names: tuple[str, ...]) -> tuple[Any, Any]:
        start, end = arg(request, *start_names), arg(request, *end_names)
        return (parse_date(start, start_names[0]) if start else None, parse_date(end, end_names[0]) if end else None)

    @api()
    def time_sheet(self, request: Request, staff: int, sid: int) -> Any:
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.time_entries(staff_id=sid, start=start, end=end)

    @api()
    def time_by_project(self, request: Request, staff: int, pid: int) -> Any:
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.time_entries(project_id=pid, start=start, end=end)

    @api()
    def time_get(self, request: Request, staff: int, tid: int) -> Any:
        return self.data.get_time(tid)

    @api("can_log_time")
    def time_create(self, request: Request, staff: int) -> Any:
        data = read_json(request)
        if isinstance(data, list):
            return [self.data.get_time(self.data.log_time(item, staff_id=staff)) for item in data]
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a time entry or a list of them.")
        return self.data.get_time(self.data.log_time(data, staff_id=staff))

    @api()
    def expense_report(self, request: Request, staff: int) -> Any:
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

        return self.data.expenses(start, end, project_ids=ids(body.get("projectsids"), "projectsids"),
                                  staff_ids=ids(body.get("staffsids"), "staffsids"))

    @api("can_log_time")
    def expense_create(self, request: Request, staff: int) -> Any:
        return self.data.get_expense(self.data.log_expense(self._body(request), staff_id=staff))

    @api()
    def expense_get(self, request: Request, staff: int, eid: int) -> Any:
        return self.data.get_expense(eid)

    # ---- invoices, budgets -------------------------------------------------------------------
    @api("can_view_invoices")
    def invoice_history(self, request: Request, staff: int) -> Any:
        start, end = self._dates(request, ("startDt",), ("endDt",))
        if start is None or end is None:
            raise ApiError(400, "BAD_REQUEST", "Both startDt and endDt are required.")
        return self.data.invoice_history(start, end)

    @api("can_view_invoices")
    def invoice_drafts(self, request: Request, staff: int) -> Any:
        return self.data.invoice_drafts()

    @api("can_view_invoices")
    def invoice_get(self, request: Request, staff: int, iid: int) -> Any:
        return self.data.get_invoice(iid)

    @api()
    def budget_status(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.budget_status(pid)

    @api()
    def task_list(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.project_tasks(pid)
