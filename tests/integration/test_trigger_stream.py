"""The change-stream listener (core/streaming.py over connectors/cometd.py) against the sandbox's
CometD endpoint: what each kind of event asks of the engine, and the planned path of every failure
(docs/sync.md, "Instant triggers")."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bigsync_gui.connectors.cometd import CometdSession, StreamFailure
from bigsync_gui.core.streaming import StreamBatch, TriggerStream
from test_sandbox_salesforce_rest import Api, new_opportunity

OURS = frozenset({"BigTime_Project_Id__c"})


class Harness:
    """A listener on a real session; the token comes from the password grant and is renewed on request."""

    def __init__(self, sandbox, position: int | None = None, **kw) -> None:
        self.sandbox = sandbox
        self.api = Api(sandbox)
        self.admin = sandbox.salesforce_admin_url
        self.refreshed = 0
        self.waits: list[float] = []
        self.wake = threading.Event()
        requests.post(
            self.admin + "/streaming", json={"timeout_seconds": kw.pop("server_timeout", 0.3)}, timeout=10
        ).raise_for_status()
        margin = kw.pop("read_margin", 5.0)
        self.stream = TriggerStream(
            lambda: CometdSession(sandbox.salesforce_url, self.token, read_margin=margin),
            self.refresh,
            position,
            OURS,
            sleep=self.sleep,
            **kw,
        )

    def token(self) -> str:
        return self.api.headers["Authorization"].split()[1]

    def refresh(self) -> None:
        self.api.reauth()
        self.refreshed += 1  # counted once the new token is in place: the test thread then uses it

    def sleep(self, stop: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        return stop.wait(0.05)

    def __enter__(self) -> Harness:
        self.stream.start(self.wake)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.stop()

    def until(self, check, what: str, seconds: float = 20.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"not seen within {seconds} s: {what}")

    def batch_with(self, wanted, what: str) -> StreamBatch:
        """Take batches (as the loop does) until one, merged, satisfies ``wanted``."""
        got = StreamBatch()

        def look() -> bool:
            got.merge(self.stream.take())
            return wanted(got)

        self.until(look, what)
        return got

    def post(self, path: str, body=None) -> requests.Response:
        r = requests.post(self.admin + path, json=body if body is not None else {}, timeout=10)
        assert r.status_code < 300, r.text
        return r


def test_events_wake_with_the_records_they_name_and_own_writes_wake_nobody(sandbox):
    with Harness(sandbox) as h:
        h.until(lambda: h.stream.up, "subscribed")
        assert h.batch_with(lambda b: b.sweep, "the sweep after subscribing").record_ids == set()
        h.wake.clear()
        oid = new_opportunity(h.api)
        batch = h.batch_with(lambda b: oid in b.record_ids, "the create")
        assert h.wake.is_set() and batch.position is not None and not batch.sweep
        # our own field alone (a claim, a project id): no cycle wanted, the position still advances
        h.api.send("PATCH", f"/sobjects/Opportunity/{oid}", {"BigTime_Project_Id__c": "claim:1:2"})
        own = h.batch_with(lambda b: b.position is not None, "the own-field update")
        assert own.record_ids == set() and not own.wants_cycle and own.position > batch.position
        other = oid[:-3] + "AAA"
        h.post(
            "/streaming/events",
            {
                "changeType": "UPDATE",
                "recordIds": [oid, other, "001Kx00000000G9IAI"],
                "fields": {"StageName": "Closed Won"},
            },
        )
        h.post("/streaming/events", {"changeType": "GAP_UPDATE", "recordIds": [oid[:-3] + "BBB"]})
        several = h.batch_with(lambda b: len(b.record_ids) == 3, "one event naming several records, and a GAP")
        assert several.record_ids == {oid, other, oid[:-3] + "BBB"}  # the Account id is not an opportunity's
        h.post("/streaming/events", {"changeType": "GAP_OVERFLOW"})
        assert h.batch_with(lambda b: b.sweep, "the overflow: a full sweep").record_ids == set()


def test_the_loop_is_let_go_once_the_mode_and_its_wake_are_set(sandbox):
    """The loop's first round clears its wake and reads the mode: every wake the subscribe makes
    must come before, or the first cycle is followed by a needless second sweep."""
    with Harness(sandbox) as h:
        h.stream.on_mode = lambda up, reason: time.sleep(0.5)  # a slow observer (the CLI prints here)
        assert h.stream.wait_subscribed(threading.Event(), seconds=20)
        assert h.stream.up
        h.wake.clear()  # what the loop's first round does
        time.sleep(1.0)  # connects come and go (0.3 s each) with no event
        assert not h.wake.is_set()


def test_redelivered_events_are_taken_once(sandbox):
    with Harness(sandbox) as h:
        h.until(lambda: h.stream.up, "subscribed")
        oid = new_opportunity(h.api)
        h.batch_with(lambda b: oid in b.record_ids, "the create")
        received = h.stream.events_received
        h.post("/streaming/redeliver", {"count": 1})
        second = new_opportunity(h.api)
        h.batch_with(lambda b: second in b.record_ids, "the next create")
        assert h.stream.events_received == received + 1  # the re-sent one was dropped by its replay id


def test_an_unknown_client_handshakes_and_resubscribes_from_the_newest_event(sandbox):
    with Harness(sandbox) as h:
        h.until(lambda: h.stream.up, "subscribed")
        h.batch_with(lambda b: b.sweep, "the first sweep")
        first = new_opportunity(h.api)
        h.batch_with(lambda b: first in b.record_ids, "the first create")
        h.post("/streaming/forget")
        second = new_opportunity(h.api)  # made while the server has forgotten us: replayed after the resubscribe
        batch = h.batch_with(lambda b: second in b.record_ids and b.sweep, "the resubscribe's sweep and the replay")
        assert first not in batch.record_ids and h.stream.up


def test_a_refused_session_refreshes_the_token_then_handshakes(sandbox):
    with Harness(sandbox) as h:
        h.until(lambda: h.stream.up, "subscribed")
        first = new_opportunity(h.api)  # a position to resubscribe from: nothing in between is lost
        h.batch_with(lambda b: first in b.record_ids, "an event before")
        h.post("/tokens/expire")
        h.until(lambda: h.refreshed, "the token renewed after the next connect's 401")
        oid = new_opportunity(h.api)
        h.batch_with(lambda b: oid in b.record_ids, "an event after the new handshake")
        assert h.stream.up


def test_a_position_past_the_retention_subscribes_for_new_events_and_sweeps(sandbox):
    api = Api(sandbox)
    new_opportunity(api)
    old = requests.get(sandbox.salesforce_admin_url + "/streaming", timeout=10).json()["latest_replay_id"]
    new_opportunity(api)
    requests.post(
        sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 73 * 3600}, timeout=10
    ).raise_for_status()
    with Harness(sandbox, position=old - 1) as h:
        h.until(lambda: h.stream.up, "subscribed for new events")
        assert h.batch_with(lambda b: b.sweep, "a sweep instead of the lost events").record_ids == set()
        oid = new_opportunity(h.api)
        h.batch_with(lambda b: oid in b.record_ids, "a new event")


def test_the_spent_allocation_falls_back_to_polling_with_backoff(sandbox):
    requests.post(
        sandbox.salesforce_admin_url + "/streaming", json={"daily_event_limit": 1, "events_delivered": 1}, timeout=10
    ).raise_for_status()
    with Harness(sandbox) as h:
        h.until(lambda: len(h.waits) >= 2, "two tries")
        assert not h.stream.up and "daily allowance of streaming events" in h.stream.reason
        assert h.waits[:2] == [900.0, 1800.0]


@pytest.mark.parametrize("refused", [False, True])
def test_cdc_off_falls_back_to_polling_and_says_why(sandbox, refused):
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    requests.post(
        sandbox.salesforce_admin_url + "/switches", json={"cdc_unselected_subscribe_refused": refused}, timeout=10
    ).raise_for_status()
    # Without the refusal Salesforce cannot tell; the Tooling API's answer (cdc_selected) can.
    with Harness(sandbox, cdc_selected=lambda: False) as h:
        h.until(lambda: h.waits, "a try")
        assert not h.stream.up and h.stream.reason == "Change Data Capture is not on for Opportunity in this org"
        assert h.waits[0] == 1800.0


def test_a_connect_that_hangs_past_its_timeout_reconnects(sandbox):
    with Harness(sandbox, read_margin=0.5) as h:
        h.until(lambda: h.stream.up, "subscribed")
        before = new_opportunity(h.api)  # a position to resubscribe from
        h.batch_with(lambda b: before in b.record_ids, "an event before")
        # the next connect hangs for a minute: only giving up after timeout + margin (0.8 s) and
        # connecting again brings the event within the 20 s this test waits
        h.post("/faults", {"kind": "latency", "seconds": 60, "path": "/cometd", "count": 1})
        time.sleep(1.0)
        oid = new_opportunity(h.api)
        h.batch_with(lambda b: oid in b.record_ids, "the event after the reconnect")
        assert h.stream.up and h.waits == []  # the first transport failure resubscribes at once


def test_a_dropped_answer_loses_no_event(sandbox):
    """The server did the work (delivered the events) and the answer never arrived: resubscribing
    from the newest event received brings them again."""
    with Harness(sandbox) as h:
        h.until(lambda: h.stream.up, "subscribed")
        first = new_opportunity(h.api)
        h.batch_with(lambda b: first in b.record_ids, "an event before")
        h.post("/faults", {"kind": "drop", "path": "/cometd", "count": 1})
        lost = new_opportunity(h.api)  # delivered in the dropped answer
        h.batch_with(lambda b: lost in b.record_ids, "the event of the dropped answer, replayed")


def test_a_refused_handshake_is_a_typed_failure(sandbox):
    session = CometdSession(sandbox.salesforce_url, lambda: "00Dnot!avalidtoken")
    with pytest.raises(StreamFailure) as caught:
        session.handshake()
    assert caught.value.kind == "auth" and "00Dnot" not in str(caught.value)


def test_a_lost_cookie_is_a_client_to_handshake_again_not_a_refused_subscription(sandbox):
    """The Streaming API's error codes: a known client without its cookie gets "400::Client … has
    established a session, but no BAYEUX_BROWSER cookie present" — a new handshake sets one."""
    token = Api(sandbox).headers["Authorization"].split(" ", 1)[1]
    session = CometdSession(sandbox.salesforce_url, lambda: token)
    session.handshake()
    session.http.cookies.clear()
    with pytest.raises(StreamFailure) as caught:
        session.subscribe("/data/OpportunityChangeEvent", -1)
    assert caught.value.kind == "unknown_client" and "cookie present" in caught.value.error
    session.handshake()
    session.subscribe("/data/OpportunityChangeEvent", -1)


