"""The Salesforce emulator's error formats: REST errors as ``[{"message", "errorCode", "fields"}]``,
OAuth errors as ``{"error", "error_description"}``, and sign-in errors as a page in the browser."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from ..web import ApiError, json_response
from .auth_store import OAuthError
from .errors import SalesforceError
from .pages import error_page


class SfApiError(ApiError):
    """A REST error with the fields it concerns (rendered as ``[{"message","errorCode","fields"}]``)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status, code, message, headers)
        self.fields = fields


class OAuthApiError(ApiError):
    """Rendered as ``{"error": code, "error_description": message}``."""


class HtmlApiError(ApiError):
    """An error shown as a page in the browser (never a redirect)."""


def from_data_error(exc: Exception) -> ApiError:
    """The data layer's refusal as the error the client sees: an OAuth error, or a REST error with
    its fields (the admin API shows those fields too)."""
    if isinstance(exc, OAuthError):
        return OAuthApiError(exc.status, exc.error, exc.description)
    assert isinstance(exc, SalesforceError)
    return SfApiError(exc.status, exc.error_code, exc.message, exc.fields)


def render(error: ApiError) -> Response:
    if isinstance(error, HtmlApiError):
        response = error_page(error.code, error.message, error.status)
    elif isinstance(error, OAuthApiError):
        response = json_response({"error": error.code, "error_description": error.message}, status=error.status)
    else:
        item: dict[str, Any] = {"message": error.message, "errorCode": error.code}
        fields = getattr(error, "fields", None)
        if fields is not None:
            item["fields"] = fields
        response = json_response([item], status=error.status)
    for key, value in error.headers.items():
        response.headers[key] = value
    return response
