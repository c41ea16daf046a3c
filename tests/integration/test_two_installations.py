"""Two installations (two profiles, e.g. a laptop and a server) on one org and one BigTime firm,
syncing at once: each opportunity still gets exactly one project, each account one client."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import CycleReport, Engine
from bigsync_gui.core.profile import Profile
from engine_fixtures import FAST, PACE, TRIGGER, Connected, connect_profile


def second_installation(env: Connected, tmp_path: Path) -> Engine:
    """Another profile connected to the same sandbox the same way, and configured."""
    profile = Profile.at(tmp_path / "profile-2")
    connector = Connector(profile, policy=FAST, pace=PACE)
    connect_profile(env.sandbox, tmp_path / "profile-2", connector)
    engine = Engine(connector, now=env.clock)
    engine.configure(TRIGGER)
    return engine


def together(engines: list[Engine]) -> list[CycleReport]:
    """One cycle on each engine, started at the same moment in threads."""
    start = threading.Barrier(len(engines))
    reports: list[CycleReport | BaseException] = [RuntimeError("not run")] * len(engines)

    def run(i: int) -> None:
        start.wait(timeout=30)
        try:
            reports[i] = engines[i].run_cycle()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            reports[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for r in reports:
        if isinstance(r, BaseException):
            raise r
    return reports  # type: ignore[return-value]


def duplicates(env: Connected, opp_ids: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    owner = {code: oid for oid in opp_ids for code in project_codes(oid)}
    projects = collections.Counter(owner[p["ProjectCode"]] for p in env.projects() if p["ProjectCode"] in owner)
    clients = collections.Counter(str(c["ClientId"]) for c in env.clients() if str(c["ClientId"]).startswith("SF-"))
    return ({k: n for k, n in projects.items() if n > 1} | {k: 0 for k in opp_ids if k not in projects},
            {k: n for k, n in clients.items() if n > 1})


def test_two_installations_at_once_make_no_duplicates(connected_engine: Connected, tmp_path: Path) -> None:
    env = connected_engine
    other = second_installation(env, tmp_path)
    accounts = [env.insert("Account", {"Name": f"Twin Co {i}"}) for i in range(6)]
    wins = [env.new_opp(f"Twin win {i}", TRIGGER, accounts[i % len(accounts)]) for i in range(40)]

    together([env.engine, other])
    together([env.engine, other])  # whatever one left to the other (or deferred) settles here

    projects, clients = duplicates(env, wins)
    assert not projects, f"opportunities without exactly one project: {projects}"
    assert not clients, f"duplicate clients: {clients}"
    written = {o["Id"]: o.get("BigTime_Project_Id__c") for o in env.opps() if o["Id"] in wins}
    assert all(str(v).isdigit() for v in written.values()), written
