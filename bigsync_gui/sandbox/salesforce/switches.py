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
    Switch(
        "empty_update_touches",
        False,
        True,
        "A PATCH naming no field still moves the record's LastModifiedDate and "
        'SystemModstamp (a "touch"), as any update does.',
        strict_bool,
    ),
    # The Change Data Capture guide says events are sent "only for the selected entities"; it does not say
    # what a subscription to an unselected entity's channel answers. Issue threads report it succeeds
    # and delivers nothing (strict: the client cannot tell). Lenient: refused as a channel that does
    # not exist, so a subscriber learns at once that the entity is not selected.
    Switch(
        "cdc_unselected_subscribe_refused",
        False,
        True,
        "Subscribing to the change-event channel of an entity not selected for Change Data Capture is refused "
        "(400::The channel you requested to subscribe to does not exist) instead of succeeding silently.",
        strict_bool,
    ),
)
