"""Writes docs/cli.md from the program's own --help texts, so the reference never drifts.

.venv/bin/python docs/make_cli_reference.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COMMANDS = [
    [],
    ["sandbox"],
    ["connect", "salesforce"],
    ["connect", "bigtime"],
    ["stages"],
    ["configure"],
    ["sync"],
    ["run"],
    ["status"],
    ["doctor"],
    ["disconnect"],
]

# Written here (not in --help) and appended: what --help cannot say at length.
APPENDIX = """## Exit codes

| code | meaning |
|---|---|
| 0 | done (`doctor`: nothing needed differs) |
| 1 | the command ran and failed (sign-in refused, setup problem, another copy syncing) |
| 2 | wrong arguments |
| 3 | not connected, or a system needs signing in again |
| 4 | a service could not be reached, or asked us to wait (rate limit, 5xx, API allowance spent, a create in doubt) |
| 5 | no usable keyring (or it is locked) |
| 6 | `doctor`: something BigSync needs differs from what it assumes |

## `doctor` output

`doctor` reads from both services (GETs only; with OAuth, also the token refresh every call needs)
and checks each assumption of `bigsync_gui/connectors/bigtime_assumptions.py` and each mapped
Salesforce field. Each check is **confirmed**, **different** (what was seen: field names and
types, never values) or **not checked** (and why: e.g. no opportunity is linked yet, so there is
no budget row to read; OAuth-only checks on an API-key connection). A check is *needed* when a
difference stops something BigSync is set up to do: a mapped Opportunity field missing, read-only
or of the wrong type; a budget-row, project-detail or invoice field that is a *mapped* figure's
first and only source ([live] names and documented fields only: `BudgetExps` has no live-checked
source, so its absence is expected; a field with a next source, such as the history's `TotalAmt`
whose next source is the invoice's detail, is reported, not needed); the project list's id, name or
ProjectCode; the realm; API rights; a ProjectCode limit under 15 characters. Differences that are
not needed (the OAuth header or token body BigTime took, an alias name BigSync also reads,
`InvoiceAmt`, no `BigTime_Invoice__c`) are reported so we learn from them; BigSync copes.

The table, one line per check: `ok` (confirmed), `DIFFERS` (different, not needed), `NEEDED`
(different and needed), `--` (not checked), the system and the assumption; under it what was seen
and a sentence. The last lines are the summary (`Checked 38 things BigSync relies on: …`) and
where the report was written. The `bigtime.figure_sources.<figure>` checks say, for the newest
linked project, which source gave each mapped figure (`seen`: `source: TotalAmt from invoice
details`, or `source: none`: it stays empty for that project); *confirmed* when its first source
did (docs/sync.md, "Write-back"). `bigtime.client_code_length` and `bigtime.client_name_length` give
the longest client code and client name in BigTime against its limits (15 and 50: `seen`: `Client
code: longest 21 characters, limit 15`, lengths only); longer ones mean this BigTime keeps more than
its help says (reported, not needed: BigSync's own stay within). `doctor --json` prints one object:

```
{"format": 1, "checked_at": "2026-…Z", "summary": "…", "counts": {"confirmed": N, "different": N, "not checked": N},
 "blocking": N, "stopped": {"bigtime": "Offline"},            # a service that stopped its checks, if any
 "checks": [{"system": "bigtime", "key": "bigtime.budget_row.hours_input", "title": "…", "status": "confirmed",
             "needed": true, "note": "…", "seen": ["HrsIn: number"]}, …],
 "report_file": "<profile>/data/doctor-report.json"}
```

The same object (without `report_file`) is written to `doctor-report.json` in the profile's data
folder (`DIR/data/` with `--profile DIR`; see *Where things live* in the README), mode 0600: no
token, key, record id or value — names and types only — so an admin can send it to us. The
wizard's summary page runs the same checks before Save.

## `status --json`: where the figures came from

Besides the cycles, links and what needs attention, `status --json` has `figure_sources`: for each
figure the write-back wrote, which BigTime source gave it the last time, counted over the linked
opportunities (`"none"`: no source answered for those, so their field stays empty):

```
"figure_sources": {"budget_total": {"sum of EstTotal on budget-status rows": 4},
                   "invoiced_to_date": {"TotalAmt from invoice details": 3, "TotalAmt in the invoice history": 1},
                   "budget_fees": {"BudgetFees on the project detail": 1, "none": 3}, …}
```
"""


def main() -> None:
    parts = [
        "# Command-line reference",
        "",
        "Generated from `bigsync-gui … --help` by `docs/make_cli_reference.py`; do not edit by hand.",
        "",
    ]
    for command in COMMANDS:
        text = subprocess.run(
            [sys.executable, "-m", "bigsync_gui", *command, "--help"],
            capture_output=True,
            text=True,
            check=True,
            env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
        ).stdout
        title = " ".join(["bigsync-gui", *command])
        parts += [f"## `{title}`", "", "```", text.rstrip(), "```", ""]
    parts.append(APPENDIX)
    target = Path(__file__).resolve().parent / "cli.md"
    target.write_text("\n".join(parts))
    print(target)


if __name__ == "__main__":
    main()
