"""No hidden skips: a pytest plugin (loaded by tests/conftest.py).

A skip may only stand for the slow long run (`-m slow`) or a missing *system* capability, and CI
has every capability: so a run that skips anything else fails, with the reasons printed. A developer
on a machine without, say, Xvfb can accept it with BIGSYNC_ALLOW_SKIPS=1.
"""

from __future__ import annotations

import os

import pytest

_unexpected: list[tuple[str, str]] = []


def _allowed() -> bool:
    return bool(os.environ.get("BIGSYNC_ALLOW_SKIPS"))


def _is_controller(config: pytest.Config) -> bool:
    """Not an xdist worker: the controller sees every worker's reports."""
    return not hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "slow" not in report.keywords:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _unexpected.append((report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected and not _allowed() and _is_controller(session.config) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _unexpected or not _is_controller(config):
        return
    allowed = _allowed()
    terminalreporter.section(
        "skipped tests that are not the slow run" + (" (allowed: BIGSYNC_ALLOW_SKIPS)" if allowed else ""),
        red=not allowed,
        yellow=allowed,
    )
    for nodeid, reason in _unexpected:
        terminalreporter.line(f"{nodeid}: {reason}")
    if not allowed:
        terminalreporter.line(
            "A default run must skip nothing but the slow run: install what is missing "
            "(packaging/dev.sh does) or set BIGSYNC_ALLOW_SKIPS=1 to accept it here."
        )
