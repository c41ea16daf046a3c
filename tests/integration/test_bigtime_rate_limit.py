"""The BigTime client under a limiter, against the sandbox's rate limit: the strict reading (503
without Retry-After: wait a whole window) and the lenient one (Retry-After honoured)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from bigsync_gui.connectors.bigtime import ApiKeyAuth, BigTimeClient
from bigsync_gui.connectors.errors import RateLimited
from bigsync_gui.connectors.http import HttpPolicy, RetryPolicy, waits_reported
from bigsync_gui.connectors.ratelimit import RateLimiter
from bigsync_gui.sandbox import credentials as cred

FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0)


def admin(sandbox, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, sandbox.bigtime_admin_url + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def statuses(sandbox) -> list[tuple[str, str, int]]:
    entries = admin(sandbox, "GET", "/log")["entries"]
    return [(e["method"], e["path"].lower().removeprefix("/bigtimedata/api/v2"), e["status"]) for e in entries]


class SandboxSleep:
    """The policy's sleep: moves the sandbox clock (its rate limit's time) instead of waiting."""

    def __init__(self, sandbox, moves_clock: bool = True) -> None:
        self.sandbox, self.moves_clock = sandbox, moves_clock
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.moves_clock:
            admin(self.sandbox, "POST", "/clock", json={"advance_seconds": seconds})


def client(sandbox, limiter: RateLimiter, sleep: Any = time.sleep) -> BigTimeClient:
    http = HttpPolicy("bigtime", policy=FAST, limiter=limiter, sleep=sleep)
    return BigTimeClient(sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, cred.BT_FIRM_ID), http)


def test_strict_503_waits_a_whole_window_then_reads(sandbox):
    sleeper = SandboxSleep(sandbox)
    bt = client(sandbox, RateLimiter(1000, 60.0), sleeper.sleep)
    admin(sandbox, "POST", "/rate_limit", json={"requests": 2, "window_seconds": 60})
    bt.projects()
    bt.clients()
    staff = bt.staff()  # third in the minute: 503 without Retry-After → wait 60 s, not a few
    assert staff[0].email == cred.BT_USERNAME
    assert len(sleeper.waits) == 1 and 59 <= sleeper.waits[0] <= 60
    assert statuses(sandbox)[-2:] == [("GET", "/staff", 503), ("GET", "/staff", 200)]
    assert bt.http.counter.snapshot()["bigtime"] == {"200": 3, "503": 1}


def test_gives_up_after_three_windows_with_rate_limited(sandbox):
    sleeper = SandboxSleep(sandbox, moves_clock=False)  # the limit never lifts
    bt = client(sandbox, RateLimiter(1000, 60.0), sleeper.sleep)
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 60})
    bt.projects()
    with pytest.raises(RateLimited) as caught:
        bt.staff()
    assert caught.value.retry_after == 60.0
    assert "BigTime is limiting requests (HTTP 503)" in caught.value.message
    assert [round(w) for w in sleeper.waits] == [60, 60, 60]
    assert [s for _, path, s in statuses(sandbox) if path == "/staff"] == [503] * 4


def test_a_refused_create_is_not_sent_again_and_everyone_holds_off(sandbox):
    sleeper = SandboxSleep(sandbox)
    limiter = RateLimiter(1000, 60.0)
    bt = client(sandbox, limiter, sleeper.sleep)
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 60})
    bt.projects()
    with pytest.raises(RateLimited) as caught:
        bt.create_project({"Nm": "Rate limited", "ClientId": 201, "ProjectCode": "RL-1"})
    assert caught.value.retry_after == 60.0 and sleeper.waits == []
    assert [e for e in statuses(sandbox) if e[0] == "POST"] == [("POST", "/project/detail", 503)]
    assert limiter.reserve() > 58  # the next request of any client of this firm waits the window out


def test_lenient_retry_after_is_honoured_under_a_limiter(sandbox):
    sleeper = SandboxSleep(sandbox)
    bt = client(sandbox, RateLimiter(1000, 60.0), sleeper.sleep)
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 60, "retry_after": True})
    bt.projects()
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 50})
    bt.staff()
    assert len(sleeper.waits) == 1 and 9 <= sleeper.waits[0] <= 10.5  # what BigTime asked, not a window


def test_paced_under_the_limit_nothing_is_refused(sandbox):
    admin(sandbox, "POST", "/rate_limit", json={"requests": 5, "window_seconds": 1.0})
    bt = client(sandbox, RateLimiter(4, 1.0))
    started = time.monotonic()
    for _ in range(12):
        bt.staff()
    elapsed = time.monotonic() - started
    assert bt.http.counter.snapshot()["bigtime"] == {"200": 12}
    assert elapsed >= 2.0  # 12 requests at 4 per second: the third batch starts 2 s in


def test_a_wait_is_reported_and_ends_when_cancelled(sandbox):
    limiter = RateLimiter(1000, 60.0)
    limiter.hold(60.0)
    bt = client(sandbox, limiter)
    cancel = threading.Event()
    told: list[tuple[str, float]] = []

    def on_wait(system: str, seconds: float) -> None:
        told.append((system, seconds))
        if seconds:
            cancel.set()  # the app is stopping

    started = time.monotonic()
    with waits_reported(cancel, on_wait), pytest.raises(RateLimited) as caught:
        bt.staff()
    assert time.monotonic() - started < 5
    assert "Stopped while waiting for BigTime's rate limit" in caught.value.message
    assert [s for s, _ in told] == ["bigtime", "bigtime"] and told[0][1] > 55 and told[1][1] == 0
    assert statuses(sandbox) == []  # nothing was sent


def test_a_retry_after_beyond_the_bound_is_raised_at_once_and_holds_at_most_a_window(sandbox):
    sleeper = SandboxSleep(sandbox)
    limiter = RateLimiter(1000, 60.0)
    bt = client(sandbox, limiter, sleeper.sleep)
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 600, "retry_after": True})
    bt.projects()
    with pytest.raises(RateLimited) as caught:
        bt.staff()
    assert 590 <= caught.value.retry_after <= 600 and sleeper.waits == []  # the loop waits, not this thread
    assert 55 < limiter.reserve() <= 60  # other callers (the wizard…) are not stalled for 10 minutes
