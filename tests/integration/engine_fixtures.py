"""An engine connected to the sandbox the way an admin connects one, and an oracle of the sync contract.

``connected_engine`` (a fixture, exported through ``tests/integration/conftest.py``) gives a
:class:`Connected`: a temporary profile, a file keyring (keyrings.alt) under a temporary home,
Salesforce connected through the real OAuth code flow (PKCE, login page, Allow, exchange),
BigTime through the API key, and ``configure("Closed Won")`` done. The engine's clock can be
moved (``advance``) so metadata ages, full reconciles and gaps can be reached without waiting.

:class:`Oracle` is the contract of docs/design.md ("Sync semantics"), kept from the outside: call
``before_cycle()`` just before each cycle and ``after_cycle(report)`` just after; ``check()`` asserts the invariants.
Benchmarks reuse both (``from engine_fixtures import Connected, Oracle``).
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import keyring
import pytest
import requests
from keyrings.alt.file import PlaintextKeyring

from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.http import RetryPolicy
from bigsync_gui.core.bigtime_limits import account_of_code
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import CycleReport, Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.store import Store
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse

# Retries stay real (same attempts, same classification) but short. A Retry-After above 2 s is
# raised as RateLimited instead of slept on, so a test never waits for one.
FAST = RetryPolicy(
    initial_wait=0.01, max_wait=0.05, jitter=0.0, max_inline_retry_after=2.0, connect_timeout=5.0, read_timeout=20.0
)
# BigTime's pace: high enough not to matter, and a short "minute" so that a 503 without
# Retry-After (wait a window) costs a test a fraction of a second.
PACE = (1_000_000, 0.2)
TRIGGER = "Closed Won"
ID_FIELD = "BigTime_Project_Id__c"


def keyring_file(home: Path) -> Path:
    """Where keyrings.alt's PlaintextKeyring keeps its file for a process whose XDG_DATA_HOME is home/data."""
    return home / "data" / "python_keyring" / "keyring_pass.cfg"


def child_env(home: Path) -> dict[str, str]:
    """The environment a `bigsync-gui` child process needs to read the same keyring file."""
    import os

    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


