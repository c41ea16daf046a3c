"""Can triggers be instant? Whether Change Data Capture is on for Opportunity in the org (the
Tooling API's ``PlatformEventChannelMember`` of the ``ChangeEvents`` channel) and whether the
connected user may receive its events (Change Data Capture ignores sharing, so it needs *View All*
on opportunities, or View All Data / Modify All Data). The wizard, Settings and ``doctor`` say it
in the same words and, when it is off, the admin's steps. Nothing here is needed to sync: without
it BigSync checks for changes on its interval, as before (docs/wizard.md, "Instant triggers").
"""

from __future__ import annotations

from dataclasses import dataclass

from ..connectors.errors import ConnectorError
from ..connectors.salesforce import SalesforceClient
from ..connectors.salesforce.tooling import can_view_all, cdc_selected, user_rights
from .cadence import TriggerInterval
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check
from .trigger_timing import TriggerTiming

ENTITY = "Opportunity"
ENTITY_LIMIT = 5  # entities an org may select without the Change Data Capture add-on
ENABLE_STEPS = (
    "In Salesforce, open Setup › Change Data Capture (type “Change Data Capture” in Quick Find).",
    "Move Opportunity from Available Entities to Selected Entities, then Save.",
    f"An org may select at most {ENTITY_LIMIT} entities (across all channels) without Salesforce's add-on: if the "
    "list is full, remove one you no longer need.",
)
VIEW_ALL_STEP = (
    "Give the connected user View All on opportunities (Setup › Permission Sets › a set assigned to "
    "the user › Object Settings › Opportunities › View All), or sign in as an administrator."
)


@dataclass(frozen=True)
class CdcReadiness:
    """``selected``: Opportunity is selected for Change Data Capture; ``may_subscribe``: the user
    sees every opportunity. Each None when Salesforce would not say."""

    selected: bool | None
    may_subscribe: bool | None
    reason: str = ""  # why it could not be read, if it could not

    @property
    def instant(self) -> bool:
        return self.selected is True and self.may_subscribe is not False

    def steps(self) -> list[str]:
        """What the admin does to make triggers instant (empty when nothing is needed or known)."""
        out: list[str] = []
        if self.selected is False:
            out += ENABLE_STEPS
        if self.may_subscribe is False:
            out.append(VIEW_ALL_STEP)
        return out

    def sentence(self) -> str:
        if self.instant:
            return "Change Data Capture is on for Opportunity: a won deal reaches BigSync at once."
        if self.selected is None:
            return (
                "Salesforce would not say whether Change Data Capture is on for Opportunity"
                + (f" ({self.reason})" if self.reason else "")
                + "; BigSync checks on its interval meanwhile."
            )
        if self.selected is False:
            return "Change Data Capture is off for Opportunity, so BigSync checks for won deals on its interval."
        return (
            "Change Data Capture is on for Opportunity, but the connected user cannot see every opportunity, "
            "which its events need."
        )


def timing_words(readiness: CdcReadiness | None, interval: TriggerInterval) -> str:
    """How triggers will arrive, in the words every screen uses (core/trigger_timing.py): "Instant"
    when the org is ready for the change stream, else "Checks every N min"."""
    return TriggerTiming(readiness is not None and readiness.instant, interval).words


def check_cdc(sf: SalesforceClient) -> CdcReadiness:
    """Read both answers; a Tooling API that cannot be read is "unknown", never "off"."""
    try:
        selected: bool | None = cdc_selected(sf, ENTITY)
        reason = ""
    except ConnectorError as exc:
        selected, reason = None, exc.message
    rights = user_rights(sf)
    return CdcReadiness(selected, can_view_all(sf, rights, ENTITY), reason)


DOCTOR_KEY = "salesforce.change_data_capture"
DOCTOR_TITLE = "Change Data Capture is on for Opportunity and the user may receive it (optional: instant triggers)"


def doctor_check(sf: SalesforceClient) -> list[Check]:
    """doctor's check: confirmed when triggers can be instant, different (not needed) with the
    admin's steps when not, not checked when Salesforce would not say."""
    readiness = check_cdc(sf)
    seen = ("PlatformEventChannelMember.SelectedEntity: text",) if readiness.selected is not None else ()
    if readiness.instant:
        return [Check("salesforce", DOCTOR_KEY, DOCTOR_TITLE, CONFIRMED, False, readiness.sentence(), seen)]
    if readiness.selected is None:
        return [Check("salesforce", DOCTOR_KEY, DOCTOR_TITLE, NOT_CHECKED, False, readiness.sentence(), seen)]
    steps = " ".join(f"{n}. {step}" for n, step in enumerate(readiness.steps(), 1))
    return [Check("salesforce", DOCTOR_KEY, DOCTOR_TITLE, DIFFERENT, False, f"{readiness.sentence()} {steps}", seen)]


__all__ = ["ENABLE_STEPS", "VIEW_ALL_STEP", "CdcReadiness", "check_cdc", "doctor_check", "timing_words"]
