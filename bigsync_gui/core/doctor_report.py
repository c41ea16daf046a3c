"""What ``doctor`` reports: each :class:`Check` (confirmed, different or not checked), the whole
:class:`DoctorReport` with its plain-words summary, and the redacted report file (names and types
only: no tokens, keys, record ids or values) an admin can send us. The checks are in :mod:`.doctor`,
:mod:`.doctor_figures` and :mod:`.cdc_readiness`."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .problems import problem_of
from .profile import Profile

CONFIRMED, DIFFERENT, NOT_CHECKED = "confirmed", "different", "not checked"
REPORT_NAME = "doctor-report.json"


@dataclass(frozen=True)
class Check:
    """One assumption and what doctor found. ``seen``: field names with their JSON or Salesforce
    types (``"HrsIn: number"``), never values."""

    system: str  # "bigtime" | "salesforce"
    key: str  # stable, for scripts: "bigtime.budget_row.hours_input"
    title: str  # the assumption, in words
    status: str  # CONFIRMED | DIFFERENT | NOT_CHECKED
    needed: bool  # a difference here stops something BigSync is set up to do
    note: str = ""  # one sentence: what differs and what to do, or why it was not checked
    seen: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.status == DIFFERENT and self.needed


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    stopped: dict[str, str] = field(
        default_factory=dict
    )  # system → the error code (core/problems.py) that stopped its checks
    stopped_why: dict[str, str] = field(default_factory=dict)  # system → the sentence said for each check it stopped
    checked_at: str = ""

    @property
    def blocking(self) -> list[Check]:
        return [c for c in self.checks if c.blocking]

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (CONFIRMED, DIFFERENT, NOT_CHECKED)}

    def summary(self) -> str:
        """Plain words for the wizard and the CLI's last line."""
        n, counts = len(self.checks), self.counts
        if self.blocking:
            k = len(self.blocking)
            things = "thing it needs is" if k == 1 else "things it needs are"
            return f"Checked {n} things BigSync relies on: {k} {things} different."
        parts = [f"{counts[CONFIRMED]} as expected"]
        if counts[DIFFERENT]:
            parts.append(f"{counts[DIFFERENT]} different but BigSync copes")
        if counts[NOT_CHECKED] and self.stopped:
            reasons = " and ".join(problem_of(code, system).headline for system, code in sorted(self.stopped.items()))
            parts.append(f"{counts[NOT_CHECKED]} not checked ({reasons})")
        elif counts[NOT_CHECKED]:
            parts.append(f"{counts[NOT_CHECKED]} not checked yet{self._why_not_checked()}")
        if not counts[DIFFERENT] and not counts[NOT_CHECKED]:
            return f"Checked {n} things BigSync relies on: all as expected."
        return f"Checked {n} things BigSync relies on: " + ", ".join(parts) + "."

    def _why_not_checked(self) -> str:
        """The reason most unchecked checks give, in their own words (" (3 because the linked projects
        read have no budget rows yet)"): not a guess that may not hold for this setup."""
        notes = Counter(c.note for c in self.checks if c.status == NOT_CHECKED and c.note)
        if not notes:
            return ""
        note, k = notes.most_common(1)[0]
        reason = note.split(":")[0].split(" (")[0].rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        how_many = "" if k == self.counts[NOT_CHECKED] else f"{k} "
        return f" ({how_many}because {reason})"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "checked_at": self.checked_at,
            "summary": self.summary(),
            "counts": self.counts,
            "blocking": len(self.blocking),
            "stopped": dict(self.stopped),
            "checks": [{**asdict(c), "seen": list(c.seen)} for c in self.checks],
        }


# ---- the report file ----------------------------------------------------------------------------
def report_path(profile: Profile) -> Path:
    return profile.data_dir / REPORT_NAME


def write_report(profile: Profile, report: DoctorReport) -> Path:
    """The redacted report, for the admin to send us: mode 0600, written atomically."""
    profile.ensure_dirs()
    path = report_path(profile)
    fd, tmp = tempfile.mkstemp(prefix=".doctor-", dir=profile.data_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(report.to_json(), fh, indent=2)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
