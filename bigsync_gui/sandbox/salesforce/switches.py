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
    # The SOAP API guide's QueryLocator page: a query locator expires after 15 minutes of inactivity and a
    # user has at most 10 open cursors (an eleventh releases the oldest). The limits cheat sheet ("API
    # Query Cursor Limits") says that since API v56 there is no limit and results stay for 2 days.
    # Strict: the first. Lenient: the second.
    Switch(
        "query_cursors_two_days",
        False,
        True,
        "Query locators (nextRecordsUrl) stay valid 2 days and a user may hold any number of them, as the "
        "limits cheat sheet says since v56, instead of 15 minutes idle and 10 per user (the oldest released).",
        strict_bool,
    ),
    # The SOAP guide's QueryLocator page: "Use a given queryLocator value only one time" (queryMore answers
    # with a new one). The REST guide says nothing of asking a nextRecordsUrl twice, and the URL carries
    # its offset. Strict: a nextRecordsUrl, once answered, is used up (a retried page after a lost answer
    # is INVALID_QUERY_LOCATOR). Lenient: any page of a live cursor may be asked again.
    Switch(
        "query_locator_reusable",
        False,
        True,
        "A nextRecordsUrl may be asked again (e.g. a retry after a lost answer) while its cursor lives, "
        "instead of being used up by its first answer.",
        strict_bool,
    ),
)
