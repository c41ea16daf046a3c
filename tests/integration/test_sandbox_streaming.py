"""The Salesforce emulator's CometD endpoint on the wire (docs/sandbox.md, "Streaming"): Bayeux
handshake/subscribe/connect/disconnect, the cookie, replay and retention on the sandbox clock, the
change events every write path publishes, CDC selection, the delivery allocation and the faults."""

from __future__ import annotations

import pytest
import requests

from bigsync_gui.sandbox import credentials as cred

from test_sandbox_salesforce_rest import Api, new_opportunity

CHANNEL = "/data/OpportunityChangeEvent"


class Bayeux:
    """A bare Bayeux session on requests (no client library: the wire itself is under test)."""

    def __init__(self, sandbox, api: Api, timeout: float = 0.3) -> None:
        self.url = sandbox.salesforce_url + "/cometd/67.0"
        self.admin = sandbox.salesforce_admin_url
        requests.post(self.admin + "/streaming", json={"timeout_seconds": timeout}, timeout=10).raise_for_status()
        self.http = requests.Session()
        self.http.headers.update(api.headers)
        self.client_id = ""

    def send(self, message: dict) -> list[dict]:
        r = self.http.post(self.url, json=[message], timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def handshake(self) -> dict:
        reply = self.send(
            {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"}
        )[0]
        self.client_id = reply.get("clientId", "")
        return reply

    def subscribe(self, replay: int = -1, channel: str = CHANNEL) -> dict:
        return self.send(
            {
                "channel": "/meta/subscribe",
                "clientId": self.client_id,
                "subscription": channel,
                "ext": {"replay": {channel: replay}},
            }
        )[0]

    def connect(self) -> tuple[list[dict], dict]:
        replies = self.send({"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"})
        return [m for m in replies if not m["channel"].startswith("/meta/")], replies[-1]

    def start(self, replay: int = -1) -> None:
        assert self.handshake()["successful"]
        assert self.subscribe(replay)["successful"]
        events, reply = self.connect()  # the first connect answers at once
        assert reply["successful"] and events == [] if replay == -1 else True

    def headers(self, events: list[dict]) -> list[tuple[str, list[str]]]:
        return [
            (
                e["data"]["payload"]["ChangeEventHeader"]["changeType"],
                e["data"]["payload"]["ChangeEventHeader"]["recordIds"],
            )
            for e in events
        ]


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


@pytest.fixture
def bayeux(sandbox, api) -> Bayeux:
    return Bayeux(sandbox, api)


def test_handshake_subscribe_connect_and_an_event_in_salesforces_shape(sandbox, api, bayeux):
    hand = bayeux.handshake()
    assert hand["successful"] and hand["clientId"] and hand["advice"]["timeout"] == 300
    assert hand["ext"]["replay"] is True and "long-polling" in hand["supportedConnectionTypes"]
    assert "BAYEUX_BROWSER" in bayeux.http.cookies
    assert bayeux.subscribe()["successful"]
    assert bayeux.connect()[1]["successful"]
    oid = new_opportunity(api)
    assert api.send("PATCH", f"/sobjects/Opportunity/{oid}", {"StageName": "Closed Won"}).status_code == 204
    events, reply = bayeux.connect()
    assert reply["successful"] and reply["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 300}
    assert [e["channel"] for e in events] == [CHANNEL, CHANNEL]
    create, update = (e["data"] for e in events)
    header = update["payload"]["ChangeEventHeader"]
    assert header["entityName"] == "Opportunity" and header["recordIds"] == [oid] and header["changeType"] == "UPDATE"
    assert "StageName" in header["changedFields"] and update["payload"]["StageName"] == "Closed Won"
    assert isinstance(header["commitTimestamp"], int) and header["transactionKey"] and header["commitUser"]
    assert update["event"]["replayId"] == create["event"]["replayId"] + 1
    assert create["payload"]["ChangeEventHeader"]["changeType"] == "CREATE" and create["payload"]["Name"]
    assert bayeux.send({"channel": "/meta/disconnect", "clientId": bayeux.client_id})[0]["successful"]
    assert bayeux.connect()[1]["error"] == "403::Unknown client"


def test_every_write_path_publishes_and_a_rolled_back_collection_does_not(sandbox, api, bayeux):
    bayeux.start()
    oid = new_opportunity(api)
    other = new_opportunity(api)
    admin = sandbox.salesforce_admin_url + "/records/Opportunity/"
    requests.patch(admin + oid, json={"Amount": 5}, timeout=10).raise_for_status()
    rows = [
        {"attributes": {"type": "Opportunity"}, "id": oid, "Amount": 6},
        {"attributes": {"type": "Opportunity"}, "id": other, "StageName": "No Such Stage"},
    ]
    api.send("PATCH", "/composite/sobjects", {"allOrNone": True, "records": rows})  # rolled back: no event
    api.send("PATCH", "/composite/sobjects", {"allOrNone": False, "records": rows[:1]})
    sub = {
        "method": "PATCH",
        "url": f"/services/data/v67.0/sobjects/Opportunity/{other}",
        "referenceId": "r1",
        "body": {"Description": "through composite"},
    }
    assert api.send("POST", "/composite", {"allOrNone": False, "compositeRequest": [sub]}).status_code == 200
    assert api.send("DELETE", f"/sobjects/Opportunity/{oid}").status_code == 204
    requests.post(admin + oid + "/restore", timeout=10).raise_for_status()
    events, _ = bayeux.connect()
    assert bayeux.headers(events) == [
        ("CREATE", [oid]),
        ("CREATE", [other]),
        ("UPDATE", [oid]),
        ("UPDATE", [oid]),
        ("UPDATE", [other]),
        ("DELETE", [oid]),
        ("UNDELETE", [oid]),
    ]
    assert [e["data"]["payload"].get("Amount") for e in events[2:4]] == [5, 6]  # not the rolled-back write


def test_the_cookie_and_the_token_are_required(sandbox, api, bayeux):
    bayeux.handshake()
    bare = requests.post(
        bayeux.url,
        json=[{"channel": "/meta/subscribe", "clientId": bayeux.client_id, "subscription": CHANNEL}],
        headers=api.headers,
        timeout=10,
    ).json()[0]
    assert bare["successful"] is False  # the Streaming API's error codes name this case
    assert (
        bare["error"]
        == f"400::Client {bayeux.client_id} has established a session, but no BAYEUX_BROWSER cookie present"
    )
    stranger = requests.post(  # a cookie of no session: an unknown client
        bayeux.url,
        json=[{"channel": "/meta/subscribe", "clientId": bayeux.client_id, "subscription": CHANNEL}],
        headers=api.headers,
        cookies={"BAYEUX_BROWSER": "0123456789abcdef"},
        timeout=10,
    ).json()[0]
    assert stranger["error"] == "403::Unknown client" and stranger["advice"]["reconnect"] == "handshake"
    anonymous = requests.post(
        bayeux.url,
        json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        timeout=10,
    ).json()[0]
    assert anonymous["error"] == "403::Handshake denied" and anonymous["advice"] == {"reconnect": "none"}
    assert anonymous["ext"]["sfdc"]["failureReason"] == "401::Request requires authentication"
    wrong = requests.post(
        bayeux.url,
        json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        headers={"Authorization": "Bearer 00Dnot-a-token"},
        timeout=10,
    ).json()[0]
    assert wrong["ext"]["sfdc"]["failureReason"] == "401::Authentication invalid"
    requests.post(sandbox.salesforce_admin_url + "/tokens/expire", json={}, timeout=10).raise_for_status()
    _, reply = bayeux.connect()
    assert reply["error"] == "401::Authentication invalid" and reply["advice"] == {"reconnect": "none"}


def test_replay_from_an_id_all_retained_and_the_72_hour_window(sandbox, api, bayeux):
    bayeux.start()
    first = new_opportunity(api)
    second = new_opportunity(api)
    events, _ = bayeux.connect()
    ids = [e["data"]["event"]["replayId"] for e in events]
    again = Bayeux(sandbox, api)
    again.handshake()
    assert again.subscribe(ids[0])["successful"]
    assert again.headers(again.connect()[0]) == [("CREATE", [second])]
    everything = Bayeux(sandbox, api)
    everything.handshake()
    assert everything.subscribe(-2)["successful"]
    assert everything.headers(everything.connect()[0]) == [("CREATE", [first]), ("CREATE", [second])]
    assert "400::The replayId {999999} you provided was invalid" in bayeux.subscribe(999999)["error"]
    requests.post(
        sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 72 * 3600 + 60}, timeout=10
    ).raise_for_status()
    api.reauth()
    late = Bayeux(sandbox, api)
    late.handshake()
    assert late.subscribe(ids[0] - 1)["successful"] is False  # its events are past the retention
    assert late.subscribe(-2)["successful"] and late.connect()[0] == []


def test_cdc_selection_per_entity_and_the_unselected_subscribe_readings(sandbox, api, bayeux):
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    bayeux.start()  # strict reading: the subscription succeeds and nothing comes
    new_opportunity(api)
    assert bayeux.connect()[0] == []
    requests.post(
        sandbox.salesforce_admin_url + "/switches", json={"cdc_unselected_subscribe_refused": True}, timeout=10
    ).raise_for_status()
    refused = bayeux.subscribe()
    assert refused["successful"] is False and "does not exist {/data/OpportunityChangeEvent}" in refused["error"]
    requests.post(
        sandbox.salesforce_admin_url + "/streaming", json={"entities": ["opportunity"]}, timeout=10
    ).raise_for_status()
    assert bayeux.subscribe()["successful"]
    oid = new_opportunity(api)
    assert bayeux.headers(bayeux.connect()[0]) == [("CREATE", [oid])]


def test_the_daily_event_allocation_then_the_documented_403(sandbox, api, bayeux):
    admin = sandbox.salesforce_admin_url + "/streaming"
    requests.post(admin, json={"daily_event_limit": 3, "events_delivered": 2}, timeout=10).raise_for_status()
    bayeux.start()
    new_opportunity(api)
    new_opportunity(api)
    assert len(bayeux.connect()[0]) == 1  # one left in the rolling 24 hours
    _, reply = bayeux.connect()
    assert reply["error"] == "403::Organization total events daily limit exceeded"
    assert reply["advice"]["reconnect"] == "none"
    assert bayeux.handshake()["error"] == "403::Organization total events daily limit exceeded"
    requests.post(
        sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 24 * 3600 + 1}, timeout=10
    ).raise_for_status()
    api.reauth()
    bayeux.http.headers.update(api.headers)
    assert bayeux.handshake()["successful"]
    assert requests.get(admin, timeout=10).json()["events_delivered"] == 0


def test_faults_forget_redeliver_gap_overflow_and_several_records(sandbox, api, bayeux):
    bayeux.start()
    oid = new_opportunity(api)
    first, _ = bayeux.connect()
    admin = sandbox.salesforce_admin_url + "/streaming"
    requests.post(admin + "/redeliver", json={"count": 1}, timeout=10).raise_for_status()
    again, _ = bayeux.connect()
    assert [e["data"]["event"]["replayId"] for e in again] == [first[0]["data"]["event"]["replayId"]]
    for body in (
        {"changeType": "GAP_UPDATE", "recordIds": [oid]},
        {"changeType": "GAP_OVERFLOW"},
        {"changeType": "UPDATE", "recordIds": [oid, oid[:-3] + "XYZ"], "fields": {"Amount": 1}},
    ):
        assert requests.post(admin + "/events", json=body, timeout=10).status_code == 201
    assert bayeux.headers(bayeux.connect()[0]) == [
        ("GAP_UPDATE", [oid]),
        ("GAP_OVERFLOW", ["000000000000000AAA"]),
        ("UPDATE", [oid, oid[:-3] + "XYZ"]),
    ]
    assert requests.post(admin + "/forget", timeout=10).json()["forgotten"] >= 1
    _, reply = bayeux.connect()
    assert reply["error"] == "403::Unknown client" and reply["advice"]["reconnect"] == "handshake"


def test_streaming_is_not_an_api_call_and_a_connect_waits_out_its_timeout(sandbox, api, bayeux):
    used = requests.get(sandbox.salesforce_admin_url + "/settings", timeout=10).json()["api_usage"]
    bayeux.start()
    events, reply = bayeux.connect()  # nothing happens: answered empty at advice.timeout
    assert events == [] and reply["successful"]
    assert requests.get(sandbox.salesforce_admin_url + "/settings", timeout=10).json()["api_usage"] == used
    paths = [e["path"] for e in requests.get(sandbox.salesforce_admin_url + "/log", timeout=10).json()["entries"]]
    assert paths.count("/cometd/67.0") == 4
    bad = requests.post(sandbox.salesforce_admin_url + "/streaming", json={"timeout_seconds": -1}, timeout=10)
    assert bad.status_code == 400


def test_the_orgs_concurrent_clients_then_a_denied_handshake(sandbox, api, bayeux):
    """The allocations pages: at most 1,000 concurrent clients (Enterprise) — lowered to 1 here. The
    docs give no error text: a denied handshake with the reason a client reported past the limit."""
    assert requests.get(sandbox.salesforce_admin_url + "/streaming", timeout=10).json()["max_clients"] == 1000
    requests.post(sandbox.salesforce_admin_url + "/streaming/forget", json={}, timeout=10).raise_for_status()
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"max_clients": 1}, timeout=10).raise_for_status()
    assert bayeux.handshake()["successful"]
    second = Bayeux(sandbox, api)
    denied = second.handshake()
    assert denied["successful"] is False and denied["error"] == "403::Handshake denied"
    assert denied["ext"]["sfdc"]["failureReason"] == "403::Organization concurrent user limit exceeded"
    assert denied["advice"] == {"reconnect": "none"}
    bayeux.send({"channel": "/meta/disconnect", "clientId": bayeux.client_id})
    assert second.handshake()["successful"]


