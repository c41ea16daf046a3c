"""Issue 18 A, done when: against the strict sandbox, through the CLI (`sync --once`, as an admin on a
server would), an account renamed to 72 characters gets, on its first win, one client whose code and
name fit BigTime's limits (no 400), and its 3 wins 3 projects under it; the same with the emulator's
cut switch (`limit_overflow: truncate`), where two accounts alike in name never share a client."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from bigsync_gui.core.bigtime_limits import ELLIPSIS, account_of_code, client_code, length
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox.salesforce import ids as sf_ids
from test_cli_connect import env, profile, run, set_up  # noqa: F401  (fixtures)

LONG_NAME = "Globex Corporation International Holdings of North America — Consultants"  # 72 characters


def insert(sandbox: Sandbox, object_name: str, fields: dict[str, Any]) -> str:
    with sandbox.world.lock:
        return sandbox.world.salesforce.insert(object_name, fields)


def win(sandbox: Sandbox, name: str, account: str) -> str:
    return insert(
        sandbox,
        "Opportunity",
        {"Name": name, "StageName": "Closed Won", "AccountId": account, "CloseDate": date(2026, 12, 1).isoformat()},
    )


def bigtime(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    with sandbox.world.lock:
        return [dict(r) for r in sandbox.world.bigtime.records[kind].values()]


def sync_once(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:  # noqa: F811
    requests.delete(sandbox.bigtime_admin_url + "/log", timeout=10).raise_for_status()
    synced = run(env, profile, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    log = requests.get(sandbox.bigtime_admin_url + "/log", timeout=10).json()["entries"]
    assert [e for e in log if e["status"] == 400] == []  # nothing over a limit was ever sent


@pytest.mark.parametrize("overflow", ["refuse", "truncate"])
def test_a_72_character_account_through_the_cli_gets_one_client_that_fits_and_3_projects_under_it(
    sandbox: Sandbox, env: dict[str, str], profile: Path, overflow: str
) -> None:  # noqa: F811
    requests.post(
        sandbox.bigtime_admin_url + "/switches", json={"limit_overflow": overflow}, timeout=10
    ).raise_for_status()
    set_up(sandbox, env, profile)
    account = insert(sandbox, "Account", {"Name": "Globex"})
    with sandbox.world.lock:
        sandbox.world.salesforce.update("Account", account, {"Name": LONG_NAME})  # renamed to 72 characters
    first = win(sandbox, "Globex – Platform", account)
    sync_once(sandbox, env, profile)
    ours = [c for c in bigtime(sandbox, "client") if account_of_code(c["ClientId"]) == sf_ids.to18(account)]
    assert len(ours) == 1
    client = ours[0]
    assert client["ClientId"] == client_code(account) and len(client["ClientId"]) <= 15
    assert client["Nm"] == "Globex Corporation International Holdings of" + ELLIPSIS and length(client["Nm"]) <= 50
    assert client["Notes"] == f"Account name in Salesforce: {LONG_NAME}"

    wins = [first, win(sandbox, "Globex – Phase 2", account), win(sandbox, "Globex – Phase 3", account)]
    sibling = insert(sandbox, "Account", {"Name": LONG_NAME.replace("Consultants", "Engineering")})  # same first 60
    other = win(sandbox, "Globex Engineering – Pilot", sibling)
    sync_once(sandbox, env, profile)
    projects = {p["ProjectCode"]: p for p in bigtime(sandbox, "project")}
    assert [projects["SF-" + oid]["ClientId"] for oid in wins] == [client["SystemId"]] * 3
    assert projects["SF-" + other]["ClientId"] != client["SystemId"]  # alike in name, never one client
    (apart,) = [c for c in bigtime(sandbox, "client") if c["SystemId"] == projects["SF-" + other]["ClientId"]]
    assert apart["Nm"] == "Globex Corporation International" + ELLIPSIS + " Engineering"  # told apart by a person
    coded = [account_of_code(c["ClientId"]) for c in bigtime(sandbox, "client") if account_of_code(c["ClientId"])]
    assert sorted(coded) == sorted([sf_ids.to18(account), sf_ids.to18(sibling)])
