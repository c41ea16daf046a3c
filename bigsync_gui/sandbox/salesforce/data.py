"""The emulated org's data: records with a recycle bin, settings, and (in :mod:`.auth_store`) OAuth
grants, tokens and API usage.

Rows are plain dicts keyed by the canonical field names of ``schema.py``; datetimes are stored the
way the REST API prints them (``2026-11-26T10:00:00.000+0000``), dates as ``YYYY-MM-DD``. Every
write goes through :meth:`SalesforceData.insert` / :meth:`update` / :meth:`delete` /
:meth:`undelete`, which validate like the real org (:mod:`.validation`, :mod:`.field_security`)
and raise :class:`~.errors.SalesforceError` with the real ``errorCode``, message and fields.

The SOQL module reads rows through the ``RecordSource`` protocol (:meth:`all_records`,
:meth:`get_record`); it must not modify them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from .. import credentials as cred
from ..switches import Switches
from . import ids
from .auth_store import AuthStore
from .change_events import ChangeEventLog
from .errors import SalesforceError
from .field_security import check_field_security
from .formats import cdc_value, format_datetime, parse_datetime
from .org_metadata import OrgMetadata
from .schema import HISTORY_FORECAST_CATEGORIES, HISTORY_TRACKED, ObjectDef, build_schema
from .switches import SALESFORCE_SWITCHES
from .validation import clean_fields

# What a delete takes along (and an undelete brings back), like the real org's cascades.
CASCADES = {
    "account": (("contact", "AccountId"), ("opportunity", "AccountId")),
    "contact": (("opportunitycontactrole", "ContactId"),),
    "opportunity": (("opportunitycontactrole", "OpportunityId"), ("opportunityhistory", "OpportunityId")),
}

UPDATED_WINDOW_DAYS = 30
DELETED_WINDOW_DAYS = 15


class Clock(Protocol):
    def now(self) -> datetime: ...


# ---- the data -----------------------------------------------------------------------------------
class SalesforceData:
    """Everything the emulated org knows. Callers hold the world's lock while writing."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.schema: dict[str, ObjectDef] = build_schema()
        self.prefix_to_object = {o.key_prefix: key for key, o in self.schema.items()}
        self.change_events = ChangeEventLog(clock)
        self.auth = AuthStore(self.now, lambda: self.settings, lambda user_id: self.records["user"].get(user_id))
        self.clear()

    # ---- lifecycle ------------------------------------------------------------------------
    def clear(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {key: {} for key in self.schema}
        self.deleted_log: dict[str, dict[str, str]] = {key: {} for key in self.schema}  # object -> id -> deletedDate
        self.cascaded_by: dict[str, str] = {}  # child id -> id of the record whose delete took it along
        self.counters: dict[str, int] = {}
        self.passwords: dict[str, str] = {}  # user id -> password
        self.settings: dict[str, Any] = {
            "daily_api_limit": 15000,
            "rotate_refresh_tokens": False,
            "access_token_ttl_seconds": 7200,
            "remember_approvals": False,
            "redirect_uris": list(cred.SF_REDIRECT_URIS),
            "cdc_entities": ["Opportunity"],  # the story's admin selected it (Setup › Change Data Capture)
        }
        self.change_events.clear()
        self.auth.clear()
        self._last_stamp: datetime | None = None
        self.switches = Switches(SALESFORCE_SWITCHES)
        self.org_metadata = OrgMetadata()  # what the Tooling API changed in the org's setup
        self.org_metadata.apply(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "deleted_log": self.deleted_log,
            "cascaded_by": self.cascaded_by,
            "counters": self.counters,
            "passwords": self.passwords,
            "settings": self.settings,
            **self.auth.to_json(),
            "last_stamp": format_datetime(self._last_stamp) if self._last_stamp else None,
            "switches": self.switches.to_json(),
            "org_metadata": self.org_metadata.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Clock) -> SalesforceData:
        self = cls(clock)
        self.org_metadata = OrgMetadata.from_json(data.get("org_metadata"))
        self.org_metadata.apply(self)  # before the records: objects created through the Tooling API
        for key in self.records:
            self.records[key] = dict(data.get("records", {}).get(key, {}))
            self.deleted_log[key] = dict(data.get("deleted_log", {}).get(key, {}))
        self.cascaded_by = dict(data.get("cascaded_by", {}))
        self.counters = dict(data.get("counters", {}))
        self.passwords = dict(data.get("passwords", {}))
        self.settings.update(data.get("settings", {}))
        self.switches = Switches(SALESFORCE_SWITCHES, data.get("switches") or {})
        self.auth.load(data)
        stamp = data.get("last_stamp")
        self._last_stamp = parse_datetime(stamp) if stamp else None
        return self

    # ---- helpers ----------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def object_def(self, object_name: str) -> ObjectDef:
        obj = self.schema.get(str(object_name).lower())
        if obj is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return obj

    def object_for_id(self, record_id: str) -> ObjectDef | None:
        key = self.prefix_to_object.get(record_id[:3])
        return self.schema[key] if key else None

    def _new_id(self, obj: ObjectDef) -> str:
        n = self.counters.get(obj.key_prefix, 0) + 1
        self.counters[obj.key_prefix] = n
        return ids.make_id(obj.key_prefix, 1000 + n)

    def _stamp(self) -> str:
        """The write time: the world clock, strictly after the previous write (1 ms apart at least)."""
        now = self.now().astimezone(timezone.utc)
        now = now.replace(microsecond=(now.microsecond // 1000) * 1000)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return format_datetime(now)

    @property
    def admin_user_id(self) -> str | None:
        for row in self.records["user"].values():
            if row.get("Username", "").lower() == cred.SF_USERNAME.lower():
                return row["Id"]
        return None

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        for row in self.records["user"].values():
            if row.get("Username", "").lower() == (username or "").strip().lower():
                return row
        return None

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        """The active user these credentials belong to, or None."""
        user = self.user_by_username(username)
        if user is None or not user.get("IsActive") or user.get("IsDeleted"):
            return None
        expected = self.passwords.get(user["Id"], cred.SF_PASSWORD)
        return user if secrets.compare_digest(expected, password or "") else None

    # ---- RecordSource protocol (SOQL) ---------------------------------------------------------
    def all_records(self, object_name: str) -> list[dict[str, Any]]:
        """Every row of the object, deleted (recycle bin) ones included, in creation order."""
        return list(self.records.get(object_name.lower(), {}).values())

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        rid = ids.normalize(record_id) if isinstance(record_id, str) else None
        if rid is None:
            return None
        return self.records.get(object_name.lower(), {}).get(rid)

    # ---- reads ------------------------------------------------------------------------------
    def get(self, object_name: str, record_id: str, include_deleted: bool = False) -> dict[str, Any] | None:
        row = self.get_record(object_name, record_id)
        if row is None or (row.get("IsDeleted") and not include_deleted):
            return None
        return dict(row)

    def fetch(self, object_name: str, record_id: str) -> dict[str, Any]:
        """The live row or the error the REST API gives (MALFORMED_ID, NOT_FOUND, ENTITY_IS_DELETED)."""
        obj = self.object_def(object_name)
        rid = ids.normalize(record_id) if isinstance(record_id, str) else None
        if rid is None:
            raise SalesforceError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id}", ["Id"])
        row = self.records[obj.name.lower()].get(rid)
        if row is None:
            if rid[:3] != obj.key_prefix:
                raise SalesforceError(
                    "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id}", ["Id"]
                )
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        if row.get("IsDeleted"):
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", [], status=404)
        return row

    # ---- validation -------------------------------------------------------------------------
    def active_stage(self, api_name: str) -> dict[str, Any] | None:
        for row in self.records["opportunitystage"].values():
            if row["ApiName"] == api_name and row.get("IsActive"):
                return row
        return None

    def stage(self, api_name: str) -> dict[str, Any] | None:
        for row in self.records["opportunitystage"].values():
            if row["ApiName"] == api_name:
                return row
        return None

    def _derive(self, obj: ObjectDef, row: dict[str, Any], given: dict[str, Any]) -> None:
        key = obj.name.lower()
        if key in ("contact", "user"):
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        if key == "opportunity" and "StageName" in given:
            stage = self.stage(row["StageName"]) or {}
            row["IsClosed"] = bool(stage.get("IsClosed"))
            row["IsWon"] = bool(stage.get("IsWon"))
            if "Probability" not in given:
                row["Probability"] = float(stage.get("DefaultProbability") or 0)
            if "ForecastCategoryName" not in given:
                row["ForecastCategoryName"] = stage.get("ForecastCategoryName", "Pipeline")

    # ---- writes -----------------------------------------------------------------------------
    def insert(
        self, object_name: str, fields: dict[str, Any], *, user_id: str | None = None, system: bool = False
    ) -> str:
        """Create a record; its new 18-character id. ``system`` (seed, admin API) may create objects
        the API cannot (User) and set the audit fields (CreatedDate, CreatedById, ...)."""
        obj = self.object_def(object_name)
        if not obj.createable and not system:
            raise SalesforceError("INVALID_TYPE", f"entity type {obj.name} does not support insert", [])
        clean = clean_fields(self, obj, fields, creating=True, system=system)
        if not system:
            check_field_security(self, obj, list(clean), user_id)
        missing = [
            f.name
            for f in obj.fields.values()
            if not f.nillable
            and f.createable
            and f.type != "boolean"
            and clean.get(f.name) is None
            and not (f.name == "OwnerId")
        ]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        author = user_id or self.admin_user_id
        stamp = self._stamp()
        row: dict[str, Any] = {}
        for f in obj.fields.values():
            row[f.name] = False if f.type == "boolean" and not f.nillable else None
        if obj.name == "User":
            row["IsActive"] = True
        row.update(
            {
                "Id": self._new_id(obj),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": author,
                "LastModifiedDate": stamp,
                "LastModifiedById": author,
                "SystemModstamp": stamp,
            }
        )
        if obj.field("OwnerId") is not None:
            row["OwnerId"] = author
        row.update(clean)
        if row.get("CreatedById") is None:
            row["CreatedById"] = row["LastModifiedById"] = row["Id"] if obj.name == "User" else author
        self._derive(obj, row, clean)
        self.records[obj.name.lower()][row["Id"]] = row
        if obj.name == "Opportunity":
            self._record_history(row, None, row["CreatedDate"])
        self._publish(obj, "CREATE", row, [])
        return row["Id"]

    def update(
        self,
        object_name: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        user_id: str | None = None,
        system: bool = False,
    ) -> None:
        obj = self.object_def(object_name)
        if not obj.updateable and not system:
            raise SalesforceError("INVALID_TYPE", f"entity type {obj.name} does not support update", [])
        row = self.fetch(obj.name, record_id)
        clean = clean_fields(self, obj, fields, creating=False, system=system)
        if not system:
            check_field_security(self, obj, list(clean), user_id)
        if not clean and not system and not self.switches["empty_update_touches"]:
            return  # an update naming no field: nothing changes (switch empty_update_touches)
        new = dict(row)
        new.update(clean)
        self._derive(obj, new, clean)
        stamp = self._stamp()
        new["LastModifiedDate"] = stamp
        new["SystemModstamp"] = stamp
        new["LastModifiedById"] = user_id or self.admin_user_id or row.get("LastModifiedById")
        if obj.name == "Opportunity" and any(new.get(f) != row.get(f) for f in HISTORY_TRACKED):
            self._record_history(new, row, stamp)
        changed = [
            f.name for f in obj.fields.values() if f.name != "SystemModstamp" and new.get(f.name) != row.get(f.name)
        ]
        row.clear()
        row.update(new)
        self._publish(obj, "UPDATE", row, changed or ["LastModifiedDate"])

    def _record_history(self, opp: dict[str, Any], before: dict[str, Any] | None, stamp: str) -> None:
        """The OpportunityHistory row Salesforce writes for a new opportunity or a change of a tracked
        field: the then-current values, the previous amount and close date, stamped with the write."""
        obj = self.schema["opportunityhistory"]
        amount, probability = opp.get("Amount"), opp.get("Probability")
        row = {
            "Id": self._new_id(obj),
            "IsDeleted": False,
            "OpportunityId": opp["Id"],
            "CreatedDate": stamp,
            "CreatedById": opp.get("LastModifiedById"),
            "SystemModstamp": stamp,
            "StageName": opp.get("StageName"),
            "Amount": amount,
            "CloseDate": opp.get("CloseDate"),
            "Probability": probability,
            "ExpectedRevenue": None if amount is None else round(amount * (probability or 0) / 100, 2),
            "ForecastCategory": HISTORY_FORECAST_CATEGORIES.get(opp.get("ForecastCategoryName") or ""),
            "PrevAmount": before.get("Amount") if before else None,
            "PrevCloseDate": before.get("CloseDate") if before else None,
        }
        self.records["opportunityhistory"][row["Id"]] = row

    def delete(self, object_name: str, record_id: str, *, user_id: str | None = None, system: bool = False) -> None:
        obj = self.object_def(object_name)
        if not obj.deletable and not system:
            raise SalesforceError("INVALID_TYPE", f"entity type {obj.name} does not support delete", [])
        row = self.fetch(obj.name, record_id)
        stamp = self._stamp()
        self._mark_deleted(obj, row, stamp, user_id)
        for child_key, ref_field in CASCADES.get(obj.name.lower(), ()):
            child_obj = self.schema[child_key]
            for child in list(self.records[child_key].values()):
                if child.get(ref_field) == row["Id"] and not child.get("IsDeleted"):
                    self._cascade_delete(child_obj, child, stamp, user_id, row["Id"])

    def _cascade_delete(
        self, obj: ObjectDef, row: dict[str, Any], stamp: str, user_id: str | None, parent_id: str
    ) -> None:
        self._mark_deleted(obj, row, stamp, user_id)
        self.cascaded_by[row["Id"]] = parent_id
        for child_key, ref_field in CASCADES.get(obj.name.lower(), ()):
            for child in list(self.records[child_key].values()):
                if child.get(ref_field) == row["Id"] and not child.get("IsDeleted"):
                    self._cascade_delete(self.schema[child_key], child, stamp, user_id, row["Id"])

    def _mark_deleted(self, obj: ObjectDef, row: dict[str, Any], stamp: str, user_id: str | None) -> None:
        row["IsDeleted"] = True
        self._touch(obj, row, stamp, user_id)
        self.deleted_log[obj.name.lower()][row["Id"]] = stamp
        self._publish(obj, "DELETE", row, [])

    def _touch(self, obj: ObjectDef, row: dict[str, Any], stamp: str, user_id: str | None) -> None:
        row["SystemModstamp"] = stamp
        if obj.field("LastModifiedDate") is not None:  # a history object has none
            row["LastModifiedDate"] = stamp
            row["LastModifiedById"] = user_id or self.admin_user_id or row.get("LastModifiedById")

    def undelete(self, object_name: str, record_id: str, *, user_id: str | None = None) -> None:
        obj = self.object_def(object_name)
        rid = ids.normalize(record_id) if isinstance(record_id, str) else None
        row = self.records[obj.name.lower()].get(rid) if rid else None
        if row is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        if not row.get("IsDeleted"):
            raise SalesforceError("UNDELETE_FAILED", "Entity is not in the recycle bin", [])
        # A record whose parent is still in the recycle bin cannot come back alone.
        for fdef in obj.fields.values():
            if (
                fdef.type == "reference"
                and fdef.reference_to
                and row.get(fdef.name)
                and not fdef.name.endswith("ById")
                and fdef.name != "OwnerId"
            ):
                parent = self.get_record(fdef.reference_to, row[fdef.name])
                if parent is not None and parent.get("IsDeleted") and not fdef.nillable:
                    raise SalesforceError(
                        "UNDELETE_FAILED",
                        f"Undelete failed. First undelete {fdef.reference_to} {parent['Id']}",
                        [fdef.name],
                    )
        stamp = self._stamp()
        self._mark_restored(obj, row, stamp, user_id)
        self._restore_children(row["Id"], stamp, user_id)

    def _restore_children(self, parent_id: str, stamp: str, user_id: str | None) -> None:
        for child_id in [c for c, p in self.cascaded_by.items() if p == parent_id]:
            child_obj = self.object_for_id(child_id)
            if child_obj is None:
                continue
            child = self.records[child_obj.name.lower()].get(child_id)
            if child is not None and child.get("IsDeleted"):
                self._mark_restored(child_obj, child, stamp, user_id)
                self._restore_children(child_id, stamp, user_id)

    def _mark_restored(self, obj: ObjectDef, row: dict[str, Any], stamp: str, user_id: str | None) -> None:
        row["IsDeleted"] = False
        self._touch(obj, row, stamp, user_id)
        self.deleted_log[obj.name.lower()].pop(row["Id"], None)
        self.cascaded_by.pop(row["Id"], None)
        self._publish(obj, "UNDELETE", row, [])

    def cdc_selected(self, entity: str) -> bool:
        """Whether the org's admin selected ``entity`` for Change Data Capture."""
        return entity.lower() in (e.lower() for e in self.settings.get("cdc_entities", ()))

    def _publish(self, obj: ObjectDef, change_type: str, row: dict[str, Any], changed: list[str]) -> None:
        """The change event of a committed write, when the entity is selected for Change Data Capture
        (change_events.py): an update carries its changed fields, a create or undelete every set one."""
        if not self.cdc_selected(obj.name):
            return
        everything = [f.name for f in obj.fields.values()]
        names = changed if change_type == "UPDATE" else [] if change_type == "DELETE" else everything
        skip = {"Id", "IsDeleted", "SystemModstamp"}
        fields = {
            n: cdc_value(row.get(n))
            for n in names
            if n not in skip and (change_type == "UPDATE" or row.get(n) is not None)
        }
        stamp = parse_datetime(row["SystemModstamp"]) or self.now()
        self.change_events.record(
            obj.name, change_type, [row["Id"]], fields, changed, stamp, row.get("LastModifiedById")
        )

    # ---- stages -----------------------------------------------------------------------------
    def set_stages(self, stages: list[dict[str, Any]]) -> None:
        """Replace the OpportunityStage rows (ApiName, MasterLabel, SortOrder, DefaultProbability,
        ForecastCategoryName, IsClosed, IsWon, IsActive, Description)."""
        table = self.records["opportunitystage"]
        table.clear()
        obj = self.schema["opportunitystage"]
        admin = self.admin_user_id
        for i, spec in enumerate(stages, start=1):
            stamp = self._stamp()
            api_name = spec["ApiName"]
            row = {
                "Id": self._new_id(obj),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": admin,
                "LastModifiedDate": stamp,
                "LastModifiedById": admin,
                "SystemModstamp": stamp,
                "ApiName": api_name,
                "MasterLabel": spec.get("MasterLabel", api_name),
                "IsActive": bool(spec.get("IsActive", True)),
                "IsClosed": bool(spec.get("IsClosed", False)),
                "IsWon": bool(spec.get("IsWon", False)),
                "SortOrder": int(spec.get("SortOrder", i)),
                "DefaultProbability": float(spec.get("DefaultProbability", 0)),
                "ForecastCategoryName": spec.get("ForecastCategoryName", "Pipeline"),
                "Description": spec.get("Description"),
            }
            table[row["Id"]] = row

    def change_stage(self, api_name: str, *, label: str | None = None, active: bool | None = None) -> dict[str, Any]:
        """Rename a stage's label and/or (de)activate it, as an admin does in Setup."""
        row = self.stage(api_name)
        if row is None:
            raise SalesforceError("NOT_FOUND", f"No opportunity stage with API name {api_name}", status=404)
        if label is not None:
            if not isinstance(label, str) or not label.strip() or len(label) > 255:
                raise SalesforceError(
                    "FIELD_INTEGRITY_EXCEPTION", "MasterLabel must be 1 to 255 characters", ["MasterLabel"]
                )
            row["MasterLabel"] = label.strip()
        if active is not None:
            row["IsActive"] = bool(active)
        stamp = self._stamp()
        row["LastModifiedDate"] = row["SystemModstamp"] = stamp
        return dict(row)

    def stages_in_order(self) -> list[dict[str, Any]]:
        return sorted(self.records["opportunitystage"].values(), key=lambda r: (r["SortOrder"], r["ApiName"]))

    # ---- replication (getUpdated / getDeleted) ----------------------------------------------
    def updated_ids(self, object_name: str, start: datetime, end: datetime) -> list[str]:
        obj = self.object_def(object_name)
        out = []
        for row in self.records[obj.name.lower()].values():
            if row.get("IsDeleted"):
                continue
            stamp = parse_datetime(row["SystemModstamp"])
            if stamp is not None and start <= stamp < end:
                out.append(row["Id"])
        return out

    def deleted_records(self, object_name: str, start: datetime, end: datetime) -> list[dict[str, str]]:
        obj = self.object_def(object_name)
        out = []
        for rid, when in self.deleted_log[obj.name.lower()].items():
            stamp = parse_datetime(when)
            if stamp is not None and start <= stamp < end:
                out.append({"id": rid, "deletedDate": when})
        out.sort(key=lambda d: d["deletedDate"])
        return out