def standard_user_headers(sandbox) -> dict:
    """A seeded Standard User's session: no View All on opportunities (docs/sandbox.md, *Profiles*)."""
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        user = next(u for u in data.all_records("User") if u["Id"] != data.admin_user_id and u.get("IsActive"))
    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": cred.SF_CONSUMER_KEY,
            "username": user["Username"],
            "password": cred.SF_PASSWORD,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def test_change_events_need_view_all_at_subscription_or_on_delivery(sandbox, api, bayeux):
    """The CDC guide, *Required Permissions for Change Event Subscribers*: View All on the object (or View
    All Data); a single-entity channel refuses the subscription, /data/ChangeEvents filters on delivery."""
    standard = Bayeux(sandbox, api)
    standard.http.headers.update(standard_user_headers(sandbox))
    assert standard.handshake()["successful"]
    refused = standard.subscribe()
    assert refused["successful"] is False and refused["error"].startswith("403::")
    assert standard.subscribe(channel="/data/ChangeEvents")["successful"]
    standard.connect()
    bayeux.start()
    new_opportunity(api)
    events, reply = bayeux.connect()
    assert reply["successful"] and [h[0] for h in bayeux.headers(events)] == ["CREATE"]
    nothing, reply = standard.connect()  # held until the timeout: the event is not for this user
    assert reply["successful"] and nothing == []


