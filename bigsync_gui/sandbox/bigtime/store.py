"""The emulated BigTime firm's state: the firm, its records in the API's own shape, ids, the
credentials' tables, settings and switches; its persistence; and the helpers every part uses (new
ids, stamps, rights). The directory, the ledger and the credentials work on it (:mod:`.data`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self

from .. import credentials as cred
from ..switches import Switches
from .schema import (
    ACCESS_TOKEN_TTL_SECONDS,
    ID_BASE,
    KINDS,
    PERMISSIONS,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW_SECONDS,
    SESSION_TTL_SECONDS,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    as_bool,
    fmt_stamp,
)
from .switches import BIGTIME_SWITCHES


class FirmStore:
    """The emulated firm's state and what every part of it needs (ids, stamps, rights).
    Callers hold the world's lock while mutating."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.clear()

    # ---- lifecycle / persistence -----------------------------------------------------------
    def clear(self) -> None:
        self.firm: dict[str, Any] = {"Id": cred.BT_FIRM_ID, "Nm": cred.BT_FIRM_NAME}
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.next_id: dict[str, int] = dict(ID_BASE)
        self.next_invoice_nbr = 1001
        self.custom_values: dict[int, dict[int, str]] = {}  # project → {udf Sid → value}
        self.oauth_txns: dict[str, dict[str, Any]] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.session_tokens: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {
            # BigTime's limit as public clients meet it: 30 requests in any 60 s per firm, then 503
            # without Retry-After (POST /__sandbox__/rate_limit changes it).
            "rate_limit_requests": RATE_LIMIT_REQUESTS,
            "rate_limit_window_seconds": RATE_LIMIT_WINDOW_SECONDS,
            "rate_limit_retry_after": False,
            "access_token_ttl_seconds": ACCESS_TOKEN_TTL_SECONDS,
            "session_ttl_seconds": SESSION_TTL_SECONDS,
            "api_key": cred.BT_API_KEY,
            "api_key_revoked": False,
        }
        self.switches = Switches(BIGTIME_SWITCHES)

    def to_json(self) -> dict[str, Any]:
        return {
            "firm": self.firm,
            "records": {kind: list(recs.values()) for kind, recs in self.records.items()},
            "next_id": self.next_id,
            "next_invoice_nbr": self.next_invoice_nbr,
            "custom_values": {str(p): {str(s): v for s, v in vals.items()} for p, vals in self.custom_values.items()},
            "oauth_codes": self.oauth_codes,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "session_tokens": self.session_tokens,
            "settings": self.settings,
            "switches": self.switches.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Any) -> Self:
        self = cls(clock)
        self.firm = dict(data.get("firm") or self.firm)
        for kind, recs in (data.get("records") or {}).items():
            if kind in self.records:
                id_key = "Sid" if kind == "invoice" else "SID" if kind in ("time", "expense") else "SystemId"
                self.records[kind] = {int(r[id_key]): r for r in recs}
        self.next_id.update({k: int(v) for k, v in (data.get("next_id") or {}).items()})
        self.next_invoice_nbr = int(data.get("next_invoice_nbr", self.next_invoice_nbr))
        self.custom_values = {
            int(p): {int(s): v for s, v in vals.items()} for p, vals in (data.get("custom_values") or {}).items()
        }
        for name in ("oauth_codes", "access_tokens", "refresh_tokens", "session_tokens"):
            setattr(self, name, dict(data.get(name) or {}))
        self.settings.update(data.get("settings") or {})
        self.switches = Switches(BIGTIME_SWITCHES, data.get("switches") or {})
        return self

    # ---- small utilities -------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().date()

    def new_id(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def get(self, kind: str, record_id: Any, label: str) -> dict[str, Any]:
        try:
            rid = int(record_id)
        except (TypeError, ValueError):
            raise NotFoundError(f"{label} '{record_id}' was not found.") from None
        record = self.records[kind].get(rid)
        if record is None:
            raise NotFoundError(f"{label} {rid} was not found.")
        return record

    def stamp(self, record: dict[str, Any], created: bool = False) -> None:
        now = fmt_stamp(self.now())
        if created:
            record["DtCreated"] = now
        record["DtModified"] = now

    def touch(self, project: dict[str, Any]) -> None:
        """Time, expenses and invoices change the project's DtModified only under the lenient
        reading (switch ``entries_touch_project``): nothing documents that they do."""
        if self.switches["entries_touch_project"]:
            self.stamp(project)

    # ---- permissions -----------------------------------------------------------------------
    def permissions(self, staff_id: int) -> dict[str, bool]:
        staff = self.get("staff", staff_id, "Staff member")
        rights = staff.setdefault("_rights", {})
        return {name: bool(rights.get(name, True)) for name in PERMISSIONS}

    def set_permissions(self, staff_id: int, changes: dict[str, Any]) -> dict[str, bool]:
        staff = self.get("staff", staff_id, "Staff member")
        rights = staff.setdefault("_rights", {})
        for name, value in changes.items():
            if name not in PERMISSIONS:
                raise ValidationError(f"Unknown permission '{name}'. Known: {', '.join(PERMISSIONS)}")
            rights[name] = as_bool(value, name)
        return self.permissions(staff_id)

    def require(self, staff_id: int | None, permission: str) -> None:
        if staff_id is None:
            return
        if not self.permissions(staff_id)[permission]:
            raise PermissionDenied(PERMISSIONS[permission])