class MovableClock:
    """The engine's clock: real time plus an offset a test can advance."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    r = requests.request(method, url + path, json=body, timeout=10)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


@dataclass
class Connected:
    sandbox: Sandbox
    root: Path
    profile: Profile
    connector: Connector
    engine: Engine
    clock: MovableClock
    home: Path
    advanced_seconds: float = 0.0
    _advancing: threading.Lock = field(default_factory=threading.Lock, repr=False)  # engines in threads advance too

    # ---- running -------------------------------------------------------------------------------
    def cycle(self, **kwargs: Any) -> CycleReport:
        return self.engine.run_cycle(**kwargs)

    def configure(self, stage: str = TRIGGER, *, backfill: bool = False) -> int:
        return self.engine.configure(stage, backfill=backfill)[1]

    def new_engine(self, connector: Connector | None = None) -> Engine:
        """A second engine on the same profile (another copy of the app, or a restart) on the test's
        clocks, or one on ``connector`` (another profile, another retry policy)."""
        connector = connector or Connector(self.profile, policy=FAST, pace=PACE)
        return Engine(connector, now=self.clock, wait=self.wait)

    def wait(self, cancel: threading.Event, seconds: float) -> bool:
        """The engine's pause (a claim waiting for Salesforce's clock to leave a second): the clocks
        of both sides are moved on by ``seconds`` instead of waiting them out."""
        if not cancel.is_set():
            self.advance(seconds=seconds)
        return cancel.is_set()

    def store(self) -> Store:
        return Store(self.profile.data_dir / "state.db")

    def advance(self, **delta: float) -> None:
        """Time passes for both sides: the engine's clock and the sandbox's world clock."""
        seconds = timedelta(**delta).total_seconds()
        with self._advancing:
            self.clock.advance(seconds=seconds)
            admin(self.sandbox.salesforce_admin_url, "POST", "/clock", {"advance_seconds": seconds})
            self.advanced_seconds += seconds

    def let_answers_land(self) -> None:
        """Time passes until any BigTime request sent without an answer seen has landed or never
        will (the engine holds a create in doubt back until then: core.creation.in_doubt)."""
        self.advance(seconds=self.connector.bigtime_answer_window())

    # ---- Salesforce side (in-process, under the world's lock) -----------------------------------
    @property
    def sf(self) -> Any:
        return self.sandbox.world.salesforce

    @property
    def bt(self) -> Any:
        return self.sandbox.world.bigtime

    def opps(self, deleted: bool = False) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [dict(r) for r in self.sf.all_records("Opportunity") if deleted or not r.get("IsDeleted")]

    def opp(self, opp_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            return dict(self.sf.records["opportunity"][opp_id])

    def accounts(self) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [dict(r) for r in self.sf.all_records("Account") if not r.get("IsDeleted")]

    def account_id(self, name: str) -> str:
        return next(a["Id"] for a in self.accounts() if a["Name"] == name)

    def opps_in(self, stage: str) -> list[dict[str, Any]]:
        return [o for o in self.opps() if o["StageName"] == stage]

    def insert(self, object_name: str, fields: dict[str, Any]) -> str:
        with self.sandbox.world.lock:
            return self.sf.insert(object_name, fields)

    def update(self, object_name: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.sandbox.world.lock:
            self.sf.update(object_name, record_id, fields)

    def move(self, opp_id: str, stage: str) -> None:
        self.update("Opportunity", opp_id, {"StageName": stage})

    def delete(self, opp_id: str) -> None:
        with self.sandbox.world.lock:
            self.sf.delete("Opportunity", opp_id)

    def restore(self, opp_id: str) -> None:
        with self.sandbox.world.lock:
            self.sf.undelete("Opportunity", opp_id)

    def new_opp(self, name: str, stage: str, account: str | None, **fields: Any) -> str:
        values = {
            "Name": name,
            "StageName": stage,
            "CloseDate": datetime.now(timezone.utc).date().isoformat(),
            **fields,
        }
        if account:
            values["AccountId"] = account
        return self.insert("Opportunity", values)

    def add_role(
        self, opp_id: str, first: str, last: str, email: str, primary: bool, account: str | None = None
    ) -> str:
        contact = self.insert("Contact", {"FirstName": first, "LastName": last, "Email": email, "AccountId": account})
        self.insert(
            "OpportunityContactRole",
            {
                "OpportunityId": opp_id,
                "ContactId": contact,
                "IsPrimary": primary,
                "Role": "Decision Maker" if primary else "Evaluator",
            },
        )
        return contact

    # ---- BigTime side --------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [dict(p) for p in self.bt.records["project"].values()]

    def projects_for(self, opp_id: str) -> list[dict[str, Any]]:
        return [p for p in self.projects() if p["ProjectCode"] in project_codes(opp_id)]

    def project(self, opp_id: str) -> dict[str, Any]:
        (project,) = self.projects_for(opp_id)
        return project

    def clients(self) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [dict(c) for c in self.bt.records["client"].values()]

    def contacts(self, project_id: int) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [dict(c) for c in self.bt.directory.project_contacts(project_id)]

    # ---- the sandbox's faults and logs ---------------------------------------------------------
    def fault(self, system: str, **spec: Any) -> None:
        url = self.sandbox.salesforce_admin_url if system == "salesforce" else self.sandbox.bigtime_admin_url
        admin(url, "POST", "/faults", spec)

    def clear_faults(self) -> None:
        admin(self.sandbox.salesforce_admin_url, "DELETE", "/faults")
        admin(self.sandbox.bigtime_admin_url, "DELETE", "/faults")

    def log(self, system: str) -> list[dict[str, Any]]:
        url = self.sandbox.salesforce_admin_url if system == "salesforce" else self.sandbox.bigtime_admin_url
        return admin(url, "GET", "/log")["entries"]

    def clear_logs(self) -> None:
        admin(self.sandbox.salesforce_admin_url, "DELETE", "/log")
        admin(self.sandbox.bigtime_admin_url, "DELETE", "/log")

    def sf_settings(self, **values: Any) -> None:
        admin(self.sandbox.salesforce_admin_url, "POST", "/settings", values)

    def bt_settings(self, **values: Any) -> None:
        admin(self.sandbox.bigtime_admin_url, "POST", "/settings", values)


def connect_profile(sandbox: Sandbox, root: Path, connector: Connector) -> None:
    """Salesforce through the real OAuth code flow (as `connect salesforce` does, with the browser
    played by requests), BigTime with the firm's API key."""
    endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
    attempt = oauth.AuthorizationAttempt(endpoints, connector.http["salesforce"])
    attempt.preflight()
    tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce")))
    connector.save_salesforce(endpoints, sandbox.salesforce_url, tokens)
    connector.save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    settings = connector.settings()
    settings.bigtime.requests_per_minute = 1_000_000  # for `bigsync-gui` child processes (here: PACE)
    settings.bigtime.request_timeout_seconds = 3  # children's: a create in doubt is held back 6 s, not 70 (here: FAST)
    settings.save(connector.profile)


