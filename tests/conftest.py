"""Shared fixtures: a running sandbox, and Qt/WebEngine set to work headless."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

from collections.abc import Iterator

import pytest
import requests

from bigsync_gui.connectors import ratelimit
from bigsync_gui.sandbox import Sandbox

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
    """One sandbox for the whole run (cheap tests that reset what they touch)."""
    with Sandbox() as sb:
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


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here (the tests' root conftest) so that `pytest --scenario-seeds=…` works from the repository root too.
    parser.addoption("--scenario-seeds", dest="scenario_seeds", default=None,
                     help="seeds for the engine's randomized scenarios: a count (40), a list (3,17) or a range (100-199)")
