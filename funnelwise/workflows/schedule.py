"""Time-driven triggers: cron schedules over a segment, and date properties coming round.

Both run from the worker's periodic tick, one transaction per workflow.

A `schedule` fires at most once per fire time: the time is claimed in `workflow_firings`
(`INSERT … ON CONFLICT DO NOTHING`) before anyone is enrolled, in the same transaction, so of two
workers only the one whose row went in enrolls. Only the latest fire time since the workflow was
activated or changed (or since it last fired) fires: a worker that was down for a week fires a
daily schedule once when it comes back, not seven times.

A `date_property` trigger enrolls a contact on the day their date (plus `offset_days`) comes round
in their own timezone, once it is `at` there, with the key `date:<day>`: once per occurrence. An
occurrence more than a day old, or from before the workflow was activated, enrolls nobody: a
worker that was down for a week does not send last week's birthdays. Contacts the rules refuse
are asked again on later ticks of that day, and enroll if the rules then allow it.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import String, and_, bindparam, func, literal, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert
from funnelwise.db.writes import write_retrying
from funnelwise.segments.models import Segment, SegmentMembership
from funnelwise.workflows.cron import parse_cron
from funnelwise.workflows.definition import DateTrigger, ScheduleTrigger
from funnelwise.workflows.enrollment import Candidate, enroll
from funnelwise.workflows.local_time import contact_zone, local_date
from funnelwise.workflows.models import Enrollment, ScheduleFiring, Workflow
from funnelwise.workflows.versions import RunnableVersion, Versions

CHUNK = 1000
# A date occurrence enrolls for this long after its moment, and no longer.
GRACE = timedelta(days=1)
_COLUMNS = ("created_at", "updated_at")


def fire_due_schedules(sessions: sessionmaker[Session], ctx: Context) -> int:
    """Fires every active time-driven trigger that is due now; the enrollments made."""
    with sessions() as session:
        timed = [
            version
            for version in Versions(session).latest_active()
            if isinstance(version.definition.trigger, ScheduleTrigger | DateTrigger)
        ]
    return sum(write_retrying(sessions, lambda s, v=version: _fire(s, ctx, v)) for version in timed)


def _fire(session: Session, ctx: Context, version: RunnableVersion) -> int:
    workflow = session.get(Workflow, version.workflow_id)
    if workflow is None or workflow.status != "active":
        return 0  # Paused or deleted since the versions were read.
    trigger = version.definition.trigger
    if isinstance(trigger, ScheduleTrigger):
        return fire_schedule(session, ctx, version, trigger, workflow.updated_at)
    assert isinstance(trigger, DateTrigger)
    return fire_dates(session, ctx, version, trigger, workflow.updated_at)


def fire_schedule(
    session: Session, ctx: Context, version: RunnableVersion, trigger: ScheduleTrigger, since: datetime
) -> int:
    """Enrolls the segment's members for the latest fire time not fired yet; the enrollments made."""
    now = ctx.clock.now()
    last = session.scalar(
        select(func.max(ScheduleFiring.fired_at)).where(ScheduleFiring.workflow_id == version.workflow_id)
    )
    after = max(since, last) if last is not None else since
    tz = ctx.settings.tz
    due = parse_cron(trigger.cron).last_fire_time(after, now, tz)
    if due is None:
        return 0
    key = f"schedule:{due.astimezone(tz).isoformat()}"
    firings = ScheduleFiring.__table__
    claim = (
        insert(session, firings)
        .values(workflow_id=version.workflow_id, key=key, fired_at=now, enrolled=0)
        .on_conflict_do_nothing()
        .returning(firings.c.id)
    )
    firing_id = session.scalar(claim)
    if firing_id is None:
        return 0  # Another worker fired it.
    members = session.scalars(
        select(SegmentMembership.contact_id)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(Segment.name == trigger.segment, SegmentMembership.exited_at.is_(None))
        .order_by(SegmentMembership.contact_id)
        .distinct()
    ).all()
    context = {"schedule": trigger.cron, "fired_for": due.isoformat()}
    enrolled = _enroll_chunks(session, ctx, version, [Candidate(c, key, context) for c in members])
    session.execute(update(firings).where(firings.c.id == firing_id).values(enrolled=enrolled))
    return enrolled