@contextlib.contextmanager
def keyring_file_at(home: Path) -> Iterator[Path]:
    """keyrings.alt's plain-text file keyring under ``home`` (the same file a child process started
    with ``child_env(home)`` uses); the previous backend is put back afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    backend = PlaintextKeyring()
    backend.file_path = str(keyring_file(home))  # type: ignore[misc]  # instance attribute wins over the default
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield home
    finally:
        keyring.set_keyring(previous)


@contextlib.contextmanager
def connected_to(sandbox: Sandbox, root: Path, home: Path) -> Iterator[Connected]:
    """A profile at ``root`` connected to ``sandbox`` and configured with "Closed Won" (the keyring
    must already be set, e.g. by ``keyring_file_at(home)``).

    The sandbox's world clock survives its reset, so the engine's clock starts level with it, and
    whatever was advanced is taken back afterwards (in-process: the admin API only goes forward)."""
    profile = Profile.at(root)
    connector = Connector(profile, policy=FAST, pace=PACE)
    connect_profile(sandbox, root, connector)
    clock = MovableClock()
    clock.advance(seconds=sandbox.world.clock.offset_seconds)
    env = Connected(sandbox, root, profile, connector, Engine(connector, now=clock), clock, home)
    env.engine = env.new_engine(connector)  # one whose pauses move the clocks (Connected.wait)
    env.configure(TRIGGER)
    try:
        yield env
    finally:
        if env.advanced_seconds:
            sandbox.world.clock.advance(-env.advanced_seconds)


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[Path]:
    """The file keyring under a temporary home (``keyring_file_at``)."""
    with keyring_file_at(tmp_path / "home") as home:
        yield home


@pytest.fixture
def connected_engine(sandbox: Sandbox, bigtime_reading: str, tmp_path: Path, file_keyring: Path) -> Iterator[Connected]:
    """A profile connected to the sandbox (fresh seed data) and configured with "Closed Won", once
    against each reading of BigTime (``bigtime_reading``)."""
    with connected_to(sandbox, tmp_path / "profile", file_keyring) as env:
        yield env


# ---- the contract, kept from the outside -------------------------------------------------------------------
VIOLATION_KINDS = ("duplicate", "missed", "deleted", "other")


@dataclass(frozen=True)
class Violation:
    """One broken invariant: ``kind`` is one of VIOLATION_KINDS ("duplicate": a second project,
    client or contact for the same thing; "missed": an opportunity owed a project has none;
    "deleted": a BigTime project gone or a DELETE sent; "other": any other break of the contract),
    ``count`` how many records it concerns."""

    kind: str
    count: int
    message: str


class ContractBroken(AssertionError):
    """The oracle's failure: an AssertionError (so pytest reports it as one) that keeps its violations."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"[{v.kind}] {v.message}" for v in violations))
        self.violations = violations


