"""Run both emulators on 127.0.0.1: in-process threads (tests, ``--sandbox``) or in the foreground."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import credentials as cred
from .bigtime.app import API_PREFIX as BT_API_PREFIX
from .bigtime.app import BigTimeApp
from .console import ConsoleApp
from .salesforce.app import SalesforceApp
from .web import ADMIN_PREFIX
from .world import World

HOST = "127.0.0.1"


class _Handler(WSGIRequestHandler):
    def send_response(self, code: int, message: str | None = None) -> None:
        """As the base class, minus its own Date header: the emulators send theirs, from the
        world clock (which tests move), like a real server's clock."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


def _serve(app: Any, port: int) -> BaseWSGIServer:
    """A threaded server on a socket we bind ourselves: a busy port raises OSError here
    (werkzeug's own binding would print and exit the whole process)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
        return make_server(HOST, sock.getsockname()[1], app, threaded=True, fd=sock.fileno(), request_handler=_Handler)
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


class Sandbox:
    """Both services on their own ports. ``port`` N gives Salesforce N and BigTime N+1; 0 = free ports."""

    def __init__(
        self,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        world: World | None = None,
        clock: datetime | None = None,
    ) -> None:
        """``clock`` pins the world's start instant (tests: the same seed on any day); without it
        the world follows real time."""
        self.world = world or World(state_file=state_file, clock_start=clock)
        self.salesforce = SalesforceApp(self.world)
        self.bigtime = BigTimeApp(self.world)
        self.console = ConsoleApp(self.world, self.salesforce, self.bigtime)
        self._port = port
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> Sandbox:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        sf_app = DispatcherMiddleware(self.salesforce, {ADMIN_PREFIX + "/console": self.console})
        sf_server = _serve(sf_app, self._port)
        try:
            bt_server = _serve(self.bigtime, self._port + 1 if self._port else 0)
        except OSError:
            sf_server.server_close()
            raise
        self._servers = [sf_server, bt_server]
        self.salesforce.base_url = f"http://{HOST}:{sf_server.port}"
        self.bigtime.base_url = f"http://{HOST}:{bt_server.port}{BT_API_PREFIX}"
        for server in self._servers:
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name=f"sandbox-{server.port}"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what clients need to know ---------------------------------------------------------
    @property
    def salesforce_url(self) -> str:
        return self.salesforce.base_url

    @property
    def bigtime_url(self) -> str:
        return self.bigtime.base_url

    @property
    def bigtime_admin_url(self) -> str:
        root = self.bigtime.base_url[: -len(BT_API_PREFIX)]
        return root + ADMIN_PREFIX

    @property
    def salesforce_admin_url(self) -> str:
        return self.salesforce.base_url + ADMIN_PREFIX

    @property
    def console_url(self) -> str:
        return self.salesforce.base_url + ADMIN_PREFIX + "/console/"

    def info(self) -> dict[str, Any]:
        """The one JSON line `bigsync-gui sandbox` prints."""
        return {
            "salesforce": {
                "login_url": self.salesforce_url,
                "instance_url": self.salesforce_url,
                "admin_url": self.salesforce_admin_url,
                "username": cred.SF_USERNAME,
                "password": cred.SF_PASSWORD,
                "consumer_key": cred.SF_CONSUMER_KEY,
                "redirect_uri": cred.SF_REDIRECT_URIS[0],
            },
            "bigtime": {
                "base_url": self.bigtime_url,
                "admin_url": self.bigtime_admin_url,
                "username": cred.BT_USERNAME,
                "password": cred.BT_PASSWORD,
                "client_id": cred.BT_CLIENT_ID,
                "client_secret": cred.BT_CLIENT_SECRET,
                "redirect_uri": cred.BT_REDIRECT_URIS[0],
                "api_key": cred.BT_API_KEY,
                "firm_id": cred.BT_FIRM_ID,
            },
            "console_url": self.console_url,
        }
