"""In-memory Salesforce and BigTime for the engine's unit tests: only what the engine calls.

They answer like the real clients (same result types, same typed errors) but hold a handful of
records in dicts, so a test states a situation in a few lines and a cycle runs in milliseconds.
The Engine gets them through :class:`FakeConnector` — the real Connector (profile, settings file,
request counter) with the two client factories replaced: the seam the Engine already uses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bigsync_gui.connectors import bigtime as bt
from bigsync_gui.connectors import errors as ce
from bigsync_gui.connectors.salesforce import SaveError, SaveResult, Stage
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.store import Store
from bigsync_gui.sandbox.salesforce import ids as sf_ids

ID_FIELD = "BigTime_Project_Id__c"

# By SortOrder: Closed Lost sorts *after* the stages that trigger, and still never triggers.
STAGES = [
    Stage("Prospecting", "Prospecting", True, False, False, 1, 10.0),
    Stage("Qualification", "Qualification", True, False, False, 2, 20.0),
    Stage("Proposal", "Proposal/Price Quote", True, False, False, 3, 60.0),
    Stage("Negotiation", "Negotiation/Review", True, False, False, 4, 80.0),
    Stage("Closed Won", "Closed Won", True, True, True, 5, 100.0),
    Stage("Closed Lost", "Closed Lost", True, True, False, 6, 0.0),
    Stage("Legacy", "Legacy (retired)", False, False, False, 7, 50.0),
]


class Clock:
    """The one clock both fakes and the engine read: fixed start, moved only by the test's changes."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> str:
        """A second passes; Salesforce's stamp for a change made now."""
        self.now += timedelta(seconds=1)
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeSalesforce:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, str]]] = {}  # OpportunityHistory: a row per create and stage change
        self.server_time: datetime | None = None
        self.api_usage: tuple[int, int] | None = None
        self.fail_next_read: Exception | None = None
        self._ids = itertools.count(1)

    # ---- what the engine calls --------------------------------------------------------------------
    def new_cycle(self) -> None:
        pass

    def stages(self) -> list[Stage]:
        return list(STAGES)

    def fields(self, sobject: str) -> dict[str, Any]:
        if sobject == "Account":
            return {name: SimpleNamespace(updateable=name != "Id") for name in ("Id", "Name")}
        assert sobject == "Opportunity"
        return dict.fromkeys(["Id", "Name", "StageName", "AccountId", "CloseDate", "Amount", ID_FIELD])

    def query(self, soql: str) -> list[dict[str, Any]]:
        return self._select(soql, with_deleted=False)

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        return self._select(soql, with_deleted=True)

    def update_many(self, sobject: str, rows: list[dict[str, Any]]) -> list[SaveResult]:
        assert sobject == "Opportunity" and not any("attributes" in row for row in rows)
        results = []
        for row in rows:
            record = self.opportunities[row["Id"]]
            if record["IsDeleted"]:
                results.append(SaveResult(None, False, [SaveError("ENTITY_IS_DELETED", "entity is deleted", [])]))
                continue
            stamp = self.clock.tick()
            record.update({k: v for k, v in row.items() if k != "Id"}, SystemModstamp=stamp, LastModifiedDate=stamp)
            results.append(SaveResult(row["Id"], True))
        return results

    def update_if_unmodified(self, sobject: str, record_id: str, values: dict[str, Any], since: datetime) -> bool:
        """PATCH with If-Unmodified-Since (whole seconds): False, as Salesforce's 412, when written since."""
        record = (self.opportunities if sobject == "Opportunity" else self.accounts)[record_id]
        if _moment(record["LastModifiedDate"]).replace(microsecond=0) > since:
            return False
        stamp = self.clock.tick()
        record.update(values, LastModifiedDate=stamp, **({"SystemModstamp": stamp} if sobject == "Opportunity" else {}))
        return True

    def update_many_if_unmodified_with(
        self, updates: list[Any], sobject: str, rider: list[dict[str, Any]]
    ) -> tuple[list[bool], list[SaveResult] | None]:
        """Composite's conditional PATCHes, each as ``update_if_unmodified``, and the rider's updates."""
        answers = [self.update_if_unmodified(u.sobject, u.record_id, u.values, u.since) for u in updates]
        return answers, (self.update_many(sobject, list(rider)) if rider and len(updates) % 25 else None)

    def get(self, sobject: str, record_id: str, fields: list[str]) -> dict[str, Any]:
        record = (self.opportunities if sobject == "Opportunity" else self.accounts)[record_id]
        return {name: record.get(name) for name in fields}

    def _select(self, soql: str, with_deleted: bool) -> list[dict[str, Any]]:
        if self.fail_next_read is not None:
            error, self.fail_next_read = self.fail_next_read, None
            raise error
        self.server_time = self.clock() + timedelta(
            milliseconds=1500
        )  # the answer comes a moment after the last change
        # The engine's reads differ only in their WHERE: terms joined by OR, each "StageName IN (...)",
        # "Id IN (...)" or "SystemModstamp >= ...".
        where = soql.rsplit(" WHERE ", 1)[1].split(" ORDER BY ")[0]
        if where.startswith("("):
            where = where[1:-1]
        rows = [r for r in self.opportunities.values() if with_deleted or not r["IsDeleted"]]
        chosen: dict[str, dict[str, Any]] = {}
        for term in where.split(" OR "):
            if match := re.match(r"(StageName|Id) IN \((.*?)\)", term):
                column, wanted = match.group(1), set(re.findall(r"'((?:[^'\\]|\\.)*)'", match.group(2)))
                chosen.update((r["Id"], r) for r in rows if r[column] in wanted)
            elif match := re.match(r"SystemModstamp >= (\S+)", term):
                since = _moment(match.group(1))
                chosen.update((r["Id"], r) for r in rows if _moment(r["SystemModstamp"]) >= since)
            else:
                raise AssertionError(f"the fake cannot answer {soql!r}")
        history_since = re.search(r"FROM OpportunityHistories WHERE CreatedDate >= (\S+) ORDER BY CreatedDate\)", soql)
        since = _moment(history_since.group(1)) if history_since else None
        return [self._shape(r, since) for r in sorted(chosen.values(), key=lambda r: (r["SystemModstamp"], r["Id"]))]

    def _shape(self, record: dict[str, Any], history_since: datetime | None) -> dict[str, Any]:
        account = self.accounts.get(record["AccountId"] or "")
        shaped = {**record, "Account": dict(account) if account else None, "OpportunityContactRoles": None}
        if history_since is not None:
            rows = [dict(h) for h in self.history.get(record["Id"], []) if _moment(h["CreatedDate"]) >= history_since]
            shaped["OpportunityHistories"] = {"totalSize": len(rows), "done": True, "records": rows} if rows else None
        return shaped

    # ---- what a test does in Salesforce ------------------------------------------------------------
    def account(self, name: str) -> str:
        account_id = sf_ids.to18(f"001{next(self._ids):012d}")  # a real Account id: its client code is made from it
        self.accounts[account_id] = {
            "Id": account_id,
            "Name": name,
            "BillingCity": "Springfield",
            "LastModifiedDate": self.clock.tick(),
        }
        return account_id

    def opportunity(self, name: str, stage: str, account_id: str | None = None) -> str:
        opp_id = f"006{next(self._ids):015d}"
        self.opportunities[opp_id] = {
            "Id": opp_id,
            "Name": name,
            "StageName": stage,
            "AccountId": account_id,
            "IsDeleted": False,
            "CloseDate": "2024-06-30",
            "Amount": None,
            "Description": None,
            ID_FIELD: None,
            "SystemModstamp": self.clock.tick(),
        }
        self.opportunities[opp_id]["LastModifiedDate"] = self.opportunities[opp_id]["SystemModstamp"]
        self.history[opp_id] = [{"StageName": stage, "CreatedDate": self.opportunities[opp_id]["SystemModstamp"]}]
        return opp_id

    def update(self, opp_id: str, **fields: Any) -> None:
        record = self.opportunities[opp_id]
        changed = any(record.get(name) != value for name, value in fields.items() if name in ("StageName", "Amount"))
        stamp = self.clock.tick()
        record.update(fields, SystemModstamp=stamp, LastModifiedDate=stamp)
        if changed:
            self.history[opp_id].append({"StageName": record["StageName"], "CreatedDate": record["SystemModstamp"]})

    def move(self, opp_id: str, stage: str) -> None:
        self.update(opp_id, StageName=stage)

    def delete(self, opp_id: str) -> None:
        self.update(opp_id, IsDeleted=True)

    def restore(self, opp_id: str) -> None:
        self.update(opp_id, IsDeleted=False)


