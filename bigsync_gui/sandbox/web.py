"""The HTTP machinery both emulators share: routing, the request log, faults, the admin API.

Each emulated service is a :class:`ServiceApp` (a WSGI app on werkzeug) that holds its routes:
classes given the service's data and an authenticator, whose ``rules()`` name their own methods as
endpoints. The pipeline for a request is: admin paths (``/__sandbox__/...``) go straight to the
admin handlers and are not logged; everything else may first meet an injected fault, is then
dispatched to the service's routes, logged (method, path, status, time) and, after a ``drop``
fault, has its connection cut after the work was done. Every handler runs inside the one wrapper
(:meth:`ServiceApp._guarded`): the world's lock held, the data layer's errors in the service's
format, the world saved after a write that succeeded.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import FaultError, FaultList, fault_from_json
from .switches import SwitchError, Switches

if TYPE_CHECKING:
    from .world import World

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/__sandbox__"


class ApiError(Exception):
    """An error a handler wants the client to see, in the service's own error format."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class LogEntry:
    seq: int
    time: str
    method: str
    path: str
    query: str
    status: int
    ms: float

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class RequestLog:
    """Every API request a service answered (admin calls excluded): how tests count calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._seq = 0

    def add(self, method: str, path: str, query: str, status: int, ms: float) -> None:
        with self._lock:
            self._seq += 1
            stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            self._entries.append(LogEntry(self._seq, stamp, method, path, query, status, round(ms, 2)))

    def entries(self, since: int = 0) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._entries if e.seq > since]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, mimetype="application/json")


def read_json(request: Request) -> Any:
    """The request body as JSON; a clear 400 when it is not."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None


Handler = Callable[..., Any]


def unlocked(handler: Handler) -> Handler:
    """Mark a handler that must not hold the world's lock for the whole request (a long poll that
    waits for other requests' writes): it takes the lock itself for its short looks."""
    handler.unlocked = True  # type: ignore[attr-defined]
    return handler


