"""Randomized scenarios against the sandbox: the sync contract (docs/design.md) holds after every cycle.

Each seed plays a reproducible story (scenario_stories.py, which benchmarks/reliability_report.py
plays too): stage moves (forward, backward, skipping the trigger, straight to closed-lost), creates,
renames, deletes, restores and account changes, interleaved with cycles and with injected faults
(5xx, 503 + Retry-After, an expired session, a dropped connection after BigTime created the project,
the client or a contact, a dropped write-back). After every cycle the oracle
(engine_fixtures.Oracle) checks: at most one project per opportunity, one for each opportunity a
successful cycle saw at/past the stage, none for the others, no project ever deleted, links
consistent; after the final clean cycle, everything agrees.

Seeds: ``--scenario-seeds`` or ``BIGSYNC_SCENARIO_SEEDS`` — a count ("40"), a list ("3,17") or a
range ("100-199"); default 6 seeds of ``BIGSYNC_SCENARIO_STEPS`` (default 25) steps. A failure
prints the seed and the story so far; rerun it with ``--scenario-seeds=<seed>``.
The ``slow`` test plays 30 more seeds of 80 steps (``pytest -m slow`` or ``BIGSYNC_LONG_RUN=1``).
"""

from __future__ import annotations

import os

import pytest

from engine_fixtures import Connected
from scenario_stories import parse_seeds, play

DEFAULT_SEEDS = 6
DEFAULT_STEPS = 25
LONG_RUN_SEEDS = range(1000, 1030)
LONG_RUN_STEPS = 80


def long_run_wanted(config: pytest.Config) -> bool:
    return "slow" in (config.getoption("markexpr", "") or "") or bool(os.environ.get("BIGSYNC_LONG_RUN"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function.__name__ == "test_random_scenario":
        text = (
            metafunc.config.getoption("scenario_seeds", None)
            or os.environ.get("BIGSYNC_SCENARIO_SEEDS")
            or str(DEFAULT_SEEDS)
        )
        metafunc.parametrize("seed", parse_seeds(text))
    elif metafunc.function.__name__ == "test_long_random_scenario":
        if long_run_wanted(metafunc.config):
            metafunc.parametrize("seed", LONG_RUN_SEEDS)
        else:
            metafunc.parametrize(
                "seed",
                [
                    pytest.param(
                        0,
                        marks=[
                            pytest.mark.slow,
                            pytest.mark.skip(reason="the long run: pytest -m slow (or BIGSYNC_LONG_RUN=1)"),
                        ],
                    )
                ],
            )


def test_random_scenario(connected_engine: Connected, seed: int) -> None:
    steps = int(os.environ.get("BIGSYNC_SCENARIO_STEPS", DEFAULT_STEPS))
    play(connected_engine, seed, steps)


@pytest.mark.slow
def test_long_random_scenario(connected_engine: Connected, seed: int) -> None:
    play(connected_engine, seed, LONG_RUN_STEPS)
