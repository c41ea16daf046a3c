"""The Salesforce emulator's admin API (``/__sandbox__/...``): records (with the recycle bin),
opportunity stages, tokens, the org's settings, and the field-history retention that prunes
OpportunityHistory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response, read_json
from .errors import SalesforceError
from .formats import parse_datetime
from .schema import ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData


class AdminRoutes:
    """What a test or the console changes in the org behind the API's back."""

    def __init__(self, data: SalesforceData) -> None:
        self.data = data

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/records/<sobject>", endpoint=self.admin_list_records, methods=["GET"]),
            Rule("/records/<sobject>", endpoint=self.admin_create_record, methods=["POST"]),
            Rule("/records/<sobject>/<record_id>", endpoint=self.admin_get_record, methods=["GET"]),
            Rule("/records/<sobject>/<record_id>", endpoint=self.admin_update_record, methods=["PATCH"]),
            Rule("/records/<sobject>/<record_id>", endpoint=self.admin_delete_record, methods=["DELETE"]),
            Rule("/records/<sobject>/<record_id>/restore", endpoint=self.admin_restore_record, methods=["POST"]),
            Rule("/history/prune", endpoint=self.admin_prune_history, methods=["POST"]),
            Rule("/stages", endpoint=self.admin_list_stages, methods=["GET"]),
            Rule("/stages/<path:api_name>", endpoint=self.admin_change_stage, methods=["POST"]),
            Rule("/tokens", endpoint=self.admin_list_tokens, methods=["GET"]),
            Rule("/tokens/expire", endpoint=self.admin_expire_tokens, methods=["POST"]),
            Rule("/tokens/revoke", endpoint=self.admin_revoke_tokens, methods=["POST"]),
            Rule("/settings", endpoint=self.admin_get_settings, methods=["GET"]),
            Rule("/settings", endpoint=self.admin_set_settings, methods=["POST", "PATCH"]),
        ]

    def _admin_object(self, sobject: str) -> ObjectDef:
        obj = self.data.schema.get(sobject.lower())
        if obj is None:
            raise SalesforceError("NOT_FOUND", f"No sObject type {sobject}", status=404)
        return obj

    def admin_list_records(self, request: Request, sobject: str) -> Response:
        obj = self._admin_object(sobject)
        mode = request.args.get("deleted", "0").lower()
        rows = self.data.all_records(obj.name)
        if mode in ("only",):
            rows = [r for r in rows if r.get("IsDeleted")]
        elif mode not in ("1", "true", "yes", "all"):
            rows = [r for r in rows if not r.get("IsDeleted")]
        return json_response({"count": len(rows), "records": [dict(r) for r in rows]})

    def admin_create_record(self, request: Request, sobject: str) -> Response:
        obj = self._admin_object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        new_id = self.data.insert(obj.name, body, system=True)
        return json_response({"id": new_id, "record": self.data.get(obj.name, new_id)}, status=201)

    def admin_get_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        row = self.data.get(obj.name, record_id, include_deleted=True)
        if row is None:
            raise SalesforceError("NOT_FOUND", f"No {obj.name} with id {record_id}", status=404)
        return json_response(row)

    def admin_update_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        self.data.update(obj.name, record_id, body, system=True)
        return json_response(self.data.get(obj.name, record_id))

    def admin_delete_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        self.data.delete(obj.name, record_id, system=True)
        return json_response(self.data.get(obj.name, record_id, include_deleted=True))

    def admin_restore_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        self.data.undelete(obj.name, record_id)
        return json_response(self.data.get(obj.name, record_id))

    def admin_prune_history(self, request: Request) -> Response:
        """``{"before": ISO}``: the OpportunityHistory rows created before it are gone, as Salesforce's
        field-history retention (18 months, 24 through the API) may remove them; ``{"pruned": N}``."""
        body = read_json(request)
        before = parse_datetime(str(body.get("before") or "")) if isinstance(body, dict) else None
        if before is None:
            raise SalesforceError("INVALID_FIELD", "'before' must be an ISO date-time.")
        rows = self.data.records["opportunityhistory"]
        gone = [rid for rid, row in rows.items() if (parse_datetime(row["CreatedDate"]) or before) < before]
        for rid in gone:
            del rows[rid]
        return json_response({"pruned": len(gone)})

    def admin_list_stages(self, request: Request) -> Response:
        return json_response([dict(s) for s in self.data.stages_in_order()])

    def admin_change_stage(self, request: Request, api_name: str) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        label = body.get("label", body.get("MasterLabel"))
        active = body.get("active", body.get("IsActive"))
        if active is not None and not isinstance(active, bool):
            raise SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", "active must be true or false", ["IsActive"])
        return json_response(self.data.change_stage(api_name, label=label, active=active))

    def admin_list_tokens(self, request: Request) -> Response:
        now = self.data.now().timestamp()
        ttl = float(self.data.settings["access_token_ttl_seconds"])
        access = [
            {
                "token": t[:20] + "…",
                "user_id": e["user_id"],
                "scope": e["scope"],
                "revoked": e["revoked"],
                "expired": now - e["last_used"] > ttl,
            }
            for t, e in self.data.auth.access_tokens.items()
        ]
        refresh = [
            {"token": t[:12] + "…", "user_id": e["user_id"], "scope": e["scope"], "revoked": e["revoked"]}
            for t, e in self.data.auth.refresh_tokens.items()
        ]
        return json_response({"access_tokens": access, "refresh_tokens": refresh})

    def admin_expire_tokens(self, request: Request) -> Response:
        body = read_json(request) or {}
        token = body.get("token") if isinstance(body, dict) else None
        return json_response({"expired": self.data.auth.expire_access_tokens(token)})

    def admin_revoke_tokens(self, request: Request) -> Response:
        body = read_json(request) or {}
        token = body.get("token") if isinstance(body, dict) else None
        if token:
            return json_response({"revoked": 1 if self.data.auth.revoke_token(token) else 0})
        return json_response({"revoked": self.data.auth.revoke_all_refresh_tokens()})

    def _settings_json(self) -> dict[str, Any]:
        s = self.data.settings
        return {
            "daily_api_limit": int(s["daily_api_limit"]),
            "api_usage": self.data.auth.api_used(),
            "rotate_refresh_tokens": bool(s["rotate_refresh_tokens"]),
            "access_token_ttl_seconds": float(s["access_token_ttl_seconds"]),
            "redirect_uris": list(s["redirect_uris"]),
            "remember_approvals": bool(s.get("remember_approvals", False)),
        }

    def admin_get_settings(self, request: Request) -> Response:
        return json_response(self._settings_json())

    def admin_set_settings(self, request: Request) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        s = self.data.settings
        unknown = set(body) - {
            "daily_api_limit",
            "api_usage",
            "rotate_refresh_tokens",
            "access_token_ttl_seconds",
            "redirect_uris",
            "remember_approvals",
        }
        if unknown:
            raise SalesforceError("INVALID_FIELD", f"Unknown settings: {', '.join(sorted(unknown))}", sorted(unknown))

        def integer(name: str, minimum: int) -> int:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise SalesforceError("INVALID_FIELD", f"{name} must be a number >= {minimum}", [name])
            return int(value)

        if "daily_api_limit" in body:
            s["daily_api_limit"] = integer("daily_api_limit", 0)
        if "access_token_ttl_seconds" in body:
            s["access_token_ttl_seconds"] = integer("access_token_ttl_seconds", 1)
        for flag in ("rotate_refresh_tokens", "remember_approvals"):
            if flag in body:
                if not isinstance(body[flag], bool):
                    raise SalesforceError("INVALID_FIELD", f"{flag} must be true or false", [flag])
                s[flag] = body[flag]
        if "redirect_uris" in body:
            uris = body["redirect_uris"]
            if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
                raise SalesforceError("INVALID_FIELD", "redirect_uris must be a list of URLs", ["redirect_uris"])
            s["redirect_uris"] = list(uris)
        if "api_usage" in body:
            self.data.auth.set_api_used(integer("api_usage", 0))
        return json_response(self._settings_json())
