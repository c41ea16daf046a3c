"""What a cycle tells when it ends: its own small module, so the tray (which shows reports it gets
from the sync process, gui/process_runner.py) reads them without loading the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .problems import Problem, problem_of


@dataclass
class CycleReport:
    cycle_id: int
    kind: str
    result: str  # "ok" | "partial" (some records rejected) | "failed"
    message: str
    created: int = 0
    linked: int = 0
    severed: int = 0
    restored: int = 0
    rejected: int = 0
    written: int = 0
    salesforce_requests: int = 0
    bigtime_requests: int = 0
    error: str = ""  # the stable error code when the cycle failed (core/problems.py), e.g. "Offline"
    retry_after: float = 0.0  # seconds a service asked us to wait (RateLimited): the loop waits at least that
    system: str = ""  # the service the failure is about ("salesforce", "bigtime"), "" for neither

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def problem(self) -> Problem:
        """What the admin sees for this failed cycle (the same as for the exception it caught)."""
        return problem_of(self.error, self.system or None, self.message)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CycleReport:
        """The report ``to_json`` gave (keys it does not know are left out: a newer sync process)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
