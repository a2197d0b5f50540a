"""The night-time rule: advertising by SMS, Kakao or push waits from 21:00 until 08:00 local time."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from funnelwise.messaging.compliance import night_hold_until

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("local", "held_until"),
    [
        ((20, 59), None),
        ((21, 0), datetime(2026, 11, 23, 8, 0)),
        ((23, 30), datetime(2026, 11, 23, 8, 0)),
        ((0, 0), datetime(2026, 11, 22, 8, 0)),
        ((7, 59), datetime(2026, 11, 22, 8, 0)),
        ((8, 0), None),
    ],
)
@pytest.mark.parametrize("zone", [SEOUL, NEW_YORK], ids=["Asia/Seoul", "America/New_York"])
def test_a_message_at_night_waits_until_eight_where_the_recipient_lives(
    zone: ZoneInfo, local: tuple[int, int], held_until: datetime | None
) -> None:
    now = datetime(2026, 11, 22, *local, tzinfo=zone).astimezone(UTC)

    until = night_hold_until(now, zone)

    expected = None if held_until is None else held_until.replace(tzinfo=zone).astimezone(UTC)
    assert until == expected
    assert until is None or until.tzinfo is UTC


def test_the_hold_ends_at_eight_local_time_on_the_morning_clocks_change() -> None:
    # New York leaves daylight saving time at 02:00 on 1 November 2026: 08:00 is then 13:00 UTC.
    now = datetime(2026, 10, 31, 22, 0, tzinfo=NEW_YORK).astimezone(UTC)

    assert night_hold_until(now, NEW_YORK) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
