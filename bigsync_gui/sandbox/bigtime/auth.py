"""The BigTime emulator's authenticator: the staff member behind an API request, from any of
BigTime's three credentials (OAuth token, ``/session`` token, the firm's API key), and their rights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from ..web import ApiError

if TYPE_CHECKING:
    from .data import BigTimeData

UNAUTHORIZED = "Authorization has been denied for this request."


class BigTimeAuth:
    """Who is calling, over the firm's tokens, sessions and API key."""

    def __init__(self, data: BigTimeData) -> None:
        self.data = data

    def switch(self, name: str) -> bool:
        return bool(self.data.switches[name])

    def staff(self, request: Request, permission: str | None = None) -> int:
        """The staff member behind the request, from any of BigTime's three credentials, always with
        the firm's ``X-Auth-Realm`` (every documented call carries it); else 401. With ``permission``:
        405 unless the staff member has that right."""
        headers = request.headers
        staff_id: int | None = None
        authorization = headers.get("Authorization", "")
        if headers.get("X-Auth-Realm") != self.data.firm["Id"]:
            staff_id = None
        elif authorization[:7].lower() == "bearer ":
            if self.switch("oauth_bearer"):
                staff_id = self.data.auth.check_access_token(authorization[7:].strip())
        elif headers.get("X-Auth-ApiToken"):
            staff_id = self.data.auth.check_api_key(headers["X-Auth-ApiToken"].strip())
        elif headers.get("X-Auth-Token"):
            token = headers["X-Auth-Token"].strip()
            staff_id = self.data.auth.check_session_token(token)
            if staff_id is None and self.switch("oauth_x_auth_token"):
                staff_id = self.data.auth.check_access_token(token)
        if staff_id is None or staff_id not in self.data.records["staff"]:
            raise ApiError(401, "UNAUTHORIZED", UNAUTHORIZED)
        if permission:
            self.data.require(staff_id, permission)
        return staff_id
