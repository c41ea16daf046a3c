"""Shared fixtures: a running sandbox, and Qt/WebEngine set to work headless."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests

from bigsync_gui.connectors import ratelimit
from bigsync_gui.sandbox import Sandbox
from sandbox_pause import SandboxPause

# The guard against hidden skips (tests/skip_guard.py) and pytester, which the guard's own test uses.
pytest_plugins = ["skip_guard", "pytester"]


# The sandbox world's start instant in every test: its seed (time entries, invoices, ages) is dated
# from here, so the figures tests expect are the same on any day the suite runs, whatever the
# machine's clock says (CI runs the suite with libfaketime at several dates: packaging/anydate.sh).
WORLD_START = datetime(2026, 3, 24, 9, 0, tzinfo=timezone.utc)
WORLD_START_ISO = "2026-03-24T09:00:00Z"

# BigTime's emulated limit (30 a minute by default) would make most tests crawl: they get one high
# enough not to matter; the tests of the limit set their own.
RATE_LIMIT_OFF = {"requests": 1_000_000, "window_seconds": 60}


def relax_bigtime_rate_limit(bigtime_admin_url: str) -> None:
    requests.post(bigtime_admin_url + "/rate_limit", json=RATE_LIMIT_OFF, timeout=10).raise_for_status()


@pytest.fixture(autouse=True)
def fresh_rate_limiters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with the BigTime limiters of a new process: the sends of earlier tests
    (same sandbox, same firm) do not count against it."""
    monkeypatch.setattr(ratelimit, "_registry", {})


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    """One sandbox for the whole run (cheap tests that reset what they touch), its clock pinned."""
    with Sandbox(clock=WORLD_START) as sb:
        relax_bigtime_rate_limit(sb.bigtime_admin_url)
        yield sb


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, back to its seed data (and a rate limit that does not matter), faults
    and logs cleared, for each test."""
    requests.post(sandbox_session.salesforce_admin_url + "/reset", timeout=10).raise_for_status()
    requests.post(sandbox_session.bigtime_admin_url + "/reset", timeout=10).raise_for_status()
    relax_bigtime_rate_limit(sandbox_session.bigtime_admin_url)
    yield sandbox_session


@pytest.fixture
def sandbox_pause(sandbox: Sandbox) -> Iterator[SandboxPause]:
    """A ``SandboxPause`` for engines a test makes itself; the clock is taken back afterwards (it
    survives the sandbox's reset). Engines of ``connected_engine`` have their own (Connected.wait)."""
    pause = SandboxPause(sandbox)
    yield pause
    if pause.moved:
        sandbox.world.clock.advance(-pause.moved)


@pytest.fixture(params=["strict", "lenient"])
def bigtime_reading(request: pytest.FixtureRequest, sandbox: Sandbox) -> str:
    """Run a test twice: against the BigTime emulator's strict default (only what BigTime documents
    or a live-checked client shows) and with every lenient switch on (docs/sandbox.md)."""
    requests.post(
        sandbox.bigtime_admin_url + "/switches", json={"preset": request.param}, timeout=10
    ).raise_for_status()
    return request.param


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here (the tests' root conftest) so that `pytest --scenario-seeds=…` works from the repository root too.
    parser.addoption(
        "--scenario-seeds",
        dest="scenario_seeds",
        default=None,
        help="seeds for the engine's randomized scenarios: a count (40), a list (3,17) or a range (100-199)",
    )
