"""What every REST route of the Salesforce emulator shares: the API versions, the authenticator (a
bearer token's session, each call counted against the daily allowance; identity's looser bearer
check), and a record's shape in an answer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from . import composite
from .api_errors import SfApiError
from .schema import FieldDef, ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData
    from .rest import RestAuth

API_VERSION = "v67.0"
OLDEST_VERSION = 31
LATEST_VERSION = int(API_VERSION[1:].split(".")[0])


def release_label(version: int) -> str:
    """``67`` → ``Summer '26`` (three releases a year; v65 was Winter '26)."""
    season = ("Winter", "Spring", "Summer")[(version - 65) % 3]
    year = 26 + (version - 65) // 3
    return f"{season} '{year:02d}"


class RestAuth:
    """The REST routes' authenticator, over the org's tokens and API usage."""

    def __init__(self, data: SalesforceData) -> None:
        self.data = data

    def version(self, version: str) -> str:
        match = re.fullmatch(r"v(\d+)\.0", version)
        if not match or not (OLDEST_VERSION <= int(match.group(1)) <= LATEST_VERSION):
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return version

    def session(self, request: Request) -> dict[str, Any]:
        """The caller's session (bearer token) after counting the call against the daily allowance."""
        header = request.headers.get("Authorization", "")
        token = ""
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        elif header[:6].lower() == "oauth ":
            token = header[6:].strip()
        session = self.data.auth.check_access_token(token) if token else None
        if session is None:
            raise SfApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not composite.inside_subrequest() and not self.data.auth.count_api_call():  # a composite counts once
            raise SfApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return session

    def rest(self, request: Request, version: str) -> tuple[str, dict[str, Any]]:
        return self.version(version), self.session(request)

    def bearer_session(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("oauth_token", "")
        return self.data.auth.check_access_token(token) if token else None


def sobject_def(data: SalesforceData, sobject: str) -> ObjectDef:
    obj = data.schema.get(sobject.lower())
    if obj is None:
        raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


def shape(obj: ObjectDef, row: dict[str, Any], version: str, fields: list[FieldDef] | None = None) -> dict[str, Any]:
    url = f"/services/data/{version}/sobjects/{obj.name}/{row['Id']}"
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
    for f in fields if fields is not None else obj.fields.values():
        out[f.name] = row.get(f.name)
    return out


def base_url(request: Request) -> str:
    return request.host_url.rstrip("/")
