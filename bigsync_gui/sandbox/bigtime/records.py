"""The emulated firm's directory: staff, clients, projects (with custom fields and contacts), tasks,
and the picklists over them, kept in the firm's store (:mod:`.store`)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .. import credentials as cred
from . import limits
from .schema import (
    ADDR,
    ADDRESS_FIELDS,
    BUDGET_STYLES,
    CLIENT_UPDATE,
    CONTACT_TAGS,
    CONTACT_UPDATE,
    CUSTOM_FIELDS,
    EXPENSE_CODES,
    INVOICE_DRAFT,
    LABOR_CODES,
    PROJECT_TYPES,
    PROJECT_UPDATE,
    STAFF_UPDATE,
    STATUS_BILLING,
    STATUS_PRODUCTION,
    STR,
    TASK_UPDATE,
    TEXT,
    NotFoundError,
    ValidationError,
    as_int,
    fmt_date,
    money,
    normalise,
    pick,
    public,
)

if TYPE_CHECKING:
    from .store import FirmStore


class Directory:
    """Staff, clients, projects, custom fields, project contacts, tasks, picklists."""

    def __init__(self, store: FirmStore) -> None:
        self.store = store

    # ---- staff -----------------------------------------------------------------------------
    def add_staff(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, STAFF_UPDATE)
        self._fit("staff", values)
        if not values.get("FName") and not values.get("SName"):
            raise ValidationError("A staff member needs a first or last name (FName, SName).")
        sid = self.store.new_id("staff")
        login = (
            pick(fields, "UserId", "Login", "Username")
            or values.get("EMail")
            or f"staff{sid}@{cred.BT_FIRM_ID}.example"
        )
        record = {
            "SystemId": sid,
            "FName": "",
            "SName": "",
            "Title": "",
            "EMail": "",
            "Phone": "",
            "IsInactive": False,
            "BillRate": 150.0,
            "CostRate": 75.0,
            "HireDt": None,
            **values,
            "_login": str(login),
            "_password": str(pick(fields, "Pwd", "Password") or cred.BT_PASSWORD),
            "_userid": 900 + sid,
            "_rights": {},
        }
        record["FullName"] = f"{record['FName']} {record['SName']}".strip()
        if not record["EMail"]:
            record["EMail"] = record["_login"]
        self.store.stamp(record, created=True)
        self.store.records["staff"][sid] = record
        return sid

    def update_staff(self, staff_id: int, fields: dict[str, Any]) -> None:
        record = self.store.get("staff", staff_id, "Staff member")
        values = normalise(fields, STAFF_UPDATE)
        self._fit("staff", values)
        record.update(values)
        record["FullName"] = f"{record['FName']} {record['SName']}".strip()
        if "permissions" in fields and isinstance(fields["permissions"], dict):
            self.store.set_permissions(staff_id, fields["permissions"])
        self.store.stamp(record)

    def staff_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [public(s) for s in self.store.records["staff"].values() if show_inactive or not s["IsInactive"]]

    def get_staff(self, staff_id: int) -> dict[str, Any]:
        return public(self.store.get("staff", staff_id, "Staff member"))

    def find_login(self, login: str, password: str) -> int | None:
        for staff in self.store.records["staff"].values():
            if (
                staff["_login"].lower() == str(login).strip().lower()
                and staff["_password"] == password
                and not staff["IsInactive"]
            ):
                return staff["SystemId"]
        return None

    def staff_session_info(self, staff_id: int) -> dict[str, Any]:
        staff = self.store.get("staff", staff_id, "Staff member")
        return {
            "staffsid": staff["SystemId"],
            "userid": staff["_userid"],
            "fname": staff["FName"],
            "sname": staff["SName"],
        }

    # ---- clients ---------------------------------------------------------------------------
    def create_client(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, CLIENT_UPDATE)
        if not values.get("Nm"):
            raise ValidationError("The client name (Nm) is required.")
        self._fit("client", values)
        self._unique_code(values)
        sid = self.store.new_id("client")
        record = {
            "SystemId": sid,
            **{name: ("" if kind in (STR, TEXT) else False) for name, kind in CLIENT_UPDATE.items()},
        }
        record.update(values)
        self.store.stamp(record, created=True)
        self.store.records["client"][sid] = record
        return sid

    def update_client(self, client_id: int, fields: dict[str, Any]) -> None:
        record = self.store.get("client", client_id, "Client")
        values = normalise(fields, CLIENT_UPDATE)
        if "Nm" in values and not values["Nm"]:
            raise ValidationError("The client name (Nm) cannot be empty.")
        self._fit("client", values)
        self._unique_code(values, record["SystemId"])
        record.update(values)
        self.store.stamp(record)
        for project in self.store.records["project"].values():
            if project["ClientId"] == record["SystemId"]:
                project["DisplayName"] = self._display_name(project)

    def _unique_code(self, values: dict[str, Any], own: int | None = None) -> None:
        """ "BigTime requires every client in the system to have a unique Id" (its help): unless the
        switch ``client_id_unique`` is off."""
        if self.store.switches["client_id_unique"]:
            limits.unique("ClientId", values.get("ClientId"), self.store.records["client"].values(), own)

    def client_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [
            self._client_view(c, basic=True)
            for c in self.store.records["client"].values()
            if show_inactive or not c["IsInactive"]
        ]

    def get_client(self, client_id: int, view: str = "Detailed") -> dict[str, Any]:
        return self._client_view(self.store.get("client", client_id, "Client"), basic=view.lower() == "basic")

    def _client_view(self, record: dict[str, Any], basic: bool) -> dict[str, Any]:
        if basic:
            return {
                k: record[k]
                for k in ("SystemId", "Nm", "ClientId", "City", "State", "Country", "IsInactive", "DtModified")
            }
        out = public(record)
        contacts = [
            c
            for c in self.store.records["contact"].values()
            if self.store.records["project"].get(c["_project"], {}).get("ClientId") == record["SystemId"]
        ]
        out["ContactList"] = [public(c) for c in contacts]
        return out

    # ---- projects --------------------------------------------------------------------------
    def _display_name(self, project: dict[str, Any]) -> str:
        client = self.store.records["client"].get(project.get("ClientId") or 0)
        return f"{client['Nm']}:{project['Nm']}" if client else project["Nm"]

    def _check_project_refs(self, values: dict[str, Any], project_id: int | None = None) -> None:
        if values.get("ClientId") is not None and values["ClientId"] not in self.store.records["client"]:
            raise ValidationError(f"Invalid ClientId: there is no client with SystemId {values['ClientId']}.")
        if values.get("StatusProd") is not None and values["StatusProd"] not in {s["Id"] for s in STATUS_PRODUCTION}:
            raise ValidationError(f"Invalid StatusProd: {values['StatusProd']} is not a production status.")
        if values.get("StatusBill") is not None and values["StatusBill"] not in {s["Id"] for s in STATUS_BILLING}:
            raise ValidationError(f"Invalid StatusBill: {values['StatusBill']} is not a billing status.")
        if values.get("TypeId") is not None and values["TypeId"] not in {t["Id"] for t in PROJECT_TYPES}:
            raise ValidationError(f"Invalid TypeId: {values['TypeId']} is not a project type.")
        if values.get("BudgetStyle") is not None and values["BudgetStyle"] not in BUDGET_STYLES:
            raise ValidationError(f"Invalid BudgetStyle: {values['BudgetStyle']}.")
        for key in ("PrimaryContactId", "BillingContactId"):
            cid = values.get(key)
            if cid:
                contact = self.store.records["contact"].get(cid)
                if contact is None or (project_id is not None and contact["_project"] != project_id):
                    raise ValidationError(f"Invalid {key}: contact {cid} is not a contact of this project.")

    def _apply_status(self, record: dict[str, Any], values: dict[str, Any]) -> None:
        """Production status and IsInactive agree: an Inactive-group status means inactive."""
        groups = {s["Id"]: s["Group"] for s in STATUS_PRODUCTION}
        if "StatusProd" in values and values["StatusProd"] is not None:
            record["IsInactive"] = groups[values["StatusProd"]] == "Inactive"
        elif "IsInactive" in values:
            record["IsInactive"] = values["IsInactive"]
            current = groups.get(record.get("StatusProd") or 0, "Active")
            if values["IsInactive"] and current != "Inactive":
                record["StatusProd"] = next(s["Id"] for s in STATUS_PRODUCTION if s["Group"] == "Inactive")
            elif not values["IsInactive"] and current == "Inactive":
                record["StatusProd"] = 2

    def _fit(self, kind: str, values: dict[str, Any]) -> None:
        limits.fit(self.store.switches, kind, values)

    def _unique_project_code(self, values: dict[str, Any], own: int | None = None) -> None:
        """ "The project code is a unique id that identifies each project in the system" (BigTime's
        help): unless the switch ``project_code_unique`` is off."""
        if self.store.switches["project_code_unique"]:
            limits.unique("ProjectCode", values.get("ProjectCode"), self.store.records["project"].values(), own)

    def create_project(self, fields: dict[str, Any]) -> int:
        values = normalise(fields, PROJECT_UPDATE)
        if not values.get("Nm"):
            raise ValidationError("The project name (Nm) is required.")
        for key in ("PrimaryContactId", "BillingContactId"):
            values.pop(key, None)  # a new project has no contacts yet
        self._check_project_refs(values)
        sid = self.store.new_id("project")
        record: dict[str, Any] = {
            "SystemId": sid,
            "Nm": "",
            "DisplayName": "",
            "ProjectCode": "",
            "ClientId": None,
            "TypeId": 1,
            "StartDt": fmt_date(self.store.today()),
            "EndDt": None,
            "Notes": "",
            "StatusProd": 1,
            "StatusBill": 1,
            "IsInactive": False,
            "BudgetHours": 0.0,
            "BudgetFees": 0.0,
            "BudgetStyle": 0,
            "BasicRate": 0.0,
            "BillingRate": 0.0,
            "PrimaryContactId": None,
            "BillingContactId": None,
        }
        self._fit("project", values)
        self._unique_project_code(values)
        record.update({k: v for k, v in values.items() if k not in ("IsInactive",)})
        if not record["ProjectCode"]:
            record["ProjectCode"] = f"P{sid:05d}"
        self._apply_status(record, values)
        record["DisplayName"] = self._display_name(record)
        self.store.stamp(record, created=True)
        self.store.records["project"][sid] = record
        return sid

    def update_project(self, project_id: int, fields: dict[str, Any]) -> None:
        record = self.store.get("project", project_id, "Project")
        values = normalise(fields, PROJECT_UPDATE)
        if "Nm" in values and not values["Nm"]:
            raise ValidationError("The project name (Nm) cannot be empty.")
        self._check_project_refs(values, project_id=record["SystemId"])
        self._fit("project", values)
        self._unique_project_code(values, record["SystemId"])
        record.update({k: v for k, v in values.items() if k != "IsInactive"})
        self._apply_status(record, values)
        record["DisplayName"] = self._display_name(record)
        self.store.stamp(record)

    def delete_project(self, project_id: int) -> None:
        """Permanent, as in BigTime: the project, its contacts, tasks, time and expenses go."""
        record = self.store.get("project", project_id, "Project")
        pid = record["SystemId"]
        if any(
            inv["ProjectSid"] == pid and inv["Status"] != INVOICE_DRAFT
            for inv in self.store.records["invoice"].values()
        ):
            raise ValidationError("This project has posted invoices and cannot be deleted.")
        del self.store.records["project"][pid]
        for kind, key in (
            ("contact", "_project"),
            ("task", "ProjectSid"),
            ("time", "ProjectSID"),
            ("expense", "ProjectSID"),
            ("invoice", "ProjectSid"),
        ):
            self.store.records[kind] = {i: r for i, r in self.store.records[kind].items() if r.get(key) != pid}
        self.store.custom_values.pop(pid, None)

    def project_list(self, show_inactive: bool = False) -> list[dict[str, Any]]:
        return [
            self._project_view(p, basic=True)
            for p in self.store.records["project"].values()
            if show_inactive or not p["IsInactive"]
        ]

    def get_project(self, project_id: int, view: str = "Detailed") -> dict[str, Any]:
        return self._project_view(self.store.get("project", project_id, "Project"), basic=view.lower() == "basic")

    def _project_view(self, record: dict[str, Any], basic: bool) -> dict[str, Any]:
        if basic:
            keys = (
                "SystemId",
                "Nm",
                "DisplayName",
                "ProjectCode",
                "ClientId",
                "TypeId",
                "StartDt",
                "EndDt",
                "StatusProd",
                "StatusBill",
                "IsInactive",
            )
            if self.store.switches["project_list_dt_modified"]:
                keys += ("DtModified",)
            return {k: record[k] for k in keys}
        out = public(record)
        pid = record["SystemId"]
        entries = [t for t in self.store.records["time"].values() if t["ProjectSID"] == pid]
        out["InputHours"] = round(sum(t["Hours_IN"] for t in entries), 2)
        out["InputFees"] = money(sum(t["ChargeBillable"] for t in entries))
        out["UdfList"] = self.custom_fields(pid, with_project=False)
        if not self.store.switches["task_budget_on_detail"] and self.budgeted_by_task(pid):
            out.pop("BudgetFees", None)  # whether they hold anything for such a project is undocumented
            out.pop("BudgetHours", None)
        return out

    def budgeted_by_task(self, project_id: int) -> bool:
        """Whether the project's budget is kept on its tasks (a task with a fee, hours or expense budget)."""
        return any(
            t["ProjectSid"] == project_id and (t["BudgetFees"] or t["BudgetHours"] or t["BudgetExps"])
            for t in self.store.records["task"].values()
        )

    # ---- custom fields ---------------------------------------------------------------------
    def custom_fields(self, project_id: int, with_project: bool = True) -> list[dict[str, Any]]:
        pid = self.store.get("project", project_id, "Project")["SystemId"]
        values = self.store.custom_values.get(pid, {})
        rows = []
        for udf in CUSTOM_FIELDS:
            row = {"Sid": udf["Sid"], "Name": udf["Name"], "Value": values.get(udf["Sid"], "")}
            rows.append({"ProjectSid": pid, **row} if with_project else row)
        return rows

    def set_custom_field(self, project_id: int, value: Any, sid: Any = None, name: str | None = None) -> None:
        pid = self.store.get("project", project_id, "Project")["SystemId"]
        udf = None
        if sid not in (None, ""):
            udf = next((u for u in CUSTOM_FIELDS if u["Sid"] == as_int(sid, "Sid")), None)
        elif name:
            udf = next((u for u in CUSTOM_FIELDS if u["Name"].lower() == str(name).strip().lower()), None)
        if udf is None:
            raise ValidationError(f"Unknown custom field {sid if sid not in (None, '') else name!r}.")
        values = {"Value": "" if value is None else str(value)}
        self._fit("custom", values)
        self.store.custom_values.setdefault(pid, {})[udf["Sid"]] = values["Value"]
        self.store.stamp(self.store.records["project"][pid])

    # ---- project contacts ------------------------------------------------------------------
    def add_project_contact(self, project_id: int, fields: dict[str, Any]) -> int:
        project = self.store.get("project", project_id, "Project")
        values = normalise(fields, CONTACT_UPDATE)
        if not values.get("FName") and not values.get("SName"):
            raise ValidationError("A contact needs a first or last name (FName, SName).")
        tag = (values.get("Tag") or "OTHER").upper()
        if tag not in CONTACT_TAGS:
            raise ValidationError(f"Invalid Tag '{values.get('Tag')}': use PRIMARY, BILLING or OTHER.")
        values["Tag"] = tag
        sid = self.store.new_id("contact")
        record = {
            "SystemId": sid,
            **{n: ("" if k != ADDR else {}) for n, k in CONTACT_UPDATE.items()},
            **values,
            "ProjectSid": project["SystemId"],
            "_project": project["SystemId"],
        }
        record["Address"] = {f: record["Address"].get(f, "") for f in ADDRESS_FIELDS}
        self.store.stamp(record, created=True)
        self.store.records["contact"][sid] = record
        self._link_tag(project, record)
        return sid

    def update_project_contact(self, contact_id: int, fields: dict[str, Any], project_id: int | None = None) -> None:
        record = self.store.get("contact", contact_id, "Contact")
        if project_id is not None and record["_project"] != int(project_id):
            raise NotFoundError(f"Contact {contact_id} is not a contact of project {project_id}.")
        values = normalise(fields, CONTACT_UPDATE)
        if "Tag" in values:
            values["Tag"] = (values["Tag"] or "OTHER").upper()
            if values["Tag"] not in CONTACT_TAGS:
                raise ValidationError(f"Invalid Tag '{values['Tag']}': use PRIMARY, BILLING or OTHER.")
        if "Address" in values:
            values["Address"] = {**record["Address"], **values["Address"]}
        record.update(values)
        self.store.stamp(record)
        self._link_tag(self.store.records["project"][record["_project"]], record)

    def _link_tag(self, project: dict[str, Any], contact: dict[str, Any]) -> None:
        key = {"PRIMARY": "PrimaryContactId", "BILLING": "BillingContactId"}.get(contact["Tag"])
        if key and project[key] != contact["SystemId"]:
            project[key] = contact["SystemId"]
            self.store.stamp(project)

    def delete_contact(self, contact_id: int) -> None:
        record = self.store.get("contact", contact_id, "Contact")
        del self.store.records["contact"][record["SystemId"]]
        project = self.store.records["project"].get(record["_project"])
        if project:
            for key in ("PrimaryContactId", "BillingContactId"):
                if project[key] == record["SystemId"]:
                    project[key] = None

    def project_contacts(self, project_id: int) -> list[dict[str, Any]]:
        pid = self.store.get("project", project_id, "Project")["SystemId"]
        return [public(c) for c in self.store.records["contact"].values() if c["_project"] == pid]

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return public(self.store.get("contact", contact_id, "Contact"))

    # ---- tasks (budget lines) --------------------------------------------------------------
    def add_task(self, project_id: int, fields: dict[str, Any]) -> int:
        project = self.store.get("project", project_id, "Project")
        values = normalise(fields, TASK_UPDATE)
        if not values.get("TaskNm"):
            raise ValidationError("The task name (TaskNm) is required.")
        self._fit("task", values)
        sid = self.store.new_id("task")
        record = {
            "SystemId": sid,
            "TaskSid": sid,
            "ProjectSid": project["SystemId"],
            "TaskNm": "",
            "TaskCode": "",
            "BudgetHours": 0.0,
            "BudgetFees": 0.0,
            "BudgetExps": 0.0,
            "IsInactive": False,
            "Notes": "",
            **values,
        }
        self.store.stamp(record, created=True)
        self.store.records["task"][sid] = record
        return sid

    def project_tasks(self, project_id: int, show_completed: bool = True) -> list[dict[str, Any]]:
        """The project's tasks; the API's list (help/Task) keeps to those "in process" unless
        ``ShowCompleted=True``."""
        pid = self.store.get("project", project_id, "Project")["SystemId"]
        return [
            public(t)
            for t in self.store.records["task"].values()
            if t["ProjectSid"] == pid and (show_completed or not t["IsInactive"])
        ]

    # ---- picklists -------------------------------------------------------------------------
    def picklist(self, name: str) -> list[dict[str, Any]]:
        """help/Picklist: "Inactive/Completed items are not included"."""
        key = name.lower()
        named = {"projects": ("project", "DisplayName"), "clients": ("client", "Nm"), "staff": ("staff", "FullName")}
        if key in named:
            kind, field = named[key]
            return [
                {"Id": r["SystemId"], "Name": r[field], "Group": "Active"}
                for r in self.store.records[kind].values()
                if not r["IsInactive"]
            ]
        if key in ("laborcodes", "laborcode"):
            return [{"Id": c["Id"], "Name": c["Name"]} for c in LABOR_CODES]
        if key in ("expensecodes", "expensecode", "expensecategories"):
            return [{"Id": c["Id"], "Name": c["Name"], "Group": c["Group"]} for c in EXPENSE_CODES]
        if key in ("projecttypes", "projecttype"):
            return copy.deepcopy(PROJECT_TYPES)
        raise NotFoundError(f"There is no picklist named '{name}'.")

    def field_values(self, field: str) -> list[dict[str, Any]]:
        key = field.lower()
        table = {
            "statusproduction": STATUS_PRODUCTION,
            "statusprod": STATUS_PRODUCTION,
            "statusbilling": STATUS_BILLING,
            "statusbill": STATUS_BILLING,
            "projecttype": PROJECT_TYPES,
            "projecttypes": PROJECT_TYPES,
            "typeid": PROJECT_TYPES,
            "budgetstyle": [{"Id": k, "Name": v} for k, v in BUDGET_STYLES.items()],
            "contacttag": [{"Id": t, "Name": t.title()} for t in CONTACT_TAGS],
        }
        if key in table:
            return copy.deepcopy(table[key])
        if key in ("laborcodes", "laborcode", "expensecodes", "expensecode"):
            return self.picklist(key)
        raise ValidationError(f"'{field}' is not a field with a list of values.")
