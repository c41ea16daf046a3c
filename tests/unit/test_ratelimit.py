"""The client-side limiter: a rolling window, shared per firm, safe across threads."""

from __future__ import annotations

import threading

import pytest

from bigsync_gui.connectors.ratelimit import RateLimiter, limiter_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_then_the_oldest_send_plus_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock)
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve() == 10.0  # the fourth waits for the first to leave the window
    assert limiter.reserve() == 10.0
    clock.now += 4
    assert limiter.reserve() == 6.0  # slot at 1010 (the third send + 10 s)
    assert limiter.reserve() == 16.0  # the fourth's reserved slot + 10 s


def test_the_window_rolls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock)
    limiter.reserve()
    clock.now += 6
    limiter.reserve()
    clock.now += 5  # the first left the window, the second not
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(5.0)


def test_hold_stops_everyone_for_its_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock)
    limiter.hold(60.0)
    assert limiter.reserve() == 60.0
    clock.now += 61
    assert limiter.reserve() == 0.0


def test_one_limiter_per_firm_and_reconfigured_in_place(monkeypatch) -> None:
    a = limiter_for("http://127.0.0.1:1/api/v2/", "firm-a", 25)
    assert limiter_for("http://127.0.0.1:1/API/v2", "firm-a", 25) is a
    assert limiter_for("http://127.0.0.1:1/api/v2", "firm-b", 25) is not a
    assert limiter_for("http://127.0.0.1:2/api/v2", "firm-a", 25) is not a
    assert limiter_for("http://127.0.0.1:1/api/v2", "firm-a", 10, 0.5) is a
    assert (a.requests, a.window) == (10, 0.5)
    with pytest.raises(ValueError):
        RateLimiter(0, 60.0)


def test_threads_never_exceed_the_limit_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 10.0, clock)
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(20):
            start = clock.now + limiter.reserve()
            with lock:
                slots.append(start)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    assert len(slots) == 160
    for i in range(len(slots) - 5):
        assert slots[i + 5] - slots[i] >= 10.0  # any 6 sends span at least one window