class ServiceApp:
    """Base of an emulated service. Subclasses give ``rules()`` and ``admin_rules()``.

    A rule's endpoint is a handler taking ``(request, **url_values)`` (a route object's bound
    method, or the name of a method of the app) and returning a Response or JSON-able data.
    ``data_errors``: the data layer's error classes, turned into :class:`ApiError` by
    :meth:`data_error`.
    """

    name = "service"
    case_insensitive_paths = False
    data_errors: tuple[type[Exception], ...] = ()

    def __init__(self, world: World) -> None:
        self.world = world
        self.faults = FaultList()
        self.log = RequestLog()
        self.base_url = ""  # set by the server once the port is known
        self.url_map = Map(self.rules(), strict_slashes=False, merge_slashes=False)
        self.admin_map = Map(
            [
                Rule(ADMIN_PREFIX + r.rule, endpoint=r.endpoint, methods=r.methods)
                for r in self._common_admin_rules() + self.admin_rules()
            ],
            strict_slashes=False,
        )

    # ---- to be provided by each service -------------------------------------------------
    def rules(self) -> list[Rule]:
        raise NotImplementedError

    def admin_rules(self) -> list[Rule]:
        return []

    def error_response(self, error: ApiError) -> Response:
        """Render an error the way the real service does."""
        raise NotImplementedError

    def after_request(self, request: Request, response: Response) -> None:
        """Hook for headers every API response carries (e.g. Sforce-Limit-Info)."""

    def admin_info(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.base_url}

    def data_error(self, exc: Exception, admin: bool) -> ApiError:
        """One of ``data_errors`` as the error the client sees (the admin API's flavour if ``admin``)."""
        raise NotImplementedError

    # ---- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            response = self._dispatch(self.admin_map, request, admin=True)
            return response(environ, start_response)

        started = time.monotonic()
        drop = False
        response: Response | None = None
        for fault in self.faults.take(request.method, request.path):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "hold":
                self.faults.hold(fault)
            elif fault.kind == "drop":
                drop = True
            elif fault.kind == "html":
                response = Response(
                    "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
                    "<h1>Server Error in '/' Application.</h1>"
                    "<p>An unexpected error occurred.</p></body></html>",
                    status=fault.status,
                    mimetype="text/html",
                    headers=fault.headers,
                )
            else:
                body = fault.body
                if isinstance(body, str):
                    response = Response(body, status=fault.status, headers=fault.headers, mimetype="text/plain")
                else:
                    response = json_response(
                        body if body is not None else self._default_fault_body(fault.status),
                        status=fault.status,
                        headers=fault.headers,
                    )
        if response is None:
            response = self._dispatch(self.url_map, request, admin=False)
        self.after_request(request, response)
        # The service's own clock (movable in tests), as a real server's Date header would be.
        response.headers["Date"] = http_date(self.world.clock.now())
        self.log.add(
            request.method,
            request.path,
            request.query_string.decode("latin-1"),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if drop:
            self._cut_connection(environ)
        return response(environ, start_response)

    def _default_fault_body(self, status: int) -> Any:
        return [{"message": f"Injected fault: HTTP {status}", "errorCode": "SANDBOX_INJECTED_FAULT"}]

    @staticmethod
    def _cut_connection(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _dispatch(self, url_map: Map, request: Request, admin: bool) -> Response:
        path = request.path.lower() if (self.case_insensitive_paths and not admin) else request.path
        adapter = url_map.bind_to_environ(request.environ)  # the (case-folded) path is passed to match()
        try:
            endpoint, values = adapter.match(path, method=request.method)
            handler: Handler = endpoint if callable(endpoint) else getattr(self, endpoint)
            return self._guarded(handler, request, values, admin)
        except ApiError as exc:
            return self._admin_error(exc) if admin else self.error_response(exc)
        except NotFound:
            err = ApiError(404, "NOT_FOUND", f"The requested resource does not exist: {request.path}")
            return self._admin_error(err) if admin else self.error_response(err)
        except MethodNotAllowed as exc:
            err = ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {', '.join(sorted(exc.valid_methods or []))}",
            )
            return self._admin_error(err) if admin else self.error_response(err)
        except HTTPException as exc:
            err = ApiError(exc.code or 500, "BAD_REQUEST", exc.description or "Bad request")
            return self._admin_error(err) if admin else self.error_response(err)
        except Exception:  # a bug in the emulator: answer like a real server's 500, keep the trace in the log
            log.error(
                "sandbox %s: unhandled error on %s %s\n%s",
                self.name,
                request.method,
                request.path,
                traceback.format_exc(),
            )
            err = ApiError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the sandbox.")
            return self._admin_error(err) if admin else self.error_response(err)

    def _guarded(self, handler: Handler, request: Request, values: dict[str, Any], admin: bool) -> Response:
        """The one wrapper of every handler: the world's lock held throughout (unless the handler
        is :func:`unlocked`), the data layer's errors turned into the service's, data returned
        rendered as JSON, and the world saved after a write that succeeded."""
        if getattr(handler, "unlocked", False):
            return self._answer(handler, request, values, admin)
        with self.world.lock:
            response = self._answer(handler, request, values, admin)
            if self._mutates(request) and response.status_code < 400:
                self.world.changed()
            return response

    def _answer(self, handler: Handler, request: Request, values: dict[str, Any], admin: bool) -> Response:
        try:
            result = handler(request, **values)
        except self.data_errors as exc:
            raise self.data_error(exc, admin) from None
        return result if isinstance(result, Response) else json_response(result)

    @staticmethod
    def _mutates(request: Request) -> bool:
        return request.method in ("POST", "PUT", "PATCH", "DELETE")

    @staticmethod
    def _admin_error(error: ApiError) -> Response:
        body: dict[str, Any] = {"error": error.code, "message": error.message}
        fields = getattr(error, "fields", None)
        if fields is not None:
            body["fields"] = fields
        return json_response(body, status=error.status)

    # ---- admin API common to both services ----------------------------------------------
    def _common_admin_rules(self) -> list[Rule]:
        return [
            Rule("/", endpoint="admin_get_info", methods=["GET"]),
            Rule("/log", endpoint="admin_get_log", methods=["GET"]),
            Rule("/log", endpoint="admin_reset_log", methods=["DELETE"]),
            Rule("/faults", endpoint="admin_get_faults", methods=["GET"]),
            Rule("/faults", endpoint="admin_add_fault", methods=["POST"]),
            Rule("/faults", endpoint="admin_clear_faults", methods=["DELETE"]),
            Rule("/faults/held", endpoint="admin_held_requests", methods=["GET"]),
            Rule("/clock", endpoint="admin_get_clock", methods=["GET"]),
            Rule("/clock", endpoint="admin_move_clock", methods=["POST"]),
            Rule("/reset", endpoint="admin_reset", methods=["POST"]),
            Rule("/switches", endpoint="admin_get_switches", methods=["GET"]),
            Rule("/switches", endpoint="admin_set_switches", methods=["POST"]),
        ]

    def switches(self) -> Switches | None:
        """The service's named switches (sandbox/switches.py); None: it has none."""
        return None

    def admin_get_switches(self, request: Request) -> Response:
        switches = self.switches()
        return json_response(switches.listing() if switches is not None else {})

    def admin_set_switches(self, request: Request) -> Response:
        switches = self.switches()
        if switches is None:
            raise ApiError(404, "NOT_FOUND", f"The {self.name} emulator has no switches.")
        try:
            switches.apply_request(read_json(request))
        except SwitchError as exc:
            raise ApiError(400, "INVALID_SWITCH", str(exc)) from None
        return json_response(switches.listing())

    def admin_get_info(self, request: Request) -> Response:
        return json_response(self.admin_info())

    def admin_get_log(self, request: Request) -> Response:
        since = request.args.get("since", "0")
        entries = [e.to_json() for e in self.log.entries(int(since) if since.isdigit() else 0)]
        return json_response({"count": len(entries), "entries": entries})

    def admin_reset_log(self, request: Request) -> Response:
        self.log.reset()
        return json_response({"ok": True})

    def admin_get_faults(self, request: Request) -> Response:
        return json_response(self.faults.to_json())

    def admin_add_fault(self, request: Request) -> Response:
        data = read_json(request)
        items = data if isinstance(data, list) else [data]
        try:
            added = [self.faults.add(fault_from_json(item)).to_json() for item in items]
        except FaultError as exc:
            raise ApiError(400, "INVALID_FAULT", str(exc)) from None
        return json_response(added if isinstance(data, list) else added[0], status=201)

    def admin_held_requests(self, request: Request) -> Response:
        return json_response({"held": self.faults.held()})

    def admin_clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return json_response({"ok": True})

    def admin_get_clock(self, request: Request) -> Response:
        return json_response(self.world.clock.to_json())

    def admin_move_clock(self, request: Request) -> Response:
        data = read_json(request) or {}
        try:
            seconds = float(data.get("advance_seconds", 0))
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_CLOCK", "advance_seconds must be a number") from None
        self.world.clock.advance(seconds)
        return json_response(self.world.clock.to_json())

    def admin_reset(self, request: Request) -> Response:
        """Back to the seed data (both services); faults and logs of this service cleared."""
        self.world.reset()
        self.faults.clear()
        self.log.reset()
        return json_response({"ok": True})
