"""Seed data for both emulators, each from its own deterministic random source."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .bigtime.seed import seed_bigtime
from .salesforce.seed import seed_salesforce

if TYPE_CHECKING:
    from .bigtime.data import BigTimeData
    from .salesforce.data import SalesforceData


def seed_world(salesforce: SalesforceData, bigtime: BigTimeData) -> None:
    seed_salesforce(salesforce, random.Random(20261127))
    seed_bigtime(bigtime, random.Random(20261126))