def test_a_field_the_subscriber_may_not_read_is_left_out_of_its_events(sandbox, api, bayeux):
    """The CDC guide, *Field-Level Security*: delivered events hold only the fields the subscriber may
    view. A field created through the Tooling API is visible to no one until granted (docs/sandbox.md)."""
    text = {"type": "Text", "label": "Audit note", "length": 40}
    created = api.send(
        "POST", "/tooling/sobjects/CustomField", {"FullName": "Opportunity.Audit_Note__c", "Metadata": text}
    )
    assert created.status_code == 201, created.text
    oid = new_opportunity(api)
    bayeux.start()
    r = requests.patch(
        sandbox.salesforce_admin_url + f"/records/Opportunity/{oid}",
        json={"Audit_Note__c": "secret", "Amount": 7},
        timeout=10,
    )
    assert r.status_code < 300, r.text
    events, _ = bayeux.connect()
    payload = events[0]["data"]["payload"]
    assert payload["Amount"] == 7 and "Audit_Note__c" not in payload


def test_at_most_five_entities_are_selected_without_the_add_on(sandbox):
    """The CDC guide's allocations: 5 selected entities per org (all channels) without the add-on."""
    url = sandbox.salesforce_admin_url + "/streaming"
    five = ["Opportunity", "Account", "Contact", "OpportunityContactRole", "User"]
    assert requests.post(url, json={"entities": five}, timeout=10).status_code == 200
    six = requests.post(url, json={"entities": [*five, "BigTime_Invoice__c"]}, timeout=10)
    assert six.status_code == 400 and "At most 5" in six.json()["message"]


def test_a_connect_over_another_transport_is_an_invalid_connection_type(sandbox, api, bayeux):
    """The Streaming API's error codes: "400 Invalid connection type {connection_type}"."""
    bayeux.start()
    reply = bayeux.send({"channel": "/meta/connect", "clientId": bayeux.client_id, "connectionType": "websocket"})[-1]
    assert reply["successful"] is False and reply["error"] == "400::Invalid connection type websocket"
    _, reply = bayeux.connect()
    assert reply["successful"]
