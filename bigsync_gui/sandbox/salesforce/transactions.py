"""``allOrNone``: a copy of the org's records taken before a collection or composite request, and
the rollback to it (the change events of the rolled-back writes discarded too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import SalesforceData


def take_savepoint(data: SalesforceData) -> dict[str, Any]:
    existing = {rid for table in data.records.values() for rid in table}
    return {
        "records": {k: {rid: dict(row) for rid, row in t.items()} for k, t in data.records.items()},
        "deleted_log": {k: dict(v) for k, v in data.deleted_log.items()},
        "cascaded_by": dict(data.cascaded_by),
        "existing": existing,
        "events": data.change_events.mark(),
    }


def roll_back(data: SalesforceData, savepoint: dict[str, Any]) -> None:
    for key, table in savepoint["records"].items():
        live = data.records[key]
        for rid in [r for r in live if r not in table]:
            del live[rid]
        for rid, row in table.items():
            live[rid].clear()
            live[rid].update(row)
    data.deleted_log = savepoint["deleted_log"]
    data.cascaded_by = savepoint["cascaded_by"]
    data.change_events.discard_from(savepoint["events"])
