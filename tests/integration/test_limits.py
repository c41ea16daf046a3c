"""BigTime's character limits against the engine: client codes and names that fit, whatever the
emulator does with a longer value (``connected_engine`` runs each test against the strict reading,
which refuses it with a 400, and the lenient one, which cuts it: switch ``limit_overflow``), and a
profile made by the previous release (clients coded ``SF-`` + 18) upgraded without a duplicate.
"""

from __future__ import annotations

from typing import Any

import pytest

from bigsync_gui.connectors import bigtime_assumptions as A
from bigsync_gui.core import creation
from bigsync_gui.core.bigtime_limits import ELLIPSIS, account_of_code, client_code, length
from bigsync_gui.core.doctor import run_doctor
from bigsync_gui.sandbox.salesforce import ids as sf_ids
from engine_fixtures import TRIGGER, Connected, Oracle, admin, run

LONG_NAME = "Globex Corporation International Holdings of North America — Consultants"  # 72 characters
assert len(LONG_NAME) == 72


def switch(env: Connected, **values: Any) -> None:
    admin(env.sandbox.bigtime_admin_url, "POST", "/switches", values)


def refused(env: Connected) -> list[dict[str, Any]]:
    return [e for e in env.log("bigtime") if e["status"] == 400]


def clients_of(env: Connected, account: str) -> list[dict[str, Any]]:
    return [c for c in env.clients() if account_of_code(c["ClientId"]) == sf_ids.to18(account)]


def test_a_72_character_account_gets_one_client_that_fits_and_every_win_goes_under_it(
    connected_engine: Connected, bigtime_reading: str
) -> None:
    env = connected_engine
    oracle = Oracle(env)
    description = "Key account.\n" + "Renewal due every spring. " * 40  # 1,000+ characters: client notes hold 500
    account = env.insert("Account", {"Name": "Globex (short)", "Description": description})
    env.update("Account", account, {"Name": LONG_NAME})  # renamed in Salesforce to 72 characters
    first = env.new_opp("Globex – Platform", TRIGGER, account)
    env.clear_logs()
    assert run(env, oracle).created == 1
    (client,) = [c for c in env.clients() if c["SystemId"] == env.project(first)["ClientId"]]
    assert client["ClientId"] == client_code(account) and len(client["ClientId"]) == 15
    assert client["Nm"] == "Globex Corporation International Holdings of" + ELLIPSIS and length(client["Nm"]) <= 50
    assert client["Notes"].startswith(f"Account name in Salesforce: {LONG_NAME}\n\nKey account.\nRenewal due")
    assert client["Notes"].endswith(ELLIPSIS) and length(client["Notes"]) <= 500
    assert refused(env) == []  # nothing was over a limit: no 400 under the strict reading, nothing cut under the other

    wins = [first] + [env.new_opp(f"Globex – Phase {i}", TRIGGER, account) for i in (2, 3)]
    assert run(env, oracle).created == 2
    assert {env.project(oid)["ClientId"] for oid in wins} == {client["SystemId"]}
    assert clients_of(env, account) == [client] and refused(env) == []
    oracle.check(final=True)


def test_accounts_alike_in_name_and_id_never_share_a_client(connected_engine: Connected) -> None:
    """Names that agree in their first 50 characters, and ids that differ only in letter case (which
    a BigTime comparing codes without case, or cutting them, could not tell apart)."""
    env = connected_engine
    oracle = Oracle(env)
    europe = env.insert("Account", {"Name": LONG_NAME + " Europe"})
    asia = env.insert("Account", {"Name": LONG_NAME + " Asia"})
    fillers = [env.insert("Account", {"Name": f"Filler {i}"}) for i in range(62)]
    by_folded: dict[str, str] = {}
    pair: tuple[str, str] | None = None
    for account in [europe, asia, *fillers]:
        other = by_folded.setdefault(account[:15].upper(), account)
        if other != account:
            pair = (other, account)
            break
    assert pair is not None, "62 consecutive ids hold two that differ only in case"
    accounts = list(dict.fromkeys([europe, asia, *pair]))
    wins = {account: env.new_opp(f"Deal {i}", TRIGGER, account) for i, account in enumerate(accounts)}
    assert run(env, oracle).created == len(accounts)
    under = {account: env.project(oid)["ClientId"] for account, oid in wins.items()}
    assert len(set(under.values())) == len(accounts)
    names = set()
    for account, client_id in under.items():
        (client,) = clients_of(env, account)
        assert client["SystemId"] == client_id and length(client["Nm"]) <= 50
        names.add(client["Nm"].casefold())
    assert len(names) == len(accounts)  # told apart in BigTime's lists too
    assert refused(env) == []
    oracle.check(final=True)


