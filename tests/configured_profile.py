"""A profile connected to a running sandbox and configured, the way an admin sets one up: Salesforce
through the real OAuth code flow (the browser played by ``sandbox_browser``), BigTime with the
firm's API key, trigger stage "Closed Won". Secrets go to whatever keyring is set in this process."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
from keyrings.alt.file import PlaintextKeyring

from bigsync_gui.connectors import oauth
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse

TRIGGER = "Closed Won"


def configure_profile(sandbox: Sandbox, root: Path, interval_seconds: int = 3600) -> Profile:
    profile = Profile.at(root)
    settings = Settings()
    settings.bigtime.requests_per_minute = 1_000_000  # the app's own pace would make the tests crawl
    settings.save(profile)
    connector = Connector(profile)
    endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
    attempt = oauth.AuthorizationAttempt(endpoints, connector.http["salesforce"])
    tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce")))
    connector.save_salesforce(endpoints, sandbox.salesforce_url, tokens)
    connector.save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    Engine(connector).configure(TRIGGER, interval_seconds=interval_seconds)
    return profile


def file_keyring_env(home: Path) -> dict[str, str]:
    """The environment of a child process that reads the keyring file ``use_file_keyring(home)`` writes."""
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


def use_file_keyring(home: Path) -> PlaintextKeyring:
    """This process's secrets go to keyrings.alt's plain file under ``home`` (tests only)."""
    ring = PlaintextKeyring()
    ring.file_path = str(home / "data" / "python_keyring" / "keyring_pass.cfg")  # type: ignore[misc]
    keyring.set_keyring(ring)
    return ring


def win_opportunities(salesforce_admin_url: str, count: int) -> list[str]:
    """Move ``count`` open opportunities to Closed Won (through the sandbox's admin API)."""
    import requests

    url = salesforce_admin_url
    records = requests.get(url + "/records/Opportunity", timeout=10).json()["records"]
    open_ones = [r for r in records if r.get("StageName") not in ("Closed Won", "Closed Lost") and r.get("AccountId")]
    ids = [r["Id"] for r in open_ones[:count]]
    for opp_id in ids:
        requests.patch(
            f"{url}/records/Opportunity/{opp_id}", json={"StageName": "Closed Won"}, timeout=10
        ).raise_for_status()
    return ids


def revoke_salesforce(sandbox: Sandbox) -> None:
    """Every Salesforce refresh token stops working (the admin revoked the app): ReconnectNeeded next."""
    import requests

    requests.post(sandbox.salesforce_admin_url + "/tokens/revoke", json={}, timeout=10).raise_for_status()
    requests.post(sandbox.salesforce_admin_url + "/tokens/expire", json={}, timeout=10).raise_for_status()
