"""The RFC 8252 loopback redirect: a listener on this computer that catches the browser's answer,
and the system-browser sign-in built on it."""

from __future__ import annotations

import hmac
import html
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import AuthorizationFailed
from ..http import is_loopback
from ..wording import duration
from .attempt import AuthorizationAttempt
from .messages import authorize_error_sentence
from .session import TokenSet

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:3em auto;max-width:36em;color:#222}}
h1{{font-size:1.4em}} .err{{color:#a00}}</style></head>
<body><h1>{title}</h1><p{cls}>{text}</p><p>You can close this tab and return to BigSync.</p></body></html>"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # POSIX: SO_REUSEADDR lets a new sign-in bind right after the last one (TIME_WAIT) but never
    # lets two listeners share the port. On Windows it would allow exactly that, so use
    # SO_EXCLUSIVEADDRUSE there instead.
    allow_reuse_address = sys.platform != "win32"

    def server_bind(self) -> None:
        if sys.platform == "win32" and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        super().server_bind()


class _Server6(_Server):
    address_family = socket.AF_INET6


class LoopbackListener:
    """RFC 8252 loopback redirect catcher on 127.0.0.1 and the redirect URI's port.

    Beyond ``LoopbackListener(redirect_uri)`` (keyword-only, optional): ``system`` names the service in
    the errors raised; ``state``, when given, makes requests on the redirect path that carry
    another state get an error page and be ignored (a stray or hostile request cannot end the
    wait)."""

    def __init__(self, redirect_uri: str, *, system: str = "", state: str | None = None) -> None:
        parts = urlsplit(redirect_uri)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "http" or not is_loopback(parts.hostname or "") or not port:
            raise ValueError(
                f"{redirect_uri} is not a loopback redirect URI (http://localhost:PORT/path or "
                "http://127.0.0.1:PORT/path)"
            )
        self.redirect_uri = redirect_uri
        self.system = system
        self.port = port
        self._host = parts.hostname or ""
        self._path = parts.path or "/"
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._state = state
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._result: str | None = None
        self._got = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._servers:
            return
        handler = self._handler_class()
        try:
            if self._host in ("::1", "[::1]"):
                self._servers.append(_Server6(("::1", self.port), handler))
            else:
                self._servers.append(_Server(("127.0.0.1", self.port), handler))
                if self._host == "localhost" and socket.has_ipv6:
                    # Browsers may resolve localhost to ::1 first: listen there too, so nothing else can.
                    try:
                        self._servers.append(_Server6(("::1", self.port), handler))
                    except OSError as exc:
                        if _in_use(exc):
                            raise
        except OSError as exc:
            self.close()
            if _in_use(exc):
                raise AuthorizationFailed(
                    self.system,
                    f"Port {self.port} on this computer is already in use, so BigSync cannot receive "
                    "the sign-in answer. Another sign-in may still be running (finish or close it) or "
                    "another program uses that port.",
                    error="port_in_use",
                ) from None
            raise AuthorizationFailed(
                self.system,
                f"Could not listen on port {self.port} for the sign-in answer ({exc.strerror or exc}).",
                error="listen_failed",
            ) from None
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"oauth-loopback-{self.port}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> LoopbackListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- waiting -----------------------------------------------------------------------------------------------
    def wait(self, timeout: float, cancel: threading.Event | None = None) -> str:
        """The full redirect URL, e.g. ``http://localhost:7171/OauthRedirect?code=..&state=..``."""
        deadline = time.monotonic() + timeout
        while True:
            if cancel is not None and cancel.is_set():
                raise AuthorizationFailed(self.system, "The sign-in was cancelled.", error="cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._got.wait(min(left, 0.1)):
                assert self._result is not None
                return self._result
        raise AuthorizationFailed(
            self.system,
            f"No answer came from the browser within {duration(timeout)}. "
            "Finish the sign-in in the browser sooner, or start it again.",
            error="timeout",
        )

    # -- serving -----------------------------------------------------------------------------------------------
    def _accept(self, path_and_query: str) -> tuple[int, str, str, bool]:
        """(status, title, text, is_error) for one request; records the redirect when it is one."""
        parts = urlsplit(path_and_query)
        if parts.path != self._path:
            return 404, "Not found", "This address is only used to finish a sign-in.", True
        query = parse_qs(parts.query, keep_blank_values=True)
        got_state = (query.get("state") or [""])[0]
        if self._state is not None and got_state and not hmac.compare_digest(got_state, self._state):
            return (
                400,
                "Sign-in not recognised",
                "This answer does not belong to the sign-in BigSync is waiting for.",
                True,
            )
        if not query.get("code") and not query.get("error"):
            # Not a sign-in answer (a prefetch, a bookmark): it must not end the wait for the real one.
            return 400, "Not a sign-in answer", "This address is only used to finish a sign-in.", True
        with self._lock:
            if self._result is None:
                self._result = self._origin + path_and_query  # the wait ends once its page is sent (do_GET)
        error = (query.get("error") or [""])[0]
        if error:
            description = (query.get("error_description") or [""])[0]
            return 200, "Sign-in did not complete", authorize_error_sentence(self.system, error, description), True
        return 200, "Signed in", "BigSync received the answer and is finishing the connection.", False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # an idle browser pre-connect must not hold a thread forever
            server_version = "bigsync-gui"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802
                status, title, text, is_error = listener._accept(self.path)
                body = _PAGE.format(
                    title=html.escape(title), text=html.escape(text), cls=' class="err"' if is_error else ""
                ).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Connection", "close")
                try:
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    # Only now may the wait end: the caller then closes the listener, and a CLI whose
                    # sign-in was denied exits at once, taking this thread (a daemon) with it. Told
                    # before, the browser got headers and no page ("connection broken").
                    if listener._result is not None:
                        listener._got.set()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the request line carries the authorization code: never log it

        return Handler


def _in_use(exc: OSError) -> bool:
    import errno

    return (
        exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or getattr(exc, "winerror", None) == 10048
    )


def run_loopback_flow(
    attempt: AuthorizationAttempt,
    *,
    open_url: Callable[[str], None],
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
) -> TokenSet:
    """System-browser sign-in: start the listener, ``open_url(authorization_url)`` (the CLI uses
    webbrowser.open, or prints it for --no-browser), wait for the redirect, check it, exchange."""
    listener = LoopbackListener(attempt.endpoints.redirect_uri, system=attempt.endpoints.system, state=attempt.state)
    with listener:
        open_url(attempt.authorization_url)
        url = listener.wait(timeout, cancel)
    code = attempt.code_from_redirect(url)
    return attempt.exchange(code)