def test_the_orgs_concurrent_clients_all_taken_falls_back_to_polling_then_connects(sandbox):
    """Past the org's concurrent clients (Enterprise 1,000; lowered to 1 here and taken by another
    program), the handshake is denied with "403::Organization concurrent user limit exceeded": the
    stream polls, tries later, and connects once the other client has gone."""
    requests.post(sandbox.salesforce_admin_url + "/streaming/forget", json={}, timeout=10).raise_for_status()
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"max_clients": 1}, timeout=10).raise_for_status()
    token = Api(sandbox).headers["Authorization"].split(" ", 1)[1]
    other = CometdSession(sandbox.salesforce_url, lambda: token)
    other.handshake()
    with Harness(sandbox) as h:
        h.until(lambda: h.waits, "a try")
        assert not h.stream.up and "streaming connections are all taken" in h.stream.reason
        assert h.waits[0] == 900.0
        other.disconnect()
        h.until(lambda: h.stream.up, "the stream up once a connection is free")


def test_a_user_without_view_all_falls_back_to_polling_and_says_why(sandbox):
    """Change Data Capture asks View All on the object: a Standard User's subscription is refused, and
    the stream says so rather than blaming the org's CDC selection."""
    from test_sandbox_streaming import standard_user_headers

    h = Harness(sandbox)
    h.api.headers = standard_user_headers(sandbox)
    with h:
        h.until(lambda: h.waits, "a try")
        assert not h.stream.up and "lacks View All on Opportunities" in h.stream.reason
        assert h.waits[0] == 1800.0
