"""The typed records the Salesforce client returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ..redact import redact


@dataclass(frozen=True)
class Stage:
    """One OpportunityStage. ``api_name`` is the stable key (Opportunity.StageName holds it)."""

    api_name: str
    label: str
    is_active: bool
    is_closed: bool
    is_won: bool
    sort_order: int
    probability: float | None

    @property
    def is_closed_lost(self) -> bool:
        return self.is_closed and not self.is_won

    @property
    def is_closed_won(self) -> bool:
        return self.is_closed and self.is_won


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    label: str
    updateable: bool
    createable: bool
    custom: bool
    length: int | None


@dataclass(frozen=True)
class UpdatedResult:
    ids: list[str]
    latest_date_covered: datetime


class SaveError(NamedTuple):
    code: str
    message: str
    fields: list[str]


@dataclass(frozen=True)
class SaveResult:
    id: str | None
    success: bool
    errors: list[SaveError] = field(default_factory=list)


@dataclass(frozen=True)
class Identity:
    org_id: str
    user_id: str
    username: str
    display_name: str
    email: str


@dataclass(frozen=True)
class UserPermissions:
    """What the connected user may do, from the permission sets assigned to them (a profile is one
    of them too). Each flag is True/False, or None when it could not be read."""

    modify_all_data: bool | None
    view_setup: bool | None
    api_enabled: bool | None


def save_errors(raw: Any) -> list[SaveError]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        fields = item.get("fields")
        out.append(
            SaveError(
                code=str(item.get("statusCode") or item.get("errorCode") or ""),
                message=redact(str(item.get("message") or "")),
                fields=[str(f) for f in fields] if isinstance(fields, list) else [],
            )
        )
    return out
