"""The BigTime emulator's admin API (``/__sandbox__/bigtime/...``): records of every kind,
payments, posting invoices, project totals, tokens, the rate limit and settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from ..web import ApiError, json_response, read_json
from .data import PERMISSIONS
from .handlers import lower_keys

if TYPE_CHECKING:
    from .data import BigTimeData
    from .rate_limit import RateLimit


class AdminRoutes:
    """The admin endpoints (tests and the console drive the emulated firm through them)."""

    def __init__(self, data: BigTimeData, rate_limit: RateLimit) -> None:
        self.data = data
        self.rate_limit = rate_limit

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/records/<kind>", endpoint=self.admin_records_list, methods=["GET"]),
            Rule("/records/<kind>", endpoint=self.admin_records_create, methods=["POST"]),
            Rule("/records/<kind>/<int(signed=True):rid>", endpoint=self.admin_record_get, methods=["GET"]),
            Rule("/records/<kind>/<int(signed=True):rid>", endpoint=self.admin_record_patch, methods=["PATCH"]),
            Rule("/records/<kind>/<int(signed=True):rid>", endpoint=self.admin_record_delete, methods=["DELETE"]),
            Rule("/invoices/<int:iid>/payments", endpoint=self.admin_invoice_payment, methods=["POST"]),
            Rule("/invoices/<int:iid>/post", endpoint=self.admin_invoice_post, methods=["POST"]),
            Rule("/projects/<int:pid>/totals", endpoint=self.admin_project_totals, methods=["GET"]),
            Rule("/tokens", endpoint=self.admin_tokens, methods=["GET"]),
            Rule("/tokens/expire", endpoint=self.admin_tokens_expire, methods=["POST"]),
            Rule("/tokens/revoke", endpoint=self.admin_tokens_revoke, methods=["POST"]),
            Rule("/settings", endpoint=self.admin_settings_get, methods=["GET"]),
            Rule("/settings", endpoint=self.admin_settings_post, methods=["POST", "PATCH"]),
            Rule("/rate_limit", endpoint=self.admin_rate_limit_get, methods=["GET"]),
            Rule("/rate_limit", endpoint=self.admin_rate_limit_post, methods=["POST"]),
        ]

    # ---- admin API ---------------------------------------------------------------------------
    _ADMIN_KINDS = ("client", "project", "staff", "contact", "time", "expense", "invoice", "task")

    def _kind(self, kind: str) -> str:
        kind = kind.lower().rstrip("s") if kind.lower() not in ("staff",) else "staff"
        if kind == "expens":
            kind = "expense"
        if kind not in self._ADMIN_KINDS:
            raise ApiError(404, "NOT_FOUND", f"Unknown record kind '{kind}'. Known: {', '.join(self._ADMIN_KINDS)}")
        return kind

    def admin_records_list(self, request: Request, kind: str) -> Any:
        return self.data.list_kind(self._kind(kind))

    def admin_records_create(self, request: Request, kind: str) -> Any:
        kind = self._kind(kind)
        body = read_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        rid = self.data.create_kind(kind, body)
        return json_response(self.data.get_kind(kind, rid), status=201)

    def admin_record_get(self, request: Request, kind: str, rid: int) -> Any:
        return self.data.get_kind(self._kind(kind), rid)

    def admin_record_patch(self, request: Request, kind: str, rid: int) -> Any:
        kind = self._kind(kind)
        body = read_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        return self.data.get_kind(kind, self.data.update_kind(kind, rid, body))

    def admin_record_delete(self, request: Request, kind: str, rid: int) -> Any:
        self.data.delete_kind(self._kind(kind), rid)
        return {"ok": True}

    def admin_invoice_payment(self, request: Request, iid: int) -> Any:
        body = lower_keys(read_json(request) or {})
        if "amount" not in body:
            raise ApiError(400, "BAD_REQUEST", "amount is required.")
        self.data.ledger.record_payment(iid, body["amount"], body.get("date"))
        return self.data.ledger.get_invoice(iid)

    def admin_invoice_post(self, request: Request, iid: int) -> Any:
        self.data.ledger.post_invoice(iid)
        return self.data.ledger.get_invoice(iid)

    def admin_project_totals(self, request: Request, pid: int) -> Any:
        return self.data.ledger.project_totals(pid)

    def admin_tokens(self, request: Request) -> Any:
        def rows(store: dict[str, Any]) -> list[dict[str, Any]]:
            return [{"token": k, **{f: v for f, v in info.items() if f != "issued"}} for k, info in store.items()]

        return {
            "access": rows(self.data.access_tokens),
            "refresh": rows(self.data.refresh_tokens),
            "session": rows(self.data.session_tokens),
            "api_key_revoked": bool(self.data.settings.get("api_key_revoked")),
        }

    def admin_tokens_expire(self, request: Request) -> Any:
        body = lower_keys(read_json(request) or {})
        kind = str(body.get("kind", "all")).lower()
        if kind not in ("all", "access", "session", "code"):
            raise ApiError(400, "BAD_REQUEST", "kind must be all, access, session or code.")
        return {"expired": self.data.auth.expire_tokens(kind, body.get("token"))}

    def admin_tokens_revoke(self, request: Request) -> Any:
        body = lower_keys(read_json(request) or {})
        kind = str(body.get("kind", "all")).lower()
        if kind not in ("all", "access", "refresh", "session", "api_key"):
            raise ApiError(400, "BAD_REQUEST", "kind must be all, access, refresh, session or api_key.")
        return {"revoked": self.data.auth.revoke_tokens(kind, body.get("token"))}

    def _settings_view(self) -> dict[str, Any]:
        settings = {k: v for k, v in self.data.settings.items()}
        settings["permissions"] = {str(sid): self.data.permissions(sid) for sid in self.data.records["staff"]}
        settings["permission_names"] = dict(PERMISSIONS)
        return settings

    def _rate_limit_view(self) -> dict[str, Any]:
        settings = self.data.settings
        return {
            "requests": settings.get("rate_limit_requests"),
            "window_seconds": settings.get("rate_limit_window_seconds"),
            "retry_after": bool(settings.get("rate_limit_retry_after")),
        }

    def admin_rate_limit_get(self, request: Request) -> Any:
        return self._rate_limit_view()

    def admin_rate_limit_post(self, request: Request) -> Any:
        """``{"requests": N or null (off), "window_seconds": S, "retry_after": bool}`` (each optional);
        the window starts empty."""
        body = read_json(request) or {}
        if not isinstance(body, dict) or set(body) - {"requests", "window_seconds", "retry_after"}:
            raise ApiError(400, "BAD_REQUEST", "The body is an object with requests, window_seconds and retry_after.")
        requests_, window = (
            body.get("requests", self.data.settings.get("rate_limit_requests")),
            body.get("window_seconds", self.data.settings.get("rate_limit_window_seconds")),
        )
        if requests_ is not None and (not isinstance(requests_, int) or isinstance(requests_, bool) or requests_ < 1):
            raise ApiError(400, "BAD_REQUEST", "requests must be a positive integer, or null for no limit.")
        if not isinstance(window, (int, float)) or isinstance(window, bool) or window <= 0:
            raise ApiError(400, "BAD_REQUEST", "window_seconds must be a positive number.")
        self.data.settings.update(rate_limit_requests=requests_, rate_limit_window_seconds=float(window))
        if "retry_after" in body:
            self.data.settings["rate_limit_retry_after"] = bool(body["retry_after"])
        self.rate_limit.reset()
        return self._rate_limit_view()

    def admin_settings_get(self, request: Request) -> Any:
        return self._settings_view()

    def admin_settings_post(self, request: Request) -> Any:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        settings = self.data.settings
        for key, value in body.items():
            if key in ("access_token_ttl_seconds", "session_ttl_seconds"):
                if not isinstance(value, int) or value < 1:
                    raise ApiError(400, "BAD_REQUEST", f"{key} must be a positive integer.")
                settings[key] = value
            elif key == "api_key_revoked":
                settings[key] = bool(value)
            elif key == "redirect_uris":
                if not isinstance(value, list) or not value or not all(isinstance(u, str) and u for u in value):
                    raise ApiError(400, "BAD_REQUEST", "redirect_uris must be a non-empty list of URLs.")
                settings[key] = list(value)
            elif key == "api_key":
                settings[key] = str(value)
                settings["api_key_revoked"] = False
            elif key == "permissions":
                if not isinstance(value, dict):
                    raise ApiError(400, "BAD_REQUEST", "permissions must be an object.")
                if all(isinstance(v, dict) for v in value.values()) and value:
                    for sid, changes in value.items():
                        self.data.set_permissions(int(sid), changes)
                else:
                    target = body.get("staff_id") or min(self.data.records["staff"])
                    self.data.set_permissions(int(target), value)
            elif key == "staff_id":
                continue
            else:
                raise ApiError(400, "BAD_REQUEST", f"Unknown setting '{key}'.")
        return self._settings_view()
