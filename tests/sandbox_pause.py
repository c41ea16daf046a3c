"""The pause an engine takes for Salesforce's clock, on the sandbox's clock instead of real time."""

from __future__ import annotations

import threading

from bigsync_gui.sandbox import Sandbox


class SandboxPause:
    """An engine's pause (``Engine(wait=...)``: a claim waiting for Salesforce's clock to leave a
    second) taken on the sandbox's world clock, moved on by the seconds instead of waiting them out."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.moved = 0.0
        self._lock = threading.Lock()

    def __call__(self, cancel: threading.Event, seconds: float) -> bool:
        if not cancel.is_set():
            with self._lock:
                self.sandbox.world.clock.advance(seconds)
                self.moved += seconds
        return cancel.is_set()
