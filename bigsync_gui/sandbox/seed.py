"""Seed data for both emulators, each from its own deterministic random source."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .bigtime.seed import seed_bigtime
from .salesforce.seed import seed_salesforce

if TYPE_CHECKING:
    from .world import World


def seed_world(world: World) -> None:
    seed_salesforce(world.salesforce, random.Random(20261127))
    seed_bigtime(world.bigtime, random.Random(20261126))
