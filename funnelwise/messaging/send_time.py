"""Send-time optimisation: the local hour at which each contact tends to open and click.

A contact's opens and clicks of the last `send_time_lookback_days` are counted by the local hour
(in the contact's timezone, or the default one) they happened in; the hour with the most wins,
a tie going to the hour of the latest event. A contact with fewer than `send_time_min_events`
gets the population's best hour, counted the same way over everyone; with no history at all,
`send_time_default_hour`.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.db.dialect import dialect_name, one_of
from funnelwise.messaging.message import MessageChannel, event_name
from funnelwise.scoring.setwise import whole_seconds
from funnelwise.tracking.models import Event
from funnelwise.workflows.local_time import contact_zone

# Engagement that says "this person reads their messages at this hour". Webhooks reach systems.
ENGAGEMENT_EVENTS = (
    event_name(MessageChannel.EMAIL, "Opened"),
    event_name(MessageChannel.PUSH, "Opened"),
    *(event_name(channel, "Clicked") for channel in MessageChannel if channel != MessageChannel.WEBHOOK),
)
# SQLite binds at most 32,766 values in one statement; a sender batch stays far below.
_IDS_PER_QUERY = 10_000


@dataclass
class _Hours:
    """Engagement counted by local hour, and the latest moment seen in each hour (for ties)."""

    counts: Counter[int] = field(default_factory=Counter)
    latest: dict[int, int] = field(default_factory=dict)

    def add(self, hour: int, bucket: int, events: int) -> None:
        self.counts[hour] += events
        self.latest[hour] = max(self.latest.get(hour, bucket), bucket)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def best(self) -> int | None:
        if not self.counts:
            return None
        return max(self.counts, key=lambda hour: (self.counts[hour], self.latest[hour]))


def best_hours(
    session: Session,
    contact_ids: Sequence[int],
    now: datetime,
    settings: Settings | None = None,
    *,
    population: int | None = None,
) -> dict[int, int]:
    """Each contact's best local hour (0 to 23); always an answer for every id asked about.

    `population` is the fallback hour when the caller already has it (`population_best_hour`),
    so a sender working batch after batch counts everyone's history once, not once a batch.
    """
    settings = settings or _environment_settings()
    ids = list(dict.fromkeys(contact_ids))
    found: dict[int, _Hours] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        rows = session.execute(
            _engagement(session, now, settings, Event.contact_id, Contact.timezone).where(
                one_of(session, Event.contact_id, chunk)
            )
        )
        for contact_id, timezone, bucket, events in rows:
            hours = found.setdefault(contact_id, _Hours())
            hours.add(_local_hour(bucket, contact_zone(timezone, settings.tz)), bucket, events)
    answer: dict[int, int] = {}
    for contact_id in ids:
        hours = found.get(contact_id)
        best = hours.best() if hours is not None and hours.total >= settings.send_time_min_events else None
        if best is not None:
            answer[contact_id] = best
            continue
        if population is None:
            population = population_best_hour(session, now, settings)
        answer[contact_id] = population
    return answer


def population_best_hour(session: Session, now: datetime, settings: Settings) -> int:
    """The local hour at which everyone together opens and clicks most; the default hour without any."""
    hours = _Hours()
    rows = session.execute(_engagement(session, now, settings, Contact.timezone))
    for timezone, bucket, events in rows:
        hours.add(_local_hour(bucket, contact_zone(timezone, settings.tz)), bucket, events)
    best = hours.best()
    return settings.send_time_default_hour if best is None else best


def next_best_time(now: datetime, tz: tzinfo, hour: int) -> datetime:
    """The next moment from `now` that falls in `hour` local time: `now` itself within that hour."""
    local = now.astimezone(tz)
    if local.hour == hour:
        return now
    day = local.date()
    for _ in range(3):
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
        # Round trip through UTC: an hour a DST change skips lands on the first real moment after.
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("a local hour recurs within three days")  # pragma: no cover


def _engagement(session: Session, now: datetime, settings: Settings, *keys: Any) -> Select[Any]:
    """Engagement events of the window, counted by `keys` and the UTC hour they fell in."""
    bucket = _utc_hour(session, Event.occurred_at).label("bucket")
    since = now - timedelta(days=settings.send_time_lookback_days)
    return (
        select(*keys, bucket, func.count().label("events"))
        .select_from(Event)
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.name.in_(ENGAGEMENT_EVENTS), Event.occurred_at >= since, Event.occurred_at <= now)
        .group_by(*keys, bucket)
    )


def _utc_hour(session: Session, moment: ColumnElement[datetime]) -> ColumnElement[int]:
    """Whole hours since 1970-01-01 UTC: a bucket that converts to any timezone exactly."""
    return whole_seconds(moment, dialect_name(session)) // 3600


def _local_hour(bucket: int, tz: tzinfo) -> int:
    return datetime.fromtimestamp(int(bucket) * 3600, UTC).astimezone(tz).hour


@cache
def _environment_settings() -> Settings:
    """The settings of the environment, for callers that do not pass theirs."""
    return Settings()
