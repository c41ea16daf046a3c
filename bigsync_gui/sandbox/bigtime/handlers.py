"""What every handler of the BigTime emulator shares: the API's path, query parameters read
case-insensitively, and the two handler wrappers (:func:`api` for the REST API, :func:`admin`
for the admin API)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from werkzeug.wrappers import Request, Response

from ..web import ApiError, json_response
from .data import BigTimeError

if TYPE_CHECKING:
    from .app import BigTimeApp

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


def api(permission: str | None = None, auth: bool = True) -> Callable[..., Any]:
    """Wrap a handler: authenticate, check the right, translate data errors, render JSON."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def wrapper(self: BigTimeApp, request: Request, **values: Any) -> Response:
            try:
                with self.world.lock:
                    staff_id = self._authenticate(request) if auth else None
                    if permission:
                        self.data.require(staff_id, permission)
                    result = fn(self, request, staff_id, **values)
            except BigTimeError as exc:
                raise ApiError(exc.status, type(exc).__name__, exc.message) from None
            return result if isinstance(result, Response) else json_response(result)

        return wrapper

    return deco


def admin(fn: Callable[..., Any]) -> Callable[..., Response]:
    """Wrap an admin handler: hold the lock, persist after changes, admin-format errors."""

    @functools.wraps(fn)
    def wrapper(self: BigTimeApp, request: Request, **values: Any) -> Response:
        try:
            with self.world.lock:
                result = fn(self, request, **values)
                if request.method != "GET":
                    self.world.changed()
        except BigTimeError as exc:
            raise ApiError(exc.status, type(exc).__name__.upper(), exc.message) from None
        return result if isinstance(result, Response) else json_response(result)

    return wrapper
