"""The engine's randomized stories (test_engine_scenarios.py plays them under pytest,
benchmarks/reliability_report.py plays many more): a seed gives a reproducible world of stage
moves, creates, renames, deletes, restores and account changes, interleaved with cycles and with
injected faults, and the oracle (engine_fixtures.Oracle) checks the contract after every cycle.
"""

from __future__ import annotations

import random
from typing import Any

from engine_fixtures import TRIGGER, Connected, ContractBroken, Oracle, Violation, admin, run

TRIGGERS = (TRIGGER, TRIGGER, "Negotiation/Review", "Proposal/Price Quote")

# (system, fault spec): each applies to the next matching request(s) only.
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("salesforce", {"kind": "status", "status": 500, "path": "/query", "count": 1}),  # retried: the cycle goes on
    ("salesforce", {"kind": "status", "status": 503, "path": "/query", "count": 5}),  # retries exhausted
    ("salesforce", {"kind": "status", "status": 503, "retry_after": 120, "path": "/services/data/"}),
    (
        "salesforce",
        {"kind": "status", "status": 503, "retry_after": 120, "method": "PATCH", "path": "/composite/sobjects"},
    ),
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


class Story:
    """One seed's random world changes, faults and cycles."""

    def __init__(self, env: Connected, rng: random.Random, oracle: Oracle) -> None:
        self.env, self.rng, self.oracle = env, rng, oracle
        self.stages = [s["ApiName"] for s in oracle.stages().values() if s["IsActive"]]
        self.lost = next(name for name, s in oracle.stages().items() if s["IsClosed"] and not s["IsWon"])
        self.trigger_index = self.stages.index(oracle.trigger)
        self.created = 0
        self.cycles = 0
        self.faults = 0
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
            [
                "forward",
                "backward",
                "to_trigger",
                "skip_to_lost",
                "create",
                "rename",
                "delete",
                "restore",
                "account",
                "account_rename",
                "roles",
            ],
            weights=[14, 8, 10, 5, 8, 3, 5, 4, 4, 2, 3],
        )[0]
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
            oid = env.new_opp(
                f"Scenario {self.created} “{rng.choice(['Alpha', 'Beta', 'Gamma'])}”",
                stage,
                account,
                Amount=rng.choice([None, 12000, 99999.5]),
            )
            if rng.random() < 0.7:
                env.add_role(
                    oid, "Pat", f"Lee{self.created}", f"pat{self.created}@example.com", primary=True, account=account
                )
            self.log.append(f"create {oid} at {stage}")
            return
        opp = self.pick()
        oid, current = opp["Id"], self.stages.index(opp["StageName"]) if opp["StageName"] in self.stages else 0
        if action == "forward" and current < len(self.stages) - 1:
            stage = rng.choice(self.stages[current + 1 :])
        elif action == "backward" and current > 0:
            stage = rng.choice(self.stages[:current])
        elif action == "to_trigger":
            stage = rng.choice(self.stages[self.trigger_index :])
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
            admin(self.env.sandbox.salesforce_admin_url, "POST", "/tokens/expire", {})
        else:
            self.env.fault(system, **spec)
        self.faults += 1
        self.log.append(f"fault {system} {spec}")

    def cycle(self) -> None:
        report = run(self.env, self.oracle)
        self.cycles += 1
        self.log.append(
            f"cycle → {report.result} {report.error} created={report.created} severed={report.severed} "
            f"restored={report.restored}"
        )
        if report.error == "CreateInDoubt":  # the loop waits as long as it is asked before the next cycle
            self.env.advance(seconds=report.retry_after)
            self.log.append(f"waited {report.retry_after:.1f} s for a create in doubt")

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
        self.env.let_answers_land()  # a create left in doubt by the last fault has landed or never will
        self.oracle.before_cycle()
        final = self.env.cycle()
        self.cycles += 1
        self.oracle.after_cycle(final)
        self.log.append(f"final cycle → {final.result} {final.error} {final.message}")
        if final.result != "ok":
            raise ContractBroken([Violation("other", 1, f"the final clean cycle did not succeed: {final.message}")])
        self.oracle.check(final=True)


def play(env: Connected, seed: int, steps: int) -> Story:
    """Seed ``seed``'s story of ``steps`` steps; on a broken contract, the ContractBroken names the
    seed and the last steps. Returns the story played (its counts)."""
    rng = random.Random(seed)
    trigger, backfill = rng.choice(TRIGGERS), rng.random() < 0.25
    if trigger != TRIGGER or backfill:
        env.configure(trigger, backfill=backfill)
    oracle = Oracle(env, trigger=trigger, backfill=backfill)
    story = Story(env, rng, oracle)
    try:
        story.play(steps)
    except ContractBroken as exc:
        story_text = "\n  ".join(story.log[-40:])
        where = f"seed {seed} (trigger {trigger!r}, backfill={backfill})"
        raise ContractBroken(
            [Violation(v.kind, v.count, f"{where}: {v.message}") for v in exc.violations]
            + [Violation("other", 0, f"last steps:\n  {story_text}")]
        ) from None
    return story
