"""The emulated org's description of itself: API versions, resources, limits, and the describe of
its objects (field-level security decides which fields a user sees)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response
from .rest import LATEST_VERSION, OLDEST_VERSION, base_url, release_label, sobject_def
from .schema import FieldDef, ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData
    from .permissions import Permissions
    from .rest import RestAuth

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


class DescribeRoutes:
    """Versions, resources, limits and describe."""

    def __init__(self, data: SalesforceData, auth: RestAuth, permissions: Permissions) -> None:
        self.data = data
        self.auth = auth
        self.permissions = permissions

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule("/services/data", endpoint=self.versions, methods=["GET"]),
            Rule(f"{d}", endpoint=self.resources, methods=["GET"]),
            Rule(f"{d}/limits", endpoint=self.limits, methods=["GET"]),
            Rule(f"{d}/sobjects", endpoint=self.describe_global, methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>", endpoint=self.sobject_info, methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/describe", endpoint=self.sobject_describe, methods=["GET"]),
        ]

    def versions(self, request: Request) -> Response:
        return json_response(
            [
                {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(OLDEST_VERSION, LATEST_VERSION + 1)
            ]
        )

    def resources(self, request: Request, version: str) -> Response:
        version, _ = self.auth.rest(request, version)
        base = f"/services/data/{version}"
        names = (
            "sobjects",
            "query",
            "queryAll",
            "limits",
            "composite",
            "search",
            "tooling",
            "ui-api",
            "recent",
            "connect",
            "analytics",
            "jobs",
            "actions",
            "support",
        )
        return json_response({name: f"{base}/{name}" for name in names})

    def limits(self, request: Request, version: str) -> Response:
        self.auth.rest(request, version)
        limit = int(self.data.settings["daily_api_limit"])
        used = self.data.auth.api_used()
        return json_response(
            {
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 5, "Remaining": 4},
                "FileStorageMB": {"Max": 20, "Remaining": 20},
                "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
                "SingleEmail": {"Max": 15, "Remaining": 15},
            }
        )

    # ---- describe -------------------------------------------------------------------------------
    def _object_urls(self, obj: ObjectDef, version: str) -> dict[str, str]:
        base = f"/services/data/{version}/sobjects/{obj.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def _object_summary(self, obj: ObjectDef, version: str) -> dict[str, Any]:
        plural = obj.label + ("es" if obj.label.endswith("s") else "s")
        if obj.label.endswith("y") and not obj.label.endswith("ay"):
            plural = obj.label[:-1] + "ies"
        return {
            "activateable": False,
            "createable": obj.createable,
            "custom": obj.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": obj.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": obj.key_prefix,
            "label": obj.label,
            "labelPlural": plural,
            "layoutable": obj.createable,
            "mergeable": False,
            "mruEnabled": True,
            "name": obj.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": obj.name != "OpportunityStage",
            "triggerable": obj.createable,
            "undeletable": obj.deletable,
            "updateable": obj.updateable,
            "urls": self._object_urls(obj, version),
        }

    def _picklist_values(self, obj: ObjectDef, f: FieldDef) -> list[dict[str, Any]]:
        if obj.name == "Opportunity" and f.name == "StageName":
            return [
                {
                    "active": bool(s["IsActive"]),
                    "defaultValue": False,
                    "label": s["MasterLabel"],
                    "validFor": None,
                    "value": s["ApiName"],
                }
                for s in self.data.stages_in_order()
            ]
        return [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in f.picklist]

    def _describe_field(self, obj: ObjectDef, f: FieldDef) -> dict[str, Any]:
        is_text = f.type in ("string", "textarea", "picklist", "email", "phone", "url", "id", "reference")
        return {
            "aggregatable": f.type not in ("textarea",),
            "autoNumber": False,
            "byteLength": f.length * 3 if is_text else 0,
            "calculated": False,
            "cascadeDelete": False,
            "caseSensitive": False,
            "createable": f.createable,
            "custom": f.custom,
            "defaultValue": None,
            "defaultedOnCreate": f.name
            in (
                "Id",
                "IsDeleted",
                "CreatedDate",
                "CreatedById",
                "LastModifiedDate",
                "LastModifiedById",
                "SystemModstamp",
                "OwnerId",
                "IsPrimary",
            ),
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": 9 if f.type == "int" else 0,
            "externalId": f.external_id,
            "filterable": f.type != "textarea",
            "groupable": f.type not in ("textarea", "currency", "double", "percent"),
            "htmlFormatted": False,
            "idLookup": f.name == "Id" or f.external_id,
            "label": f.label or f.name,
            "length": f.length if is_text else 0,
            "name": f.name,
            "nameField": f.name == "Name",
            "namePointing": False,
            "nillable": f.nillable,
            "permissionable": f.nillable and f.custom,
            "picklistValues": self._picklist_values(obj, f) if f.type == "picklist" else [],
            "polymorphicForeignKey": False,
            "precision": f.precision if f.type in ("currency", "double", "percent") else 0,
            "referenceTo": [f.reference_to] if f.reference_to else [],
            "relationshipName": f.relationship_name,
            "relationshipOrder": None,
            "restrictedPicklist": (obj.name, f.name) == ("Opportunity", "StageName"),
            "scale": f.scale if f.type in ("currency", "double", "percent") else 0,
            "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
            "sortable": f.type != "textarea",
            "type": f.type,
            "unique": f.name == "Username",
            "updateable": f.updateable,
        }

    def describe_global(self, request: Request, version: str) -> Response:
        version, _ = self.auth.rest(request, version)
        objects = sorted(self.data.schema.values(), key=lambda o: o.name)
        return json_response(
            {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [self._object_summary(o, version) for o in objects]}
        )

    def sobject_info(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        rows = [r for r in self.data.all_records(obj.name) if not r.get("IsDeleted")][-3:]
        recent = [
            {
                "attributes": {"type": obj.name, "url": f"/services/data/{version}/sobjects/{obj.name}/{r['Id']}"},
                "Id": r["Id"],
                **({"Name": r.get("Name")} if obj.field("Name") else {}),
            }
            for r in rows
        ]
        return json_response({"objectDescribe": self._object_summary(obj, version), "recentItems": recent})

    def sobject_describe(self, request: Request, version: str, sobject: str) -> Response:
        version, session = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        body = self._object_summary(obj, version)
        visible = self.permissions.visible_fields(obj, session["user_id"])
        body["fields"] = [self._describe_field(obj, f) for f in visible]
        children = []
        for rel in obj.child_relationships.values():
            cascade = rel.child_object in ("OpportunityContactRole", "OpportunityHistory") or obj.name == "Account"
            children.append(
                {
                    "cascadeDelete": cascade,
                    "childSObject": rel.child_object,
                    "deprecatedAndHidden": False,
                    "field": rel.field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": rel.name,
                    "restrictedDelete": False,
                }
            )
        body["childRelationships"] = children
        body["recordTypeInfos"] = []
        body["urls"] = {
            **body["urls"],
            "uiEditTemplate": f"{base_url(request)}/{{ID}}/e",
            "uiDetailTemplate": f"{base_url(request)}/{{ID}}",
            "uiNewRecord": f"{base_url(request)}/{obj.key_prefix}/e",
        }
        body["actionOverrides"], body["supportedScopes"] = [], [{"label": "All", "name": "everything"}]
        return json_response(body)
