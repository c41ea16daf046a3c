"""BigTime's written limits on what a record holds, shared by the directory and the ledger: the
character limits of BigTime's help ("BigTime Character Limits"), and the unique, mandatory codes
("A project code is a unique way to identify a project. It's a mandatory field"; "BigTime requires
every client in the system to have a unique Id"). See docs/reference/bigtime.md, "Written limits"."""

from __future__ import annotations

from typing import Any, Iterable

from ..switches import Switches
from .schema import CHARACTER_LIMITS, ValidationError


def fit(switches: Switches, kind: str, values: dict[str, Any]) -> None:
    """Hold ``values`` (a record of ``kind``, as normalised) to BigTime's documented character limits
    (``ProjectCode``'s limit: the switch ``project_code_max``), counted the strict way, in UTF-16 code
    units as .NET does (an emoji is two): a longer value is refused with a 400, or cut / kept whole
    under the switch ``limit_overflow``."""
    for name, limit in CHARACTER_LIMITS[kind].items():
        if name == "ProjectCode":
            limit = switches["project_code_max"]
        value = values.get(name)
        units = value.encode("utf-16-le") if isinstance(value, str) else b""
        if limit is None or len(units) <= 2 * limit:
            continue
        overflow = switches["limit_overflow"]
        if overflow == "refuse":
            raise ValidationError(f"{name} is too long: at most {limit} characters are allowed.")
        if overflow == "truncate":
            values[name] = units[: 2 * limit].decode("utf-16-le", errors="ignore")


def unique(field: str, value: Any, others: Iterable[dict[str, Any]], own: int | None) -> None:
    """Refuse (400) a code another record already has, compared ignoring case and surrounding
    spaces (whether BigTime ignores case is not written: the stricter reading)."""
    code = str(value or "").strip().upper()
    if code and any(str(o.get(field) or "").strip().upper() == code and o["SystemId"] != own for o in others):
        raise ValidationError(f"{field} must be unique: another record already has '{value}'.")


def required_on_create(body: Any, field: str, label: str) -> None:
    """A create through the API must carry the mandatory code (BigTime's web app numbers it for a
    user who leaves it blank; whether the API does is not written: switches ``project_code_auto``,
    ``client_id_auto``)."""
    lowered = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    if not str(lowered.get(field.lower()) or "").strip():
        raise ValidationError(f"The {label} ({field}) is required.")
