"""claims._settle: a claim conditioned on a stamp is sent only once Salesforce's clock has left that
stamp's second (If-Unmodified-Since has whole seconds, so a claim in the same second would let a
second installation's claim, conditioned on the same stamp, pass too)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from bigsync_gui.core.claims import _settle
from bigsync_gui.core.cycle import wait_on

S = datetime(2026, 3, 24, 9, 0, 5, tzinfo=timezone.utc)


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        return False


def cycle(server: datetime) -> SimpleNamespace:
    return SimpleNamespace(sf=SimpleNamespace(server_time=server), cancel=Waits(), wait=wait_on, settled_second=None)


def test_a_stamp_in_the_second_of_the_last_answer_waits() -> None:
    c = cycle(S + timedelta(milliseconds=400))
    _settle(c, S + timedelta(milliseconds=100))
    assert c.cancel.seconds == [1.0]


def test_an_older_stamp_does_not_wait() -> None:
    c = cycle(S + timedelta(milliseconds=400))
    _settle(c, S - timedelta(seconds=3))
    assert c.cancel.seconds == []


def test_no_wait_for_an_older_stamp_does_not_settle_the_current_second() -> None:
    """The answer said S: the clock has left every second before S, not S itself. A record stamped in
    S (another installation's write, read later in the cycle) must still wait."""
    c = cycle(S + timedelta(milliseconds=400))
    _settle(c, S - timedelta(seconds=3))  # no wait: settled up to S - 1 only
    _settle(c, S + timedelta(milliseconds=700))
    assert c.cancel.seconds == [1.0]


def test_after_a_wait_the_same_second_is_settled() -> None:
    c = cycle(S + timedelta(milliseconds=400))
    _settle(c, S)
    _settle(c, S + timedelta(milliseconds=900))  # waited once already: the clock has left S
    assert c.cancel.seconds == [1.0]


class Composite:
    """A Salesforce client's conditional updates: every one written; what each request carried."""

    def __init__(self, server: datetime) -> None:
        self.server_time = server
        self.requests: list[int] = []

    def update_many_if_unmodified_with(self, updates: list, sobject: str, rider: list) -> tuple[list[bool], None]:
        self.requests += [min(25, len(updates) - start) for start in range(0, len(updates), 25)]
        return [True] * len(updates), None


def test_a_batch_of_claims_on_rows_of_the_answer_s_second_waits_once(tmp_path) -> None:
    """One settle per batch: 24 opportunities all changed in the second of the last answer cost one
    wait, not 24; and one request carries their claims."""
    from bigsync_gui.core.claims import claim_many
    from bigsync_gui.core.store import Store

    store = Store(tmp_path / "state.db")
    try:
        c = SimpleNamespace(
            sf=Composite(S + timedelta(milliseconds=400)),
            cancel=Waits(),
            wait=wait_on,
            settled_second=None,
            store=store,
            claims_ahead={},
            account_claims_ahead={},
            id=None,
            now=lambda: S + timedelta(milliseconds=400),
        )
        stamps = [(S + timedelta(milliseconds=i)).isoformat() for i in range(24)]
        records = [
            ({"Id": f"006{i:015d}", "Name": f"Win {i}", "LastModifiedDate": stamp}, f"SF-{i}")
            for i, stamp in enumerate(stamps)
        ]
        claim_many(c, records, "BigTime_Project_Id__c")  # type: ignore[arg-type]
        assert c.cancel.seconds == [1.0] and c.sf.requests == [24]
        assert all(c.claims_ahead[r["Id"]]["_claimed"] for r, _ in records)
        assert len({c.claims_ahead[r["Id"]]["BigTime_Project_Id__c"] for r, _ in records}) == 1
    finally:
        store.close()