def _moment(text: str) -> datetime:
    """A SOQL datetime literal (``…Z``) or a stored stamp (``….000+0000``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))


class FakeBigTime:
    def __init__(self) -> None:
        self.projects_by_id: dict[int, bt.Project] = {}
        self.clients_by_id: dict[int, bt.Client] = {}
        self.created: list[tuple[str, dict[str, Any]]] = []  # every create request that reached BigTime
        self.lose_next_answer = False  # the next create happens, but its answer never arrives
        self.fail_next_create: Exception | None = None  # the next project create is answered with this; nothing made
        self._ids = itertools.count(1001)

    # ---- what the engine calls --------------------------------------------------------------------
    def projects(self, include_inactive: bool = True) -> list[bt.Project]:
        return list(self.projects_by_id.values())

    def clients(self, include_inactive: bool = True) -> list[bt.Client]:
        return list(self.clients_by_id.values())

    def create_project_record(self, fields: Mapping[str, Any]) -> bt.Project:
        """The project as BigTime keeps it (here: every field as sent, no code limit)."""
        if self.fail_next_create is not None:
            failure, self.fail_next_create = self.fail_next_create, None
            raise failure
        project_id = next(self._ids)
        project = bt.Project(project_id, fields["Nm"], code=fields["ProjectCode"], client_id=fields["ClientId"])
        self.projects_by_id[project_id] = project
        self._answer("project", fields, project_id)
        return project

    def update_project(self, project_id: int, fields: Mapping[str, Any]) -> bt.Project:
        raise AssertionError("the fake keeps every code as sent: nothing to mend")

    def create_client(self, fields: Mapping[str, Any]) -> int:
        client_id = next(self._ids)
        self.clients_by_id[client_id] = bt.Client(client_id, fields["Nm"], code=fields["ClientId"])
        return self._answer("client", fields, client_id)

    def project_contacts(self, project_id: int) -> list[bt.Contact]:
        return []

    def add_project_contact(self, project_id: int, fields: Mapping[str, Any]) -> int:
        raise AssertionError("the fake opportunities have no contact roles")

    def _answer(self, kind: str, fields: Mapping[str, Any], new_id: int) -> int:
        self.created.append((kind, dict(fields)))
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise ce.Offline("bigtime", "The connection dropped before BigTime answered.")
        return new_id

    # ---- what a test finds or puts in BigTime ------------------------------------------------------
    def add_client(self, name: str, inactive: bool = False) -> int:
        client_id = next(self._ids)
        self.clients_by_id[client_id] = bt.Client(client_id, name, code=f"C{client_id}", is_inactive=inactive)
        return client_id

    def projects_coded(self, code: str) -> list[bt.Project]:
        return [p for p in self.projects_by_id.values() if p.code == code]

    def creates(self, kind: str) -> int:
        return sum(1 for k, _ in self.created if k == kind)


class FakeConnector(Connector):
    """The real Connector for a profile, handing out the fakes instead of building HTTP clients."""

    def __init__(self, profile: Profile, salesforce: FakeSalesforce, bigtime: FakeBigTime) -> None:
        super().__init__(profile)
        self.fake_salesforce, self.fake_bigtime = salesforce, bigtime

    def salesforce(self) -> Any:
        return self.fake_salesforce

    def bigtime(self) -> Any:
        return self.fake_bigtime


class World:
    """A profile in tmp_path, both fakes, one clock, and an Engine wired to them."""

    def __init__(self, root: Path) -> None:
        self.clock = Clock()
        self.sf = FakeSalesforce(self.clock)
        self.bt = FakeBigTime()
        self.profile = Profile.at(root)
        self.engine = Engine(FakeConnector(self.profile, self.sf, self.bt), now=self.clock)

    def store(self) -> Store:
        return Store(self.profile.data_dir / "state.db")
