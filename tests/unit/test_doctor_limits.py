"""doctor's client-limits check (core/doctor_limits.py): lengths against BigTime's limits, in words."""

from __future__ import annotations

from bigsync_gui.connectors.bigtime import Client
from bigsync_gui.core.doctor import CONFIRMED, DIFFERENT, NOT_CHECKED, Check
from bigsync_gui.core.doctor_limits import CODE_KEY, NAME_KEY, check_client_limits


def by_key(clients: list[Client]) -> dict[str, Check]:
    return {c.key: c for c in check_client_limits(clients)}


def test_clients_within_the_limits_are_confirmed_with_their_longest_lengths() -> None:
    checks = by_key(
        [Client(id=1, name="Vandelay Industries", code="VANDELAY"), Client(id=2, name="x" * 50, code="S6E37GU842THLHN")]
    )
    code, name = checks[CODE_KEY], checks[NAME_KEY]
    assert (code.status, name.status) == (CONFIRMED, CONFIRMED)
    assert code.seen == ("Client code: longest 15 characters, limit 15",)
    assert name.seen == ("Client name: longest 50 characters, limit 50",)


def test_longer_ones_are_named_with_what_they_mean_and_never_their_values() -> None:
    legacy = "SF-001Kx000000000BIAQ"
    checks = by_key(
        [
            Client(id=1, name="Globex Corporation International Holdings of North America", code=legacy),
            Client(id=2, name="🚀" * 26, code="A-VERY-LONG-CODE-1"),
        ]
    )
    code, name = checks[CODE_KEY], checks[NAME_KEY]
    assert code.status == DIFFERENT and not code.needed
    assert code.note.startswith(
        "2 clients have a client code longer than 15 characters (the longest: 21), so this "
        "BigTime keeps more than its help says."
    )
    assert "1 of them look made by an earlier BigSync" in code.note
    assert name.status == DIFFERENT and "(the longest: 58)" in name.note
    assert name.note.startswith("2 clients have")  # 26 emoji are 52 UTF-16 units: over too
    for check in (code, name):
        text = check.note + " ".join(check.seen)
        assert legacy not in text and "Globex" not in text


def test_no_clients_is_not_checked() -> None:
    assert {c.status for c in check_client_limits([])} == {NOT_CHECKED}