@dataclass
class Oracle:
    """What the engine must have done, from what a cycle could see.

    A cycle sees each opportunity's stage now and the stages it passed since the last cycle that
    succeeded (its OpportunityHistory rows; those before the setup's read are the setup's to judge).
    ``must`` holds the opportunities a cycle that succeeded saw at/past the trigger, now or in that
    history (each must have exactly one project from then on); ``may`` those seen so by any cycle (a
    failed cycle may or may not have created theirs: at most one). Opportunities already past the
    stage when the sync was configured are left alone (unless backfill) until they have been below
    it and reach it again — the engine's documented "reaching it again counts".
    """

    env: Connected
    trigger: str = TRIGGER
    backfill: bool = False
    must: set[str] = field(default_factory=set)
    may: set[str] = field(default_factory=set)
    excluded: set[str] = field(default_factory=set)
    maybe_unexcluded: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # at the stage without an account: a clear per-record error
    max_projects: int = 0
    seen_project_ids: set[int] = field(default_factory=set)
    history: list[str] = field(default_factory=list)
    _snapshot: dict[str, dict[str, Any]] = field(default_factory=dict)
    _stages: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (CreatedDate, StageName) per opportunity
    _walked: dict[str, int] = field(default_factory=dict)  # history rows a successful cycle has seen

    def __post_init__(self) -> None:
        self.excluded = set() if self.backfill else {o["Id"] for o in self.env.opps() if self.triggers(o)}
        self.max_projects = len(self.env.projects())
        self.seen_project_ids = {p["SystemId"] for p in self.env.projects()}
        store = self.env.store()
        try:
            floor = store.cursor("stage_history_floor") or ""
        finally:
            store.close()
        floor = floor[:19]  # the engine asks for changes from that second on (SOQL datetimes are whole seconds)
        self._walked = {oid: sum(1 for at, _ in rows if at[:19] < floor) for oid, rows in self.stage_history().items()}

    def stage_history(self) -> dict[str, list[tuple[str, str]]]:
        """Each opportunity's OpportunityHistory rows, oldest first, as the emulator recorded them."""
        rows: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        with self.env.sandbox.world.lock:
            for h in self.env.sf.all_records("OpportunityHistory"):
                rows[h["OpportunityId"]].append((h["CreatedDate"], h["StageName"]))
        return {oid: sorted(r) for oid, r in rows.items()}

    def stages(self) -> dict[str, dict[str, Any]]:
        with self.env.sandbox.world.lock:
            return {s["ApiName"]: dict(s) for s in self.env.sf.stages_in_order()}

    def triggers(self, opp: dict[str, Any]) -> bool:
        return self.stage_triggers(opp["StageName"])

    def stage_triggers(self, name: str) -> bool:
        stages = self.stages()
        stage, trigger = stages.get(name), stages[self.trigger]
        return (
            stage is not None
            and stage["SortOrder"] >= trigger["SortOrder"]
            and not (stage["IsClosed"] and not stage["IsWon"])
        )

    def closed_lost(self, name: str) -> bool:
        stage = self.stages().get(name)
        return stage is not None and stage["IsClosed"] and not stage["IsWon"]

    def before_cycle(self) -> None:
        self._snapshot = {o["Id"]: o for o in self.env.opps(deleted=True)}
        self._stages = self.stage_history()

    def after_cycle(self, report: CycleReport) -> None:
        ok = report.result in ("ok", "partial")
        self.history.append(f"{report.kind} {report.result} {report.error} {report.message[:80]}")
        for oid, opp in self._snapshot.items():
            passed = [stage for _, stage in self._stages.get(oid, [])[self._walked.get(oid, 0) :]]
            if opp.get("IsDeleted"):
                # Not judged while deleted; restored within the lookback, the engine reads these
                # stages again and may create its project then (it did reach the stage).
                self.may.update(oid for stage in passed if self.stage_triggers(stage))
                continue
            for stage in [*passed, opp["StageName"]]:  # in order, as the engine walks them
                self._saw(oid, opp, stage, ok)
        if ok:
            self._walked = {oid: len(rows) for oid, rows in self._stages.items()}
        self.check(final=False)

    def _saw(self, oid: str, opp: dict[str, Any], stage: str, ok: bool) -> None:
        if self.stage_triggers(stage):
            if oid in self.excluded and oid not in self.maybe_unexcluded:
                return
            if not opp.get("AccountId"):  # refused (no client to put it under), not created
                if ok and oid not in self.excluded:
                    self.refused.add(oid)
                return
            self.refused.discard(oid)
            self.may.add(oid)
            if ok and oid not in self.excluded:
                self.must.add(oid)
        elif oid in self.excluded and not self.closed_lost(stage):
            if ok:
                self.excluded.discard(oid)
                self.maybe_unexcluded.discard(oid)
            else:
                self.maybe_unexcluded.add(oid)

    def check(self, final: bool) -> None:
        """The invariants; ``final`` after a clean cycle: the links must then agree everywhere.
        Raises :class:`ContractBroken` naming every broken one."""
        found = self.violations(final)
        if found:
            raise ContractBroken(found)

    def violations(self, final: bool) -> list[Violation]:
        """Every broken invariant, by kind (the reliability report counts them; ``check`` asserts none)."""
        env, out = self.env, []

        def broken(kind: str, count: int, message: str) -> None:
            out.append(Violation(kind, count, message))

        projects = env.projects()
        ids = {p["SystemId"] for p in projects}
        if len(projects) < self.max_projects:
            broken("deleted", self.max_projects - len(projects), "a BigTime project disappeared")
        if not self.seen_project_ids <= ids:
            gone = self.seen_project_ids - ids
            broken("deleted", len(gone), f"BigTime projects deleted: {gone}")
        self.max_projects, self.seen_project_ids = len(projects), ids
        deletes = [e for e in env.log("bigtime") if e["method"] == "DELETE"]
        if deletes:
            broken("deleted", len(deletes), f"the engine deleted something in BigTime: {deletes}")

        all_ids = [o["Id"] for o in env.opps(deleted=True)]
        owner = {code: oid for oid in all_ids for code in project_codes(oid)}  # every code that names an opportunity
        codes = collections.Counter(owner[p["ProjectCode"]] for p in projects if p["ProjectCode"] in owner)
        duplicated = {c: n for c, n in codes.items() if n > 1}
        if duplicated:
            broken(
                "duplicate",
                sum(n - 1 for n in duplicated.values()),
                f"more than one project for {duplicated}\n{self.history}",
            )
        with_project = set(codes)
        missing = self.must - with_project
        if missing:
            broken(
                "missed",
                len(missing),
                f"no project for opportunities that reached the stage: {missing}\n{self.history}",
            )
        unexpected = with_project - self.may
        if unexpected:
            broken(
                "other",
                len(unexpected),
                f"projects for opportunities never seen at the stage: {unexpected}\n{self.history}",
            )

        client_codes = collections.Counter(
            account_of_code(c["ClientId"]) for c in env.clients() if account_of_code(c["ClientId"])
        )  # clients per account, any code form
        if any(n > 1 for n in client_codes.values()):
            broken("duplicate", sum(n - 1 for n in client_codes.values()), f"duplicate clients: {client_codes}")
        for p in projects:
            if p["ProjectCode"] in owner:
                contacts = env.contacts(p["SystemId"])
                people = [(c["EMail"].casefold(), c["FName"], c["SName"]) for c in contacts]
                if len(people) != len(set(people)):
                    broken(
                        "duplicate",
                        len(people) - len(set(people)),
                        f"duplicate contacts on project {p['SystemId']}: {people}",
                    )
                if sum(c["Tag"] == "PRIMARY" for c in contacts) > 1:
                    broken("other", 1, f"more than one primary contact on project {p['SystemId']}")

        store = env.store()
        try:
            links = {link.opportunity_id: link for link in store.links()}
            pending = store.intents("pending")
            failed = {i.opportunity_id: i.reason for i in store.intents("failed")}
            unwritten = store.links_not_written_back()
        finally:
            store.close()
        by_id = {p["SystemId"]: p for p in projects}
        all_opps = {o["Id"]: o for o in env.opps(deleted=True)}
        for oid, link in links.items():
            if link.project_id not in by_id:
                broken("other", 1, f"link {oid} → {link.project_id}: no such BigTime project")
                continue
            if by_id[link.project_id]["ProjectCode"] not in project_codes(oid):
                broken("other", 1, f"link {oid} → {link.project_id}: the project's code names another opportunity")
            opp = all_opps.get(oid)
            if (
                link.written_back
                and link.status == "linked"
                and opp is not None
                and not opp.get("IsDeleted")
                and opp.get(ID_FIELD) != str(link.project_id)
            ):
                broken("other", 1, f"{oid}: {ID_FIELD}={opp.get(ID_FIELD)!r}, link {link.project_id}")
        if not final:
            return out
        if pending:
            broken("other", len(pending), f"unfinished intents after a clean cycle: {pending}")
        for oid in self.refused - with_project:
            if "no account" not in failed.get(oid, ""):
                broken("other", 1, f"{oid} has no account: it should be refused, not {failed.get(oid)!r}")
        unlinked = with_project - set(links)
        if unlinked:
            broken("other", len(unlinked), f"projects in BigTime the store does not know: {unlinked}")
        for oid, link in links.items():
            opp = all_opps.get(oid)
            gone = opp is None or bool(opp.get("IsDeleted"))
            if link.status != ("severed" if gone else "linked"):
                broken("other", 1, f"{oid}: link {link.status}, deleted={gone}")
            elif not gone and opp.get(ID_FIELD) != str(link.project_id):  # type: ignore[union-attr]
                broken("other", 1, f"{oid}: project id not written back")
        if unwritten:
            broken("other", len(unwritten), f"links never written back: {unwritten}")
        return out


def run(env: Connected, oracle: Oracle, **kwargs: Any) -> CycleReport:
    oracle.before_cycle()
    report = env.cycle(**kwargs)
    oracle.after_cycle(report)
    return report


def cancel_after(n: int) -> tuple[threading.Event, Any]:
    """A cancel flag and a progress callback that sets it after n records."""
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= n:
            cancel.set()

    return cancel, progress
