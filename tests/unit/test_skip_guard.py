"""The guard against hidden skips (tests/skip_guard.py) fails a run that skips anything but the slow run."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent  # where skip_guard.py lives

PROBE = """
import pytest

def test_runs():
    pass

@pytest.mark.slow
@pytest.mark.skip(reason="the long run")
def test_slow_one():
    pass

def test_needs_a_display():
    pytest.skip("no X server here")
"""


@pytest.fixture(autouse=True)
def guard_importable(monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(TESTS))


def test_a_skip_other_than_the_slow_run_fails_the_run_and_says_why(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("BIGSYNC_ALLOW_SKIPS", raising=False)
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest_subprocess("-p", "skip_guard", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*skipped tests that are not the slow run*", "*test_needs_a_display: Skipped: no X server here"]
    )
    assert "test_slow_one:" not in result.stdout.str()


def test_only_the_slow_run_skipped_passes(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("BIGSYNC_ALLOW_SKIPS", raising=False)
    pytester.makepyfile(test_probe=PROBE.split("def test_needs_a_display")[0])
    assert pytester.runpytest_subprocess("-p", "skip_guard", "-p", "no:cacheprovider").ret == pytest.ExitCode.OK


def test_a_developer_can_allow_skips_for_a_missing_capability(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("BIGSYNC_ALLOW_SKIPS", "1")
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest_subprocess("-p", "skip_guard", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*allowed: BIGSYNC_ALLOW_SKIPS*"])