def test_a_lost_answer_for_a_long_named_client_finds_it_again(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    account = env.insert("Account", {"Name": LONG_NAME})
    win = env.new_opp("Globex – Lost answer", TRIGGER, account)
    env.fault("bigtime", kind="drop", method="POST", path="/client/detail$")
    assert run(env, oracle).result == "failed"  # created in BigTime; the answer lost
    assert run(env, oracle).created == 1
    (client,) = clients_of(env, account)
    assert env.project(win)["ClientId"] == client["SystemId"]
    oracle.check(final=True)


# ---- the previous release's profile, upgraded ---------------------------------------------------------------
def previous_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine as the release before this one created clients: code ``SF-`` + the 18-character
    account id, the whole account name. Undone by ``monkeypatch.undo()`` (the upgrade)."""
    monkeypatch.setattr(creation, "client_code", lambda account_id: "SF-" + account_id)
    monkeypatch.setattr(A, "CLIENT_NAME_MAX", 255)


@pytest.mark.parametrize("kept", ["keep", "truncate"])
def test_a_profile_made_by_the_previous_release_keeps_its_clients_after_the_upgrade(
    connected_engine: Connected, monkeypatch: pytest.MonkeyPatch, kept: str
) -> None:
    """A BigTime that let the previous release's 21-character codes in kept them whole, or cut them to
    15 characters ("SF-" + 12, which accounts created close together share) and the name to 50."""
    env = connected_engine
    oracle = Oracle(env)
    switch(env, limit_overflow=kept)
    account = env.insert("Account", {"Name": LONG_NAME})
    # Created just after (the same cut code), named alike (the same first 50 characters: the same cut name).
    neighbour = env.insert("Account", {"Name": LONG_NAME[:50] + " Asia Pacific"})
    previous_release(monkeypatch)
    before = env.new_opp("Globex – Before the upgrade", TRIGGER, account)
    assert run(env, oracle).created == 1
    (legacy,) = [c for c in env.clients() if c["SystemId"] == env.project(before)["ClientId"]]
    expected = "SF-" + sf_ids.to18(account)
    assert legacy["ClientId"] == (expected if kept == "keep" else expected[:15])
    assert legacy["Nm"] == (LONG_NAME if kept == "keep" else LONG_NAME[:50])
    clients_before = len(env.clients())

    monkeypatch.undo()  # the upgrade: same profile, same BigTime
    if kept == "keep":  # renamed since: only the code can find the client now
        env.update("Account", account, {"Name": "Globex Holdings"})
    after = env.new_opp("Globex – After the upgrade", TRIGGER, account)
    other = env.new_opp("Initrode – After the upgrade", TRIGGER, neighbour)
    assert run(env, oracle).created == 2
    assert env.project(after)["ClientId"] == legacy["SystemId"]
    assert env.project(other)["ClientId"] != legacy["SystemId"]  # the account's client already, not the neighbour's
    assert len(env.clients()) == clients_before + 1  # the neighbour's, coded today's way

    for suffix in ("", "-wal", "-shm"):  # the state database lost: found again from BigTime alone
        path = env.profile.data_dir / f"state.db{suffix}"
        if path.exists():
            path.unlink()
    env.configure(TRIGGER)
    later = env.new_opp("Globex – After the state was lost", TRIGGER, account)
    assert env.cycle().result == "ok"  # (a fresh state database also reconciles the seed's wins)
    assert env.project(later)["ClientId"] == legacy["SystemId"]
    assert {c["SystemId"] for c in env.clients() if c["Nm"].startswith(("Globex Holdings", LONG_NAME[:40]))} == {
        legacy["SystemId"],
        env.project(other)["ClientId"],
    }  # no second one for the account
    assert [len(env.projects_for(oid)) for oid in (before, after, later)] == [1, 1, 1]


@pytest.mark.parametrize("kept", ["keep", "truncate"])
def test_a_client_create_the_previous_release_never_heard_back_from_is_found_after_the_upgrade(
    connected_engine: Connected, monkeypatch: pytest.MonkeyPatch, kept: str
) -> None:
    env = connected_engine
    oracle = Oracle(env)
    switch(env, limit_overflow=kept)
    account = env.insert("Account", {"Name": LONG_NAME})
    win = env.new_opp("Globex – In doubt", TRIGGER, account)
    previous_release(monkeypatch)
    env.fault("bigtime", kind="drop", method="POST", path="/client/detail$")
    assert run(env, oracle).result == "failed"  # the client made; its answer lost; the journal holds it pending
    store = env.store()
    link = store.client_for_account(account)
    store.close()
    assert link is not None and link.status == "pending" and link.client_code.startswith("SF-")

    monkeypatch.undo()
    env.let_answers_land()
    assert run(env, oracle).created == 1
    (client,) = [c for c in env.clients() if c["SystemId"] == env.project(win)["ClientId"]]
    assert client["ClientId"].startswith("SF-")  # the previous release's, not a second one
    assert len([c for c in env.clients() if c["Nm"].startswith(LONG_NAME[:40])]) == 1
    oracle.check(final=True)


def test_a_project_name_over_500_is_cut_with_the_whole_name_in_its_notes(connected_engine: Connected) -> None:
    """Opportunity.Name has 120 characters in Salesforce (the emulator enforces it); a hand-edited org
    or another integration could still hand over more: BigTime's 500 holds, the rest goes to notes."""
    env = connected_engine
    oracle = Oracle(env)
    oid = env.new_opp("placeholder", TRIGGER, env.account_id("Initech"), Description="Signed.")
    whole = ("Data platform rollout, phase " * 25).strip()  # 724 characters
    with env.sandbox.world.lock:
        env.sf.records["opportunity"][oid]["Name"] = whole
    env.sf_settings()  # no-op admin call: the change above is in place
    env.clear_logs()
    assert run(env, oracle).created == 1
    project = env.project(oid)
    assert project["Nm"].endswith(ELLIPSIS) and len(project["Nm"]) <= 500 and whole.startswith(project["Nm"][:-1])
    assert project["Notes"] == f"Opportunity name in Salesforce: {whole}\n\nSigned."
    assert refused(env) == []
    oracle.check(final=True)


def test_doctor_reports_the_longest_client_code_and_name_against_the_limits(
    connected_engine: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = connected_engine
    checks = {c.key: c for c in run_doctor(env.connector).checks}
    code, name = checks["bigtime.client_code_length"], checks["bigtime.client_name_length"]
    assert (code.status, name.status) == ("confirmed", "confirmed")  # the seed's clients fit
    switch(env, limit_overflow="keep")  # a BigTime that let the previous release's codes and names in
    previous_release(monkeypatch)
    env.new_opp("Globex – Before the upgrade", TRIGGER, env.insert("Account", {"Name": LONG_NAME}))
    assert env.cycle().created == 1
    monkeypatch.undo()
    checks = {c.key: c for c in run_doctor(env.connector).checks}
    code, name = checks["bigtime.client_code_length"], checks["bigtime.client_name_length"]
    assert code.status == "different" and not code.needed and "(the longest: 21)" in code.note
    assert "look made by an earlier BigSync" in code.note and code.seen == (
        "Client code: longest 21 characters, limit 15",
    )
    assert name.status == "different" and "(the longest: 72)" in name.note
