"""The one HTTP policy, against the sandbox's fault injection."""

from __future__ import annotations

import socket

import pytest
import requests

from bigsync_gui.connectors.errors import InsecureUrl, Offline, RateLimited, ServiceUnavailable
from bigsync_gui.connectors.http import HttpPolicy, RequestCounter, RetryPolicy, require_secure_url
from bigsync_gui.sandbox import Sandbox


def fault(sandbox: Sandbox, **spec: object) -> None:
    requests.post(sandbox.salesforce_admin_url + "/faults", json=spec, timeout=5).raise_for_status()


def sandbox_log(sandbox: Sandbox) -> list[dict]:
    return requests.get(sandbox.salesforce_admin_url + "/log", timeout=5).json()["entries"]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> HttpPolicy:
    return HttpPolicy(
        "salesforce",
        RequestCounter(),
        RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01),
        sleep=sleeps.append,
    )


def versions_url(sandbox: Sandbox) -> str:
    return sandbox.salesforce_url + "/services/data/"


def test_retry_after_is_honoured_and_every_attempt_counted(
    sandbox: Sandbox, policy: HttpPolicy, sleeps: list[float]
) -> None:
    fault(sandbox, kind="status", status=503, retry_after=2, path="/services/data/$", count=1)
    response = policy.request("GET", versions_url(sandbox))
    assert response.status_code == 200
    assert sleeps == [2.0]
    assert policy.counter.snapshot() == {"salesforce": {"503": 1, "200": 1}}
    assert [e["status"] for e in sandbox_log(sandbox)] == [503, 200]


def test_long_retry_after_is_raised_not_waited(sandbox: Sandbox, policy: HttpPolicy, sleeps: list[float]) -> None:
    fault(sandbox, kind="status", status=429, retry_after=600, path="/services/data/$", count=1)
    with pytest.raises(RateLimited) as caught:
        policy.request("GET", versions_url(sandbox))
    assert caught.value.retry_after == 600
    assert sleeps == [] and policy.counter.total("salesforce") == 1


def test_persistent_5xx_gives_up_with_backoff(sandbox: Sandbox, policy: HttpPolicy, sleeps: list[float]) -> None:
    fault(sandbox, kind="html", status=502, path="/services/data/$", count=10)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.request("GET", versions_url(sandbox))
    assert caught.value.status == 502
    assert len(sleeps) == 3 and all(0 < s <= 0.06 for s in sleeps)
    assert policy.counter.snapshot() == {"salesforce": {"502": 4}}


def test_a_create_is_never_retried(sandbox: Sandbox, policy: HttpPolicy, sleeps: list[float]) -> None:
    fault(sandbox, kind="status", status=503, path="/services/data/$", count=5)
    with pytest.raises(ServiceUnavailable):
        policy.request("POST", versions_url(sandbox))
    assert sleeps == [] and len(sandbox_log(sandbox)) == 1


def test_dropped_connection_retried_for_reads_only(sandbox: Sandbox, policy: HttpPolicy) -> None:
    fault(sandbox, kind="drop", method="GET", path="/services/data/$", count=1)
    assert policy.request("GET", versions_url(sandbox)).status_code == 200
    assert policy.counter.snapshot()["salesforce"] == {"connection-error": 1, "200": 1}

    fault(sandbox, kind="drop", method="POST", path="/services/data/$", count=1)
    with pytest.raises(Offline, match="dropped"):
        policy.request("POST", versions_url(sandbox))
    posts = [e for e in sandbox_log(sandbox) if e["method"] == "POST"]
    assert len(posts) == 1  # it reached the server once and was not sent again


def test_unreachable_host_is_offline(policy: HttpPolicy) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(Offline, match="refused"):
        policy.request("GET", f"http://127.0.0.1:{port}/services/data/")
    assert policy.counter.snapshot() == {"salesforce": {"connection-error": 4}}


@pytest.mark.parametrize("url", ["http://login.salesforce.com/services", "ftp://127.0.0.1/x", "acme.my.salesforce.com"])
def test_insecure_urls_are_refused_before_any_request(url: str, policy: HttpPolicy) -> None:
    with pytest.raises(InsecureUrl):
        policy.request("GET", url)
    assert policy.counter.total() == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://login.salesforce.com",
        "http://127.0.0.1:8700/x",
        "http://localhost:7171/OauthRedirect",
        "http://[::1]:80/",
    ],
)
def test_https_and_loopback_are_allowed(url: str) -> None:
    assert require_secure_url("salesforce", url) == url
