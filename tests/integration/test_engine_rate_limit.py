"""The engine under BigTime's rate limit: a stop in the middle of a batch keeps what was done (each
project is committed as it is created) and the next cycle creates only the rest; waits are told."""

from __future__ import annotations

import collections

import pytest

from bigsync_gui.connectors import http
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.errors import ConfigInvalid
from engine_fixtures import Connected, Oracle, admin, run


def win_new_opportunities(env: Connected, n: int) -> list[str]:
    account = env.account_id("Globex Corporation")  # an existing BigTime client: no client is created
    ids = [env.new_opp(f"Paced win {i}", "Negotiation/Review", account) for i in range(n)]
    for oid in ids:
        env.move(oid, "Closed Won")
    return ids


def project_posts(env: Connected) -> collections.Counter[int]:
    return collections.Counter(
        e["status"]
        for e in env.log("bigtime")
        if e["method"] == "POST" and e["path"].lower().endswith("/project/detail")
    )


def test_a_rate_limit_stop_mid_batch_is_resumed_without_redoing_anything(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    wins = win_new_opportunities(env, 8)
    env.clear_logs()
    # The strict reading: 503 without Retry-After. 4 requests: the client list and 3 creates.
    admin(env.sandbox.bigtime_admin_url, "POST", "/rate_limit", {"requests": 4, "window_seconds": 3600})
    first = run(env, oracle)
    assert (first.result, first.error) == ("failed", "RateLimited")
    assert first.created == 3
    assert project_posts(env) == {200: 3, 503: 1}  # the refused create was not sent again

    admin(env.sandbox.bigtime_admin_url, "POST", "/rate_limit", {"requests": None})
    second = run(env, oracle)
    assert (second.result, second.created) == ("ok", 5)  # only the remaining ones
    oracle.check(final=True)
    assert all(len(env.projects_for(oid)) == 1 for oid in wins)  # 0 duplicates, under whichever code form BigTime kept
    assert project_posts(env)[200] == len(wins)  # one successful POST /project/detail per win


def test_one_refused_create_is_resumed_in_the_same_cycle_after_a_fresh_look(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    wins = win_new_opportunities(env, 4)
    env.clear_logs()
    env.fault("bigtime", kind="status", status=503, method="POST", path="/project/detail$", count=1)  # no Retry-After
    report = run(env, oracle)
    assert (report.result, report.created) == ("ok", 4)  # the cycle went on
    oracle.check(final=True)
    assert project_posts(env) == {200: 4, 503: 1}
    lists = [e for e in env.log("bigtime") if e["method"] == "GET" and e["path"].lower().endswith("/project")]
    assert len(lists) == 1  # looked before sending it again
    assert all(len(env.projects_for(oid)) == 1 for oid in wins)


def test_a_refused_create_asking_for_long_stops_the_cycle_for_the_loop(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    win_new_opportunities(env, 2)
    env.clear_logs()
    env.fault("bigtime", kind="status", status=503, retry_after=600, method="POST", path="/project/detail$", count=1)
    first = run(env, oracle)
    assert (first.result, first.error, first.created, first.retry_after) == ("failed", "RateLimited", 0, 600.0)
    assert not [e for e in env.log("bigtime") if e["path"].lower().endswith("/project") and e["method"] == "GET"]
    second = run(env, oracle)
    assert (second.result, second.created) == ("ok", 2)
    oracle.check(final=True)
    assert project_posts(env) == {200: 2, 503: 1}


def test_a_wait_for_the_rate_limit_is_told_while_the_cycle_runs(
    connected_engine: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = connected_engine
    monkeypatch.setattr(http, "REPORT_WAITS_FROM", 0.0)  # the test's "minute" is 0.2 s
    win_new_opportunities(env, 1)
    env.fault("bigtime", kind="status", status=503, method="GET", path="/client$")  # no Retry-After
    told: list[tuple[str, float]] = []
    report = env.engine.run_cycle(on_wait=lambda system, seconds: told.append((system, seconds)))
    assert (report.result, report.created) == ("ok", 1)
    assert told == [("bigtime", pytest.approx(0.2, abs=0.05)), ("bigtime", 0.0)]


def test_the_pace_is_the_setting_and_one_limiter_serves_every_client_of_the_firm(connected_engine: Connected) -> None:
    env = connected_engine
    settings = env.connector.settings()
    settings.bigtime.requests_per_minute = 7
    settings.save(env.profile)
    one, two = Connector(env.profile).bigtime(), Connector(env.profile).bigtime()
    assert one.http is not two.http and one.http.limiter is two.http.limiter
    assert (one.http.limiter.requests, one.http.limiter.window) == (7, 60.0)
    settings.bigtime.requests_per_minute = 0
    settings.save(env.profile)
    with pytest.raises(ConfigInvalid):
        Connector(env.profile).bigtime()