def fire_dates(
    session: Session, ctx: Context, version: RunnableVersion, trigger: DateTrigger, since: datetime
) -> int:
    """Enrolls the contacts whose date comes round now in their timezone; the enrollments made."""
    now = ctx.clock.now()
    earliest = max(now - GRACE, since)
    rows = session.execute(
        select(Contact.id, Contact.timezone, _date_value(session, trigger.property)).where(
            _near(session, trigger, now)
        )
    ).all()
    found: dict[int, str] = {}
    for contact_id, zone, value in rows:
        tz = contact_zone(zone, ctx.settings.tz)
        base = local_date(value, tz)
        if base is None:
            continue
        day = occurrence_due(trigger, base, tz, now, earliest)
        if day is not None:
            found[contact_id] = f"date:{day.isoformat()}"
    if not found:
        return 0
    taken = {
        (contact_id, key)
        for contact_id, key in session.execute(
            select(Enrollment.contact_id, Enrollment.trigger_key).where(
                Enrollment.workflow_id == version.workflow_id,
                Enrollment.trigger_key.in_(sorted(set(found.values()))),
            )
        )
    }
    candidates = [
        Candidate(
            contact_id, key, {"date_property": trigger.property, "occurrence": key.removeprefix("date:")}
        )
        for contact_id, key in sorted(found.items())
        if (contact_id, key) not in taken
    ]
    return _enroll_chunks(session, ctx, version, candidates)


def occurrence_due(
    trigger: DateTrigger, base: date, tz: tzinfo, now: datetime, earliest: datetime
) -> date | None:
    """The local day whose occurrence of `base` is due: its moment is in `[earliest, now]`."""
    at = time.fromisoformat(trigger.at)
    today = now.astimezone(tz).date()
    for day in (today, today - timedelta(days=1)):
        if _occurs_on(trigger, base, day):
            moment = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
            if earliest <= moment <= now:
                return day
    return None


def _occurs_on(trigger: DateTrigger, base: date, day: date) -> bool:
    target = day - timedelta(days=trigger.offset_days)
    if not trigger.every_year:
        return target == base
    return target.year >= base.year and anniversary(base, target.year) == target


def anniversary(base: date, year: int) -> date:
    """The day `base` comes round in `year`; 29 February is the 28th in other years."""
    if base.month == 2 and base.day == 29 and not _leap(year):
        return date(year, 2, 28)
    return base.replace(year=year)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _enroll_chunks(
    session: Session, ctx: Context, version: RunnableVersion, candidates: Sequence[Candidate]
) -> int:
    return sum(
        len(enroll(session, ctx, version, candidates[start : start + CHUNK]).enrolled)
        for start in range(0, len(candidates), CHUNK)
    )


def _target_days(trigger: DateTrigger, now: datetime) -> list[date]:
    """Dates the property may hold for a contact whose occurrence is due now, anywhere on Earth.

    Local days run from UTC-12 to UTC+14, an occurrence may be up to a day old, and a date-time
    property's local date may differ from its UTC date by a day: a few days either side.
    """
    today = now.date()
    days = [today + timedelta(days=shift) for shift in range(-3, 3)]
    return [day - timedelta(days=trigger.offset_days) for day in days]


def _near(session: Session, trigger: DateTrigger, now: datetime) -> ColumnElement[bool]:
    """A coarse SQL test for the candidates; the exact one runs per contact in its timezone."""
    targets = _target_days(trigger, now)
    if trigger.property in _COLUMNS:
        column = getattr(Contact, trigger.property)
        if not trigger.every_year:
            low = datetime.combine(min(targets), time(0), tzinfo=UTC)
            high = datetime.combine(max(targets) + timedelta(days=1), time(0), tzinfo=UTC)
            return and_(column >= low, column < high)
        return _month_day_of_column(session, column).in_(_month_days(targets))
    text = _property_text(session, trigger.property)
    if not trigger.every_year:
        return func.substr(text, 1, 10).in_([day.isoformat() for day in targets])
    return func.substr(text, 6, 5).in_(_month_days(targets))


def _month_days(targets: list[date]) -> list[str]:
    found = {day.strftime("%m-%d") for day in targets}
    if "02-28" in found:
        found.add("02-29")  # 29 February comes round on the 28th in other years.
    return sorted(found)


def _month_day_of_column(session: Session, column: Any) -> ColumnElement[str]:
    if dialect_name(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "MM-DD")
    return func.strftime("%m-%d", column)


def _property_text(session: Session, name: str) -> ColumnElement[str]:
    key = literal(name, String)
    if dialect_name(session) == "postgresql":
        return Contact.properties.op("->>", return_type=String)(key)
    path = bindparam(None, f'$."{name}"', type_=String)
    return func.json_extract(Contact.properties, path, type_=String)


def _date_value(session: Session, name: str) -> ColumnElement[Any]:
    if name in _COLUMNS:
        return getattr(Contact, name)
    return _property_text(session, name)


def next_moments(trigger: DateTrigger, zones: set[tzinfo], after: datetime) -> Iterator[datetime]:
    """The next time it is `at` in each of these timezones (the simulation steps to them)."""
    at = time.fromisoformat(trigger.at)
    for tz in zones:
        local = after.astimezone(tz)
        moment = datetime.combine(local.date(), at, tzinfo=tz)
        if moment.astimezone(UTC) <= after:
            moment = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
        yield moment.astimezone(UTC)
