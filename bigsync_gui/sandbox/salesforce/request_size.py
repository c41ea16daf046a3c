"""The size limit of a REST call (Salesforce Help, knowledge article 000386264, "Maximum number of
rows returned by SOQL queries over the REST API"): "the maximum length for the combined URI and
headers is 16,384 bytes. A request exceeding this limit returns a 431 Request Header Fields Too
Large error. If the URI itself exceeds this limit, the request returns a 414 URI Too Long error."

The article gives the statuses, not the bodies: the emulator answers its usual JSON error array.
"""

from __future__ import annotations

from werkzeug.wrappers import Request

from .api_errors import SfApiError

MAX_URI_AND_HEADERS_BYTES = 16_384


def _uri_bytes(request: Request) -> int:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        return len(raw.encode("latin-1", "replace"))
    query = request.query_string
    return len(request.path.encode("utf-8")) + (len(query) + 1 if query else 0)


def _header_bytes(request: Request) -> int:
    # "Name: value\r\n" for each header line, as the request carried it
    return sum(len(name) + len(value.encode("latin-1", "replace")) + 4 for name, value in request.headers.items())


def refusal(request: Request) -> SfApiError | None:
    """The 414 or 431 a REST call too large for Salesforce gets, else None."""
    uri = _uri_bytes(request)
    if uri > MAX_URI_AND_HEADERS_BYTES:
        return SfApiError(414, "URI_TOO_LONG", f"URI Too Long: {uri} bytes (at most {MAX_URI_AND_HEADERS_BYTES})")
    total = uri + _header_bytes(request)
    if total > MAX_URI_AND_HEADERS_BYTES:
        return SfApiError(
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            f"Request Header Fields Too Large: the URI and headers take {total} bytes "
            f"(at most {MAX_URI_AND_HEADERS_BYTES})",
        )
    return None
