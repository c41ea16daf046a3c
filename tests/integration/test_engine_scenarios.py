"""Randomized scenarios against the sandbox: the sync contract (DESIGN §2) holds after every cycle.

Each seed plays a reproducible story: stage moves (forward, backward, skipping the trigger,
straight to closed-lost), creates, renames, deletes, restores and account changes, interleaved
with cycles and with injected faults (5xx, 503 + Retry-After, an expired session, a dropped
connection after BigTime created the project, the client or a contact, a dropped write-back).
After every cycle the oracle (engine_fixtures.Oracle) checks: at most one project per
opportunity, one for each opportunity a successful cycle saw at/past the stage, none for the
others, no project ever deleted, links consistent; after the final clean cycle, everything agrees.

Seeds: ``--scenario-seeds`` or ``BIGSYNC_SCENARIO_SEEDS`` — a count ("40"), a list ("3,17") or a
range ("100-199"); default 6 seeds of ``BIGSYNC_SCENARIO_STEPS`` (default 25) steps. A failure
prints the seed and the story so far; rerun it with ``--scenario-seeds=<seed>``.
The ``slow`` test plays 30 more seeds of 80 steps (``pytest -m slow`` or ``BIGSYNC_LONG_RUN=1``).
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from engine_fixtures import TRIGGER, Connected, Oracle, run

DEFAULT_SEEDS = 6
DEFAULT_STEPS = 25
LONG_RUN_SEEDS = range(1000, 1030)
LONG_RUN_STEPS = 80
TRIGGERS = (TRIGGER, TRIGGER, "Negotiation/Review", "Proposal/Price Quote")

# (system, fault spec): each applies to the next matching request(s) only.
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("salesforce", {"kind": "status", "status": 500, "path": "/query", "count": 1}),  # retried: the cycle goes on
    ("salesforce", {"kind": "status", "status": 503, "path": "/query", "count": 5}),  # retries exhausted
    ("salesforce", {"kind": "status", "status": 503, "retry_after": 120, "path": "/services/data/"}),
    ("salesforce", {"kind": "status", "status": 503, "retry_after": 120, "method": "PATCH", "path": "/composite/sobjects"}),
    ("salesforce", {"kind": "drop", "method": "PATCH", "path": "/composite/sobjects"}),
    ("salesforce", {"kind": "expire"}),  # every session ends: the next call refreshes
    ("bigtime", {"kind": "status", "status": 500, "method": "POST", "path": "/project/detail$"}),
    ("bigtime", {"kind": "status", "status": 503, "retry_after": 120, "path": "/project"}),
    ("bigtime", {"kind": "html", "status": 502, "method": "GET", "path": "/project$", "count": 5}),
    ("bigtime", {"kind": "drop", "method": "POST", "path": "/project/detail$"}),  # created, answer lost
    ("bigtime", {"kind": "drop", "method": "POST", "path": "/project/detail$", "count": 3}),
    ("bigtime", {"kind": "drop", "method": "POST", "path": "/client/detail$"}),
    ("bigtime", {"kind": "drop", "method": "POST", "path": "/project/contact"}),
    ("bigtime", {"kind": "status", "status": 400, "method": "POST", "path": "/project/contact"}),  # one contact refused
    ("bigtime", {"kind": "status", "status": 401, "path": "/project"}),
]

CLIENT_NAME_VARIANTS = ("  globex corporation ", "INITECH", "Stark  Industries", "Brand-new Account Ltd")


def parse_seeds(text: str) -> list[int]:
    text = text.strip()
    if "-" in text and "," not in text:
        first, last = (int(x) for x in text.split("-"))
        return list(range(first, last + 1))
    if "," in text:
        return [int(x) for x in text.split(",") if x.strip()]
    return list(range(int(text)))


def long_run_wanted(config: pytest.Config) -> bool:
    return "slow" in (config.getoption("markexpr", "") or "") or bool(os.environ.get("BIGSYNC_LONG_RUN"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function.__name__ == "test_random_scenario":
        text = metafunc.config.getoption("scenario_seeds", None) or os.environ.get("BIGSYNC_SCENARIO_SEEDS") or str(DEFAULT_SEEDS)
        metafunc.parametrize("seed", parse_seeds(text))
    elif metafunc.function.__name__ == "test_long_random_scenario":
        if long_run_wanted(metafunc.config):
            metafunc.parametrize("seed", LONG_RUN_SEEDS)
        else:
            metafunc.parametrize("seed", [pytest.param(0, marks=[pytest.mark.slow, pytest.mark.skip(
                reason="the long run: pytest -m slow (or BIGSYNC_LONG_RUN=1)")])])


class Story:
    """One seed's random world changes, faults and cycles."""

    def __init__(self, env: Connected, rng: random.Random, oracle: Oracle) -> None:
        self.env, self.rng, self.oracle = env, rng, oracle
        self.stages = [s["ApiName"] for s in oracle.stages().values() if s["IsActive"]]
        self.lost = next(name for name, s in oracle.stages().items() if s["IsClosed"] and not s["IsWon"])
        self.trigger_index = self.stages.index(oracle.trigger)
        self.created = 0
        self.log: list[str] = []

    # ---- world changes ---------------------------------------------------------------------------
    def live(self) -> list[dict[str, Any]]:
        return self.env.opps()

    def pick(self) -> dict[str, Any]:
        # Most moves touch a small working set, so the same opportunities go up and down repeatedly.
        opps = self.live()
        focus = [o for o in opps if o["Name"].startswith("Scenario ")]
        return self.rng.choice(focus if focus and self.rng.random() < 0.6 else opps)

    def change(self) -> None:
        env, rng = self.env, self.rng
        action = rng.choices(
            ["forward", "backward", "to_trigger", "skip_to_lost", "create", "rename", "delete", "restore",
             "account", "account_rename", "roles"],
            weights=[14, 8, 10, 5, 8, 3, 5, 4, 4, 2, 3])[0]
        if action == "restore":
            deleted = [o for o in env.opps(deleted=True) if o.get("IsDeleted")]
            if deleted:
                opp = rng.choice(deleted)
                env.restore(opp["Id"])
                self.log.append(f"restore {opp['Id']} ({opp['StageName']})")
                return
            action = "delete"
        if action == "create":
            self.created += 1
            account = rng.choice(env.accounts())["Id"]
            stage = rng.choice(self.stages + [self.oracle.trigger] * 2)
            oid = env.new_opp(f"Scenario {self.created} “{rng.choice(['Alpha', 'Beta', 'Gamma'])}”", stage, account,
                              Amount=rng.choice([None, 12000, 99999.5]))
            if rng.random() < 0.7:
                env.add_role(oid, "Pat", f"Lee{self.created}", f"pat{self.created}@example.com", primary=True, account=account)
            self.log.append(f"create {oid} at {stage}")
            return
        opp = self.pick()
        oid, current = opp["Id"], self.stages.index(opp["StageName"]) if opp["StageName"] in self.stages else 0
        if action == "forward" and current < len(self.stages) - 1:
            stage = rng.choice(self.stages[current + 1:])
        elif action == "backward" and current > 0:
            stage = rng.choice(self.stages[:current])
        elif action == "to_trigger":
            stage = rng.choice(self.stages[self.trigger_index:])
        elif action == "skip_to_lost":
            stage = self.lost
        elif action == "rename":
            env.update("Opportunity", oid, {"Name": f"{opp['Name'][:60]} (renamed {rng.randint(1, 99)})"})
            self.log.append(f"rename {oid}")
            return
        elif action == "delete":
            env.delete(oid)
            self.log.append(f"delete {oid} ({opp['StageName']})")
            return
        elif action == "account":
            account = rng.choice(env.accounts())["Id"]
            env.update("Opportunity", oid, {"AccountId": account})
            self.log.append(f"account {oid} → {account}")
            return
        elif action == "account_rename":
            account = rng.choice(env.accounts())
            env.update("Account", account["Id"], {"Name": rng.choice(CLIENT_NAME_VARIANTS)})
            self.log.append(f"rename account {account['Id']}")
            return
        elif action == "roles":
            self.created += 1
            env.add_role(oid, "Sam", f"Ng{self.created}", f"sam{self.created}@example.com", primary=rng.random() < 0.3)
            self.log.append(f"role on {oid}")
            return
        else:
            stage = rng.choice(self.stages)
        env.move(oid, stage)
        self.log.append(f"move {oid} {opp['StageName']} → {stage}")

    def fault(self) -> None:
        system, spec = self.rng.choice(FAULTS)
        if spec["kind"] == "expire":
            from engine_fixtures import admin

            admin(self.env.sandbox.salesforce_admin_url, "POST", "/tokens/expire", {})
        else:
            self.env.fault(system, **spec)
        self.log.append(f"fault {system} {spec}")

    def cycle(self) -> None:
        report = run(self.env, self.oracle)
        self.log.append(f"cycle → {report.result} {report.error} created={report.created} severed={report.severed} "
                        f"restored={report.restored}")

    # ---- the story ---------------------------------------------------------------------------
    def play(self, steps: int) -> None:
        for _ in range(steps):
            for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
                self.change()
            if self.rng.random() < 0.35:
                self.fault()
            self.cycle()
            self.env.clear_faults()
        self.env.clear_faults()
        self.oracle.before_cycle()
        final = self.env.cycle()
        self.oracle.after_cycle(final)
        self.log.append(f"final cycle → {final.result} {final.error} {final.message}")
        assert final.result == "ok", final.message
        self.oracle.check(final=True)


def play(env: Connected, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    trigger, backfill = rng.choice(TRIGGERS), rng.random() < 0.25
    if trigger != TRIGGER or backfill:
        env.configure(trigger, backfill=backfill)
    oracle = Oracle(env, trigger=trigger, backfill=backfill)
    story = Story(env, rng, oracle)
    try:
        story.play(steps)
    except AssertionError as exc:
        story_text = "\n  ".join(story.log[-40:])
        raise AssertionError(f"seed {seed} (trigger {trigger!r}, backfill={backfill}): {exc}\nlast steps:\n  {story_text}") from None


def test_random_scenario(connected_engine: Connected, seed: int) -> None:
    steps = int(os.environ.get("BIGSYNC_SCENARIO_STEPS", DEFAULT_STEPS))
    play(connected_engine, seed, steps)


@pytest.mark.slow
def test_long_random_scenario(connected_engine: Connected, seed: int) -> None:
    play(connected_engine, seed, LONG_RUN_STEPS)
