"""The emulated org's refusal of a read or write, as the REST API reports it (``errorCode``,
message, fields); the routes render it in the API's format (:mod:`.api_errors`)."""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """A write or read the org refuses: ``error_code``, ``message``, ``fields`` as the API reports them."""

    def __init__(self, error_code: str, message: str, fields: list[str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.fields = fields or []
        self.status = status

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.error_code, "fields": list(self.fields)}
