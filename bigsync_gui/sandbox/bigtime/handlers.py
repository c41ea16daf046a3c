"""What every route of the BigTime emulator shares: the API's path and query parameters read
case-insensitively."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

API_PREFIX = "/BigtimeData/api/v2"


def lower_keys(data: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


def arg(request: Request, *names: str) -> str | None:
    """A query parameter by any of ``names``, case-insensitively."""
    wanted = {n.lower() for n in names}
    for key, value in request.args.items(multi=True):
        if key.lower() in wanted:
            return value
    return None


def bool_arg(request: Request, name: str, default: bool = False) -> bool:
    value = arg(request, name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")
