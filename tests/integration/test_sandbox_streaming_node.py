"""The sandbox's CometD endpoint shown to an independent client: the CometD project's own JavaScript
client (npm ``cometd`` with ``cometd-nodejs-client``, pinned in tests/cometd_node/package.json)
handshakes, keeps the cookie, subscribes with Salesforce's replay extension and receives the change
events of writes made through the REST API."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from test_sandbox_salesforce_rest import Api, new_opportunity

NODE_DIR = Path(__file__).resolve().parents[1] / "cometd_node"


def node_client() -> Path:
    """The installed client (packaging/dev.sh installs it; else npm here). Skipped, saying why, only
    when node or the npm registry cannot be reached."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the independent CometD client cannot run")
    if not (NODE_DIR / "node_modules" / "cometd-nodejs-client").is_dir():
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm could not install the CometD client (registry unreachable?): {done.stderr[-300:]}")
    return NODE_DIR / "subscribe.js"


def run_client(sandbox, api: Api, replay: int, wanted: int) -> subprocess.Popen:
    token = api.headers["Authorization"].split()[1]
    return subprocess.Popen(
        [
            "node",
            str(node_client()),
            sandbox.salesforce_url,
            token,
            "/data/OpportunityChangeEvent",
            str(replay),
            str(wanted),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_cometd_javascript_client_receives_change_events(sandbox):
    api = Api(sandbox)
    admin = sandbox.salesforce_admin_url + "/streaming"
    requests.post(admin, json={"timeout_seconds": 5}, timeout=10).raise_for_status()
    client = run_client(sandbox, api, -1, 2)
    try:
        assert client.stdout is not None
        steps = [json.loads(client.stdout.readline()) for _ in range(2)]
        assert steps == [
            {"what": "handshake", "successful": True, "clientId": steps[0]["clientId"]},
            {"what": "subscribe", "successful": True},
        ]
        oid = new_opportunity(api)
        assert api.send("PATCH", f"/sobjects/Opportunity/{oid}", {"StageName": "Closed Won"}).status_code == 204
        out, err = client.communicate(timeout=60)
    finally:
        client.kill()
    assert client.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    headers = [e["data"]["payload"]["ChangeEventHeader"] for e in events if e["what"] == "event"]
    assert [(h["changeType"], h["recordIds"]) for h in headers] == [("CREATE", [oid]), ("UPDATE", [oid])]
    assert "StageName" in headers[1]["changedFields"]


def test_the_cometd_javascript_client_replays_from_an_id(sandbox):
    api = Api(sandbox)
    first, second = new_opportunity(api), new_opportunity(api)
    latest = requests.get(sandbox.salesforce_admin_url + "/streaming", timeout=10).json()["latest_replay_id"]
    client = run_client(sandbox, api, latest - 1, 1)  # resume after the first create: the second comes
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines() if '"event"' in line]
    assert [e["data"]["payload"]["ChangeEventHeader"]["recordIds"] for e in events] == [[second]]
    assert first != second


def test_the_cometd_javascript_client_is_refused_without_view_all(sandbox):
    """The CDC guide: a single-entity channel asks View All on the object; the independent client sees
    the refused subscription in the Bayeux shape it expects."""
    from types import SimpleNamespace

    from test_sandbox_streaming import standard_user_headers

    standard = SimpleNamespace(headers=standard_user_headers(sandbox))
    client = run_client(sandbox, standard, -1, 1)
    out, err = client.communicate(timeout=60)
    steps = [json.loads(line) for line in out.splitlines()]
    assert client.returncode == 3, err
    refused = next(s for s in steps if s["what"] == "subscribe")
    assert refused["successful"] is False and refused["error"].startswith("403::")


def test_the_cometd_javascript_client_past_the_orgs_concurrent_clients(sandbox):
    admin = sandbox.salesforce_admin_url + "/streaming"
    requests.post(admin + "/forget", json={}, timeout=10).raise_for_status()
    requests.post(admin, json={"max_clients": 0}, timeout=10).raise_for_status()
    client = run_client(sandbox, Api(sandbox), -1, 1)
    out, err = client.communicate(timeout=60)
    steps = [json.loads(line) for line in out.splitlines()]
    assert client.returncode == 2, err
    assert steps[-1] == {"what": "handshake", "successful": False, "error": "403::Handshake denied"}
