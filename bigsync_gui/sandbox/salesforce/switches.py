"""The Salesforce emulator's named switches (mechanism: ``sandbox/switches.py``).

Default = the strict reading: what Salesforce's documentation states. Each switch turns on one
reading that practice suggests but the docs do not promise.
"""

from __future__ import annotations

from ..switches import Switch, strict_bool

SALESFORCE_SWITCHES = (
    # "Update Records Using sObject Rows" documents field values replacing the record's; it says
    # nothing of an update that names no field. Strict: 204 and nothing changes, the stamps
    # included. Lenient: Salesforce's well-known "touch" (any update moves LastModifiedDate and
    # SystemModstamp), on which the engine's account claim relies (docs/sync.md, "Two installations").
    Switch("empty_update_touches", False, True, "A PATCH naming no field still moves the record's LastModifiedDate and "
                                                "SystemModstamp (a \"touch\"), as any update does.", strict_bool),
)
