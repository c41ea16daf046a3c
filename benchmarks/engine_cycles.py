"""Requests per system, wall time and memory of the sync engine's cycles against the sandbox, and the
same work done the naive way (one request per record), as a ratio.

Prints figures (not a test; these machines are noisy). Scenarios, in this order, on one sandbox:

  (a)  an idle trigger cycle (after a first cycle that refreshed the token and read the metadata)
  (b)  a trigger cycle with N newly won opportunities (first size of --wins), half on accounts
       BigTime already has (or that earlier batches brought), half on brand-new accounts
  (d)  a write-back cycle with the N (b) projects linked, of which --changed changed (time logged),
       after a first write-back that wrote all of them
  (c)  a trigger cycle with each further size of --wins (default 10,000)
  (a') idle cycles after all that (within the engine's 5-minute lookback, and after a simulated 10 minutes)

Targets (from the issue): idle ≤ 1 Salesforce request and 0 BigTime; Salesforce requests for N new
wins ≤ a small constant + ⌈N/2000⌉ reads + ⌈N/200⌉ writes (since the claims, + ⌈(N + new clients)/24⌉
Composite requests that carry the writes too: benchmarks/claim_cost.py); BigTime client/project lists read at most
once per cycle (no per-record search); write-back ≤ a small constant + two reads (budget status and
the project detail, which alone has the budget fields) per changed
project; engine RSS with 10,000 links under 150 MB.

How it measures: the sandbox runs in this process with a `latency` fault on every API request of
both emulators; the **engine runs in a child process** (this file with --worker), so its peak RSS
(`ru_maxrss` of the child) is the engine's own and the sandbox's memory is not in it. Requests are
counted twice: by the engine's Connector counter (attempts) and by the sandbox request logs
(answered). The naive variants run in this process with the same client classes (SalesforceClient,
BigTimeClient) and their own counter, on batches loaded the same way after the engine's scenarios.
Batches run with zero latency get an extrapolated wall time: measured + requests × --latency
(requests are sequential).

    .venv/bin/python benchmarks/engine_cycles.py                # defaults (--wins 1000 10000): 7-8 min on 2 cores
    .venv/bin/python benchmarks/engine_cycles.py --big-latency 0.02   # (c) at 20 ms too: about 20 min
    .venv/bin/python benchmarks/engine_cycles.py --wins 200 2000 --no-naive   # a quick look (~1 min)
    .venv/bin/python benchmarks/engine_cycles.py --wins 200 --no-naive   # quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import _setup
from bigsync_gui.connectors.bigtime import BigTimeClient
from bigsync_gui.connectors.http import RequestCounter
from bigsync_gui.connectors.salesforce import SalesforceClient
from bigsync_gui.connectors.soql import format_soql
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.bigtime_limits import client_code
from bigsync_gui.core.creation import project_code, project_codes
from bigsync_gui.core.reads import ACCOUNT_FIELDS, CONTACT_FIELDS
from bigsync_gui.core.profile import Profile
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox.world import World

TRIGGER = "Closed Won"
# The naive batches sit one stage before the trigger: the engine never acts on them, so the naive
# variant can run on the same sandbox right after the engine's scenario (same data sizes).
NAIVE_STAGE = "Negotiation/Review"
SYSTEMS = ("salesforce", "bigtime")
FIRST_NAMES = ("Alex", "Jordan", "Morgan", "Taylor", "Casey", "Riley", "Jamie", "Quinn", "Harper", "Rowan")
LAST_NAMES = ("Nguyen", "Schmidt", "Okafor", "Rossi", "Kowalski", "Haddad", "Lindqvist", "Moreau", "Tanaka", "Murphy")


# =====================================================================================================
# The worker: the engine in its own process (so its memory is its own)
# =====================================================================================================
def worker(profile_dir: str, keyring_file: str) -> None:
    """Read one JSON command per line on stdin, answer one JSON line on stdout."""
    from bigsync_gui.core.engine import Engine

    _setup.use_file_keyring(keyring_file)
    profile = Profile.at(profile_dir)
    connector = Connector(profile, RequestCounter())
    offset = timedelta(0)
    engine = Engine(connector, now=lambda: datetime.now(timezone.utc) + offset)
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "quit":
            break
        if cmd == "advance":  # the engine's clock, to follow the sandbox's when it is moved forward
            offset += timedelta(seconds=command["seconds"])
            answer: dict[str, Any] = {}
        else:
            before = {s: connector.counter.total(s) for s in SYSTEMS}
            started = time.perf_counter()
            if cmd == "configure":
                stage, already = engine.configure(command["stage"])
                answer = {"stage": stage.label, "already_past": already}
            elif cmd == "trigger":
                answer = {"report": engine.run_cycle().to_json()}
            elif cmd == "writeback":
                answer = {"report": engine.run_writeback_cycle().to_json()}
            else:
                raise SystemExit(f"unknown command {cmd!r}")
            answer["wall"] = time.perf_counter() - started
            answer["requests"] = {s: connector.counter.total(s) - before[s] for s in SYSTEMS}
        store = engine.open_store()
        try:
            answer["links"] = len(store.links())
        finally:
            store.close()
        answer["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        answer["rss_mb"] = _current_rss_mb()
        print(json.dumps(answer), flush=True)


def _current_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class EngineProcess:
    def __init__(self, profile_dir: Path, keyring_file: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(profile_dir), str(keyring_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, cmd: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the engine process ended (exit {self.proc.wait()}) during {cmd!r}")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.ask("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=30)


# =====================================================================================================
# Data
# =====================================================================================================
@dataclass
class Accounts:
    """Accounts opportunities may go on (id, contact ids); grows as batches bring new ones."""

    known: list[tuple[str, list[str]]] = field(default_factory=list)


def seed_accounts(world: World) -> Accounts:
    with world.lock:
        sf = world.salesforce
        contacts: dict[str, list[str]] = {}
        for c in sf.all_records("Contact"):
            if not c.get("IsDeleted") and c.get("AccountId"):
                contacts.setdefault(c["AccountId"], []).append(c["Id"])
        return Accounts(
            [(a["Id"], contacts.get(a["Id"], [])) for a in sf.all_records("Account") if not a.get("IsDeleted")]
        )


def load_wins(
    world: World, accounts: Accounts, n: int, tag: str, roles: int, rng: random.Random, stage: str = TRIGGER
) -> tuple[list[str], int]:
    """``n`` opportunities at ``stage`` with ``roles`` contact roles each: half on accounts
    already known (the seed's — four of them BigTime clients by name — or earlier batches'), half on
    ``max(1, n // 20)`` brand-new accounts. Their ids, and how many accounts are new."""
    today = date.today().isoformat()
    new_count = max(1, n // 20)
    with world.lock:
        sf = world.salesforce
        fresh: list[tuple[str, list[str]]] = []
        for i in range(new_count):
            acc = sf.insert(
                "Account",
                {
                    "Name": f"Bench {tag} Account {i:05d} Ltd",
                    "BillingCity": "Springfield",
                    "BillingCountry": "USA",
                    "Phone": "+1 555 0100",
                },
            )
            contacts = []
            for k in range(2):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                contacts.append(
                    sf.insert(
                        "Contact",
                        {
                            "AccountId": acc,
                            "FirstName": first,
                            "LastName": f"{last}{i}-{k}",
                            "Title": "Project Sponsor",
                            "Email": f"{first}.{last}{i}{k}.{tag}@bench.example".lower(),
                            "Phone": "+1 555 0101",
                        },
                    )
                )
            fresh.append((acc, contacts))
        existing = list(accounts.known)
        ids: list[str] = []
        for j in range(n):
            acc, contacts = fresh[(j // 2) % len(fresh)] if j % 2 == 0 else existing[(j // 2) % len(existing)]
            oid = sf.insert(
                "Opportunity",
                {
                    "Name": f"Bench {tag} {j:05d}",
                    "AccountId": acc,
                    "StageName": stage,
                    "Amount": rng.randrange(5, 500) * 1000,
                    "CloseDate": today,
                    "Description": "Benchmark opportunity (engine_cycles.py)",
                },
            )
            for k, contact in enumerate(contacts[:roles]):
                sf.insert(
                    "OpportunityContactRole",
                    {
                        "OpportunityId": oid,
                        "ContactId": contact,
                        "IsPrimary": k == 0,
                        "Role": "Decision Maker" if k == 0 else "Evaluator",
                    },
                )
            ids.append(oid)
        accounts.known.extend(fresh)
    return ids, new_count


def project_ids_for(world: World, opportunity_ids: list[str]) -> dict[str, int]:
    """Opportunity id → the BigTime project the engine made for it (found by its project code)."""
    with world.lock:
        by_code = {p["ProjectCode"]: p["SystemId"] for p in world.bigtime.records["project"].values()}
    found = {oid: next((by_code[c] for c in project_codes(oid) if c in by_code), None) for oid in opportunity_ids}
    return {oid: pid for oid, pid in found.items() if pid is not None}


def change_projects(world: World, project_ids: list[int]) -> None:
    """Time logged on each: their DtModified (and figures) change, as a week of work would."""
    with world.lock:
        for pid in project_ids:
            world.bigtime.ledger.log_time({"ProjectSID": pid, "Hours_IN": 3.5, "Notes": "benchmark"})


# =====================================================================================================
# The naive way: one request per record, same client classes, own counter
# =====================================================================================================
def _select() -> str:
    fields = ["Id", "Name", "StageName", "AccountId", "CloseDate", "Amount", "Description", "SystemModstamp"]
    fields += [f"Account.{f}" for f in ACCOUNT_FIELDS]
    roles = ", ".join(["ContactId", "Role", "IsPrimary", *(f"Contact.{f}" for f in CONTACT_FIELDS)])
    return f"SELECT {', '.join(fields)}, (SELECT {roles} FROM OpportunityContactRoles) FROM Opportunity"


def naive_wins(sf: SalesforceClient, bt: BigTimeClient, tag: str) -> int:
    """Find the batch's opportunities (one paged query of ids), then per opportunity: read it
    (one SOQL query by Id with the engine's fields — cheaper than GET record + GET account + roles),
    search BigTime's clients for its account (GET /client), create the client if missing, create the
    project and its contacts, PATCH the project id onto the opportunity."""
    ids = [
        r["Id"]
        for r in sf.query(
            format_soql(
                "SELECT Id FROM Opportunity WHERE StageName = {} AND Name LIKE {}", NAIVE_STAGE, f"Bench {tag} %"
            )
        )
    ]
    for oid in ids:
        record = next(iter(sf.query(_select() + format_soql(" WHERE Id = {}", oid))))
        account = record.get("Account") or {}
        found = [c for c in bt.clients() if c.name == account.get("Name")]
        if found:
            client_id = found[0].id
        else:
            client_id = bt.create_client({"Nm": account.get("Name"), "ClientId": client_code(record["AccountId"])})
        project_id = bt.create_project(
            {
                "Nm": record["Name"],
                "ClientId": client_id,
                "ProjectCode": project_code(oid),
                "StartDt": record.get("CloseDate"),
            }
        )
        for k, role in enumerate((record.get("OpportunityContactRoles") or {}).get("records") or []):
            contact = role.get("Contact") or {}
            bt.add_project_contact(
                project_id,
                {
                    "FName": contact.get("FirstName") or "",
                    "SName": contact.get("LastName") or "",
                    "EMail": contact.get("Email") or "",
                    "Tag": "PRIMARY" if k == 0 else "OTHER",
                },
            )
        sf.update("Opportunity", oid, {"BigTime_Project_Id__c": str(project_id)})
    return len(ids)


def naive_writeback(sf: SalesforceClient, bt: BigTimeClient, links: dict[str, int]) -> None:
    """Per linked project: read its budget status; PATCH its figures onto the opportunity."""
    for oid, pid in links.items():
        rows = bt.budget_status(pid)
        hours = sum(r.hours_input or 0 for r in rows)
        fees = sum(r.budget_fees or 0 for r in rows)
        sf.update(
            "Opportunity", oid, {"BigTime_Hours_Logged__c": round(hours, 2), "BigTime_Budget_Fees__c": round(fees, 2)}
        )


# =====================================================================================================
# Measuring
# =====================================================================================================
@dataclass
class Measure:
    name: str
    label: str
    n: int = 0
    latency: float = 0.0
    sf: int = 0  # engine counter (attempts)
    bt: int = 0
    log_sf: int = 0  # sandbox logs (answered)
    log_bt: int = 0
    wall: float = 0.0
    engine_maxrss: float = 0.0
    links: int = 0
    breakdown: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: int | None = None  # opportunities the trigger read returned
    naive_note: str = ""
    result: str = ""
    naive_sf: int | None = None
    naive_bt: int | None = None
    naive_wall: float | None = None
    target: str = ""
    verdict: str = ""

    def extrapolated(self, latency: float, sf: int, bt: int, wall: float) -> float:
        return wall + (sf + bt) * max(0.0, latency - self.latency)


_SINCE = re.compile(r"SystemModstamp >= (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def rows_read(world: World, entries: list[dict[str, Any]]) -> int | None:
    """Opportunities the cycle's change read returned (``queryAll … WHERE SystemModstamp >= T``),
    counted in the sandbox's data: the log has no record counts."""
    for e in entries:
        if e["path"].endswith("/queryAll"):
            match = _SINCE.search(parse_qs(e["query"]).get("q", [""])[0])
            if match:
                since = match.group(1).replace("Z", ".000+0000")
                with world.lock:
                    return sum(1 for r in world.salesforce.all_records("Opportunity") if r["SystemModstamp"] >= since)
    return None


def engine_step(sandbox: Sandbox, engine: EngineProcess, cmd: str, m: Measure) -> dict[str, Any]:
    _setup.clear_logs(sandbox)
    answer = engine.ask(cmd)
    logs = _setup.logged(sandbox)
    m.sf, m.bt = answer["requests"]["salesforce"], answer["requests"]["bigtime"]
    m.log_sf, m.log_bt = len(logs["salesforce"]), len(logs["bigtime"])
    m.wall, m.engine_maxrss, m.links = answer["wall"], answer["maxrss_mb"], answer["links"]
    m.breakdown = {s: dict(_setup.kinds(logs[s], s)) for s in SYSTEMS}
    if cmd == "trigger":
        m.rows = rows_read(sandbox.world, logs["salesforce"])
    report = answer["report"]
    m.result = report["result"] + (f" ({report['error']}: {report['message']})" if report["result"] != "ok" else "")
    return report


def naive_step(sandbox: Sandbox, connector: Connector, clients: dict[str, Any], work: Any) -> tuple[int, int, float]:
    """Run ``work(sf, bt)`` with the naive profile's clients (built once: one token refresh each)."""
    counter = connector.counter
    if not clients:
        clients.update(sf=connector.salesforce(), bt=connector.bigtime())
    sf, bt = clients["sf"], clients["bt"]
    before = {s: counter.total(s) for s in SYSTEMS}
    _setup.clear_logs(sandbox)
    started = time.perf_counter()
    work(sf, bt)
    wall = time.perf_counter() - started
    return counter.total("salesforce") - before["salesforce"], counter.total("bigtime") - before["bigtime"], wall


def show(m: Measure, extra: str = "") -> None:
    print(f"\n{m.label}")
    print(
        f"  engine: Salesforce {m.sf} requests, BigTime {m.bt} requests (sandbox logs: {m.log_sf} / {m.log_bt}); "
        f"{m.wall:.2f} s at {m.latency * 1000:.0f} ms latency; result {m.result}"
    )
    for system in SYSTEMS:
        if m.breakdown.get(system):
            parts = ", ".join(f"{k} ×{v}" for k, v in sorted(m.breakdown[system].items(), key=lambda kv: -kv[1]))
            print(f"    {system}: {parts}")
    if m.rows is not None:
        print(f"    the change read (queryAll, pages of 2,000) returned {m.rows:,} opportunities")
    print(f"  engine process: peak RSS {m.engine_maxrss:.0f} MB, {m.links} links")
    if extra:
        print(extra)
    if m.target:
        print(f"  target: {m.target} → {m.verdict}")


def ratio(naive: int | None, engine: int) -> str:
    if naive is None:
        return "–"
    return f"{naive / engine:.1f}×" if engine else ("=" if naive == 0 else "∞")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--wins",
        type=int,
        nargs="+",
        default=[1000, 10_000],
        help="sizes of the batches of newly won opportunities: the first is (b), the others (c)",
    )
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every API request (default 0.02)")
    parser.add_argument(
        "--big-latency",
        type=float,
        default=0.0,
        help="latency for batches of at least --big-at wins (default 0: measured without, extrapolated)",
    )
    parser.add_argument("--big-at", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=50, help="projects changed before the measured write-back")
    parser.add_argument(
        "--roles", type=int, default=2, help="contact roles per opportunity (each is a BigTime request)"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive variants")
    parser.add_argument(
        "--naive-max",
        type=int,
        default=250,
        help="naive variant of a larger batch runs on this many records and is scaled up linearly "
        "(its cost is per record by construction); 0 = always the full batch",
    )
    parser.add_argument("--bigtime-auth", choices=("oauth", "api_key"), default="oauth")
    parser.add_argument("--keep", action="store_true", help="keep the temporary profiles (and their plaintext keyring)")
    args = parser.parse_args()

    started_all = time.perf_counter()
    rng = random.Random(20261126)
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-bench-"))
    keyring_file = tmp / "keyring.cfg"
    _setup.use_file_keyring(keyring_file)
    world = World()
    # Scenario (d) measures the DtModified hint: BigTime's lenient reading, where logging time
    # changes the project's DtModified and the list carries it (sandbox switches; docs/sync.md).
    world.bigtime.switches.set({"project_list_dt_modified": True, "entries_touch_project": True})
    accounts = seed_accounts(world)
    rows: list[Measure] = []
    b_size, c_sizes = args.wins[0], args.wins[1:]

    def latency_for(n: int) -> float:
        return args.big_latency if n >= args.big_at else args.latency

    with Sandbox(world=world) as sandbox:
        _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": 100_000_000})
        _setup.set_bigtime_rate_limit(sandbox, None)  # requests are measured here; the limit in bigtime_rate_limit.py
        engine_profile = tmp / "engine-profile"
        _setup.connect_profile(sandbox, engine_profile, bigtime_auth=args.bigtime_auth)
        naive_connector = None
        if not args.no_naive:
            naive_connector = Connector(
                _setup.connect_profile(sandbox, tmp / "naive-profile", bigtime_auth=args.bigtime_auth), RequestCounter()
            )
        naive_clients: dict[str, Any] = {}

        def naive_for_wins(m: Measure) -> None:
            """The naive way on a batch like ``m``'s (at most --naive-max records, scaled up), now."""
            assert naive_connector is not None
            tag = f"naive{m.name}"
            size = min(m.n, args.naive_max) if args.naive_max else m.n
            _setup.set_latency(sandbox, 0)
            load_wins(world, accounts, size, tag, args.roles, rng, stage=NAIVE_STAGE)
            _setup.set_latency(sandbox, m.latency)
            sf_n, bt_n, wall = naive_step(
                sandbox, naive_connector, naive_clients, lambda sf, bt: naive_wins(sf, bt, tag)
            )
            scale = m.n / size
            m.naive_sf, m.naive_bt, m.naive_wall = round(sf_n * scale), round(bt_n * scale), wall * scale
            if size < m.n:
                m.naive_note = (
                    f"ran on {size:,} of them ({sf_n} SF / {bt_n} BT requests, {wall:.1f} s), scaled ×{scale:g}"
                )
            print(
                f"  naive way ({m.name}): {m.n:,} wins: Salesforce {m.naive_sf}, BigTime {m.naive_bt} requests, "
                f"{m.naive_wall:.1f} s at {m.latency * 1000:.0f} ms{' — ' + m.naive_note if m.naive_note else ''}"
            )
            print(
                f"  ratio naive/engine: Salesforce {ratio(m.naive_sf, m.sf)}, BigTime {ratio(m.naive_bt, m.bt)}, "
                f"time {m.naive_wall / m.wall:.1f}×"
            )

        engine = EngineProcess(engine_profile, keyring_file)
        try:
            print(
                f"sandbox in this process (pid {os.getpid()}), engine in pid {engine.proc.pid}; "
                f"trigger stage {TRIGGER!r}; {args.roles} contact roles per opportunity; temp dir {tmp}"
            )
            configured = engine.ask("configure", stage=TRIGGER)
            print(f"configured: {configured['already_past']} opportunities already past the stage are left alone")

            # ---- (a) idle ----------------------------------------------------------------------------------
            _setup.set_latency(sandbox, args.latency)
            first = Measure(
                "a0",
                "(a0) first cycle after start (token refresh, stage + field metadata, nothing new)",
                latency=args.latency,
            )
            engine_step(sandbox, engine, "trigger", first)
            show(first)
            rows.append(first)
            idle = Measure(
                "a", "(a) idle trigger cycle", latency=args.latency, target="≤ 1 Salesforce request, 0 BigTime"
            )
            engine_step(sandbox, engine, "trigger", idle)
            idle.verdict = "met" if idle.sf <= 1 and idle.bt == 0 else "MISSED"
            show(idle)
            rows.append(idle)

            # ---- (b) and (c) new wins ---------------------------------------------------------------------
            batches: dict[str, list[str]] = {}

            def wins(tag: str, name: str, n: int) -> Measure:
                lat = latency_for(n)
                _setup.set_latency(sandbox, 0)
                t0 = time.perf_counter()
                ids, new_accounts = load_wins(world, accounts, n, tag, args.roles, rng)
                batches[tag] = ids
                print(
                    f"\nloaded {n} won opportunities ({new_accounts} new accounts) in {time.perf_counter() - t0:.1f} s"
                )
                _setup.set_latency(sandbox, lat)
                m = Measure(name, f"({name}) trigger cycle with {n:,} newly won opportunities", n=n, latency=lat)
                report = engine_step(sandbox, engine, "trigger", m)
                reads = sum(
                    v for k, v in m.breakdown["salesforce"].items() if k.startswith("GET /services/data/v67.0/query")
                )
                writes = sum(v for k, v in m.breakdown["salesforce"].items() if k.startswith(("PATCH", "POST")))
                allowed = 3 + math.ceil(n / 2000) + math.ceil(n / 200)
                lists = {
                    k: v for k, v in m.breakdown["bigtime"].items() if k.startswith(("GET /client", "GET /project"))
                }
                per_record = [k for k, v in lists.items() if v > 1]
                m.target = (
                    f"Salesforce ≤ 3 + ⌈N/2000⌉ + ⌈N/200⌉ = {allowed}; BigTime client/project lists ≤ 1 each "
                    f"(got {sum(lists.values())}: {lists or 'none'})"
                )
                m.verdict = "met" if m.sf <= allowed and not per_record else "MISSED"
                creates = m.bt - sum(lists.values())
                extra = (
                    f"  created {report['created']} projects ({report['rejected']} rejected); Salesforce reads "
                    f"{reads} (⌈N/2000⌉ = {math.ceil(n / 2000)}), writes {writes} (⌈N/200⌉ = {math.ceil(n / 200)}); "
                    f"BigTime per project: {creates / max(1, report['created']):.2f} requests "
                    f"(create project + {args.roles} contacts, + new clients)"
                )
                if lat < args.latency:
                    extra += (
                        f"\n  measured at {lat * 1000:.0f} ms latency; "
                        f"at {args.latency * 1000:.0f} ms it would take about "
                        f"{m.extrapolated(args.latency, m.sf, m.bt, m.wall):.0f} s ({m.sf + m.bt} sequential requests)"
                    )
                show(m, extra)
                rows.append(m)
                return m

            b = wins("b", "b", b_size)
            after_b = Measure(
                "a1",
                "(a1) trigger cycle right after (b): the opportunities it wrote to are re-read (5-minute lookback)",
                latency=args.latency,
            )
            _setup.set_latency(sandbox, args.latency)
            engine_step(sandbox, engine, "trigger", after_b)
            show(after_b)
            rows.append(after_b)
            if naive_connector is not None:
                print(f"\n({b.name}) the same work the naive way (this process, same client classes, own counter):")
                naive_for_wins(b)

            # ---- (d) write-back -------------------------------------------------------------------------------
            links_b = project_ids_for(world, batches["b"])
            _setup.set_latency(sandbox, args.latency)
            wb0 = Measure(
                "d0",
                f"(d0) first write-back cycle: {len(links_b):,} linked projects, none written yet",
                n=len(links_b),
                latency=args.latency,
            )
            engine_step(sandbox, engine, "writeback", wb0)
            show(wb0)
            rows.append(wb0)
            changed = rng.sample(sorted(links_b.values()), min(args.changed, len(links_b)))
            change_projects(world, changed)
            wb = Measure(
                "d",
                f"(d) write-back cycle: {len(links_b):,} linked projects, {len(changed)} changed",
                n=len(links_b),
                latency=args.latency,
                target=f"BigTime ≤ 2 + 2 × {len(changed)} (budget status + detail); Salesforce a small constant (≤ 5)",
            )
            engine_step(sandbox, engine, "writeback", wb)
            budget_reads = wb.breakdown["bigtime"].get("GET /task/budgetstatusbyproject/{id}", 0)
            wb.verdict = "met" if wb.bt <= 2 + 2 * len(changed) and wb.sf <= 5 else "MISSED"
            show(wb, f"  budget-status reads: {budget_reads}")
            rows.append(wb)
            if naive_connector is not None:
                _setup.set_latency(sandbox, args.latency)
                wb.naive_sf, wb.naive_bt, wb.naive_wall = naive_step(
                    sandbox, naive_connector, naive_clients, lambda sf, bt: naive_writeback(sf, bt, links_b)
                )
                print(
                    f"  naive way (d): budget status of all {len(links_b):,} projects, one PATCH per opportunity: "
                    f"Salesforce {wb.naive_sf}, BigTime {wb.naive_bt} requests, {wb.naive_wall:.1f} s"
                )
                print(
                    f"  ratio naive/engine: Salesforce {ratio(wb.naive_sf, wb.sf)}, "
                    f"BigTime {ratio(wb.naive_bt, wb.bt)}, "
                    f"time {wb.naive_wall / wb.wall:.1f}×"
                )

            # ---- (c) larger batches ------------------------------------------------------------------------
            c_rows = [wins(f"c{i}", "c" if len(c_sizes) == 1 else f"c{i}", n) for i, n in enumerate(c_sizes, 1)]

            # ---- (a') idle again ---------------------------------------------------------------------------
            _setup.set_latency(sandbox, args.latency)
            soon = Measure(
                "a2",
                "(a2) idle trigger cycle right after the last batch (inside the 5-minute lookback)",
                latency=args.latency,
            )
            engine_step(sandbox, engine, "trigger", soon)
            show(soon)
            rows.append(soon)
            _setup.admin(sandbox.salesforce_admin_url, "POST", "/clock", {"advance_seconds": 600})
            engine.ask("advance", seconds=600)
            engine_step(sandbox, engine, "trigger", Measure("", ""))  # absorbs the lookback and the metadata refresh
            later = Measure(
                "a3",
                "(a3) idle trigger cycle 10 minutes later (sandbox and engine clocks moved on)",
                latency=args.latency,
                target="≤ 1 Salesforce request, 0 BigTime",
            )
            engine_step(sandbox, engine, "trigger", later)
            later.verdict = "met" if later.sf <= 1 and later.bt == 0 else "MISSED"
            show(later)
            rows.append(later)
            final_rss = later.engine_maxrss
        finally:
            engine.close()
        if naive_connector is not None:
            for m in c_rows:  # after the engine's last cycle: the world is as big as it was for (c)
                print(f"\n({m.name}) the same work the naive way:")
                naive_for_wins(m)

    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nengine process peak RSS (ru_maxrss of the child, {rows[-1].links:,} links): {final_rss:.0f} MB "
        f"(target < 150 MB with 10,000 links → {'met' if final_rss < 150 else 'MISSED'})"
    )
    print(f"this process (sandbox + data + naive variants) peak RSS: {parent_rss:.0f} MB")
    print(f"total run time {time.perf_counter() - started_all:.0f} s")

    # ---- the table -----------------------------------------------------------------------------------
    print("\n### Engine cycles against the sandbox\n")
    print(
        f"Latency added to every request: {args.latency * 1000:.0f} ms unless noted. Engine in its own process "
        f"(RSS = its `ru_maxrss`); requests counted by the engine's counter and checked against the sandbox logs. "
        f"Naive = one request per record with the same clients (its wall time also pays the emulator's unindexed "
        f"per-record query, so compare requests first). {args.roles} contact roles per opportunity; half the wins "
        f"on new accounts.\n"
    )
    print("| Scenario | SF req | BT req | Wall | Naive SF / BT req | Naive wall | Ratio SF / BT | Target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for m in rows:
        wall = f"{m.wall:.1f} s"
        naive_wall = f"{m.naive_wall:.0f} s" if m.naive_wall is not None else "–"
        if m.latency < args.latency:
            at = m.extrapolated(args.latency, m.sf, m.bt, m.wall)
            wall += f" @{m.latency * 1000:.0f} ms (≈{at:.0f} s @{args.latency * 1000:.0f})"
            if m.naive_wall is not None and m.naive_sf is not None and m.naive_bt is not None:
                naive_at = m.extrapolated(args.latency, m.naive_sf, m.naive_bt, m.naive_wall)
                naive_wall += f" @{m.latency * 1000:.0f} ms (≈{naive_at:.0f} s)"
        naive = f"{m.naive_sf} / {m.naive_bt}" if m.naive_sf is not None else "–"
        if m.naive_note:
            naive += "*"
        ratios = f"{ratio(m.naive_sf, m.sf)} / {ratio(m.naive_bt, m.bt)}" if m.naive_sf is not None else "–"
        label = m.label.split(")", 1)[1].split(":")[0].strip()
        verdict = m.verdict or "–"
        print(f"| ({m.name}) {label} | {m.sf} | {m.bt} | {wall} | {naive} | {naive_wall} | {ratios} | {verdict} |")
    print(
        f"| Engine peak RSS ({rows[-1].links:,} links) | | | {final_rss:.0f} MB | | | | "
        f"{'met' if final_rss < 150 else 'MISSED'} (< 150 MB) |"
    )
    for m in rows:
        if m.naive_note:
            print(f"\n\\* ({m.name}) naive variant {m.naive_note}.")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
