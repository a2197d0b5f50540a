"""The clock services ask for the time: the real one, and the one tests and demos drive."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from funnelwise.clock import Clock, SimulatedClock, SystemClock

SEOUL = ZoneInfo("Asia/Seoul")


def test_the_system_clock_tells_the_current_time_in_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)

    assert now.tzinfo is UTC
    assert before <= now <= after


def test_both_clocks_are_clocks() -> None:
    clocks: list[Clock] = [SystemClock(), SimulatedClock()]
    assert all(clock.now().tzinfo is UTC for clock in clocks)


def test_a_simulated_clock_starts_on_new_year_2026_by_default() -> None:
    assert SimulatedClock().now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_simulated_clock_stands_still_until_told() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, 9, 0, tzinfo=SEOUL))

    assert clock.now() == clock.now() == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_advancing_moves_the_clock_forward_and_returns_the_new_time() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))

    assert clock.advance(timedelta(days=1, hours=2)) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert clock.advance(timedelta(0)) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert clock.now() == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_the_clock_cannot_be_advanced_backwards() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))

    with pytest.raises(ValueError, match=r"^time does not run backwards; use set\(\) to jump$"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == datetime(2026, 3, 1, tzinfo=UTC)


def test_setting_jumps_anywhere_and_stores_utc() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))

    clock.set(datetime(2025, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))))

    assert clock.now() == datetime(2026, 1, 1, 4, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^SimulatedClock needs a timezone-aware start time$"):
        SimulatedClock(datetime(2026, 3, 1))
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"^SimulatedClock.set needs a timezone-aware time$"):
        clock.set(datetime(2026, 4, 1))
    assert clock.now() == datetime(2026, 3, 1, tzinfo=UTC)
