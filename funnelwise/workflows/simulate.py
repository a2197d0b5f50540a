"""Dry runs: a workflow driven on a simulated clock against a throwaway SQLite database.

The definition, the contacts and their events go into a fresh database in a temporary directory;
the clock then jumps from one moment something can happen to the next (an event, an enrollment
falling due, a schedule's fire time, a date trigger's time of day) and the real reactions,
triggers and engine run at each, so weeks of a journey take a fraction of a second. What each
contact went through is read back from the path rows and the outbox.
"""

import csv
import io
import json
import re
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import create_definition
from funnelwise.contacts.schemas import ContactIn, EnumOptionIn, PropertyDefinitionIn
from funnelwise.contacts.service import create_contact
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade
from funnelwise.errors import InvalidInput
from funnelwise.messaging.consent import Channel, ConsentGrant, grant_consent
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.reactions.models import DueContact
from funnelwise.reactions.run import react_all
from funnelwise.tracking.log import record_event
from funnelwise.workflows.cron import parse_cron
from funnelwise.workflows.definition import DateTrigger, ManualTrigger, ScheduleTrigger, read_definition
from funnelwise.workflows.durations import DurationError, parse_duration
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.schedule import fire_due_schedules, next_moments
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, resume_workflow

# Rounds of reactions and engine runs at one moment: a step's changes can set off reactions
# that wake other enrollments; past this many the moment is left as it stands.
_SETTLE_ROUNDS = 10
_NO_TIME = re.compile(r"(?:0+[wdhms])+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_CONTACT_FIELDS = frozenset(ContactIn.model_fields)
# The events to log: (time, contact id, name, properties), in time order.
Timeline = list[tuple[datetime, int, str, dict[str, Any]]]


class StepOut(BaseModel):
    step_id: str
    type: str
    outcome: str
    entered_at: datetime
    left_at: datetime


class MessageOut(BaseModel):
    at: datetime
    channel: str
    template: str
    step_id: str | None


class JourneyOut(BaseModel):
    """One enrollment: how it began, the steps it took, the messages it queued and how it ended."""

    trigger_key: str
    enrolled_at: datetime
    status: str
    reason: str | None
    finished_at: datetime | None
    step_id: str
    due_at: datetime | None
    steps: list[StepOut]
    messages: list[MessageOut]


class ContactPathOut(BaseModel):
    index: int
    email: str | None
    status: str
    reason: str | None
    journeys: list[JourneyOut]


class SimulationOut(BaseModel):
    workflow: str
    start: datetime
    end: datetime
    timezone: str
    warnings: list[str]
    contacts: list[ContactPathOut]


def simulate(
    definition: dict[str, Any],
    contacts: list[dict[str, Any]],
    events: list[dict[str, Any]],
    start: datetime,
    days: int = 30,
    *,
    timezone: str | None = None,
) -> SimulationOut:
    """Runs the workflow for `days` from `start` for these contacts and events; what each went through.

    A contact is a mapping of contact fields with optional `properties`, `timezone` and `consents`
    (channels granted). An event is `{"contact": <index from 0 or email>, "event", "properties",
    "at"}` with `at` an ISO time or an offset from `start` such as `+2h` or `+3d`.
    """
    if start.tzinfo is None:
        raise InvalidInput.single("start", "the start needs a timezone, such as 2026-11-22T10:00:00+09:00")
    if days < 1:
        raise InvalidInput.single("days", "a simulation runs for at least 1 day")
    with tempfile.TemporaryDirectory(prefix="funnelwise-simulation-") as directory:
        settings = Settings(
            database_url=f"sqlite:///{Path(directory) / 'simulation.db'}",
            secret_key=secrets.token_urlsafe(32),
            _env_file=None,
            **({"timezone": timezone} if timezone else {}),
        )
        engine = make_engine(settings)
        try:
            upgrade(engine)
            run = _Simulation(
                make_sessionmaker(engine), Context(settings, SimulatedClock(start)), start, days
            )
            return run.go(definition, contacts, events)
        finally:
            engine.dispose()


class _Simulation:
    def __init__(self, sessions: sessionmaker[Session], ctx: Context, start: datetime, days: int) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.clock = ctx.clock
        assert isinstance(self.clock, SimulatedClock)
        self.start = start.astimezone(UTC)
        self.end = self.start + timedelta(days=days)

    def go(
        self, definition: dict[str, Any], contacts: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> SimulationOut:
        with self.sessions.begin() as session:
            ids, emails = self._create_contacts(session, contacts)
            saved = apply_workflow(session, self.ctx, definition, allow_unknown=True)
            workflow = resume_workflow(session, self.ctx, saved.workflow.id)
        timeline = _read_events(events, ids, emails, self.start)
        trigger = read_definition(definition).trigger
        if isinstance(trigger, ManualTrigger):
            with self.sessions.begin() as session:
                enroll_contacts(session, self.ctx, workflow.id, EnrollIn(contact_ids=ids, key="simulation"))
        zones = self._zones(contacts)
        moment: datetime | None = self.start
        while moment is not None and moment <= self.end:
            self.clock.set(moment)
            while timeline and timeline[0][0] <= moment:
                _at, contact_id, name, properties = timeline.pop(0)
                with self.sessions.begin() as session:
                    record_event(session, self.ctx, contact_id, name, properties)
            self._settle(timed=isinstance(trigger, ScheduleTrigger | DateTrigger))
            moment = self._next(moment, timeline, trigger, zones)
        self.clock.set(self.end)
        return SimulationOut(
            workflow=workflow.name,
            start=self.start,
            end=self.end,
            timezone=self.ctx.settings.timezone,
            warnings=[f"{w.path}: {w.message}" for w in saved.warnings],
            contacts=self._paths(workflow.id, ids, contacts),
        )

    def _create_contacts(
        self, session: Session, contacts: list[dict[str, Any]]
    ) -> tuple[list[int], list[str]]:
        _define_properties(session, self.ctx, contacts)
        ids: list[int] = []
        emails: list[str] = []
        for index, data in enumerate(contacts):
            fields = {k: v for k, v in data.items() if k != "consents"}
            unknown = sorted(set(fields) - _CONTACT_FIELDS)
            if unknown:
                raise InvalidInput.single(f"contacts[{index}]", f"unknown contact field {unknown[0]!r}")
            try:
                contact = create_contact(session, self.ctx, ContactIn(**fields))
            except ValidationError as exc:
                raise InvalidInput.single(f"contacts[{index}]", _first_error(exc)) from None
            for channel in data.get("consents") or []:
                if channel not in set(Channel):
                    raise InvalidInput.single(
                        f"contacts[{index}].consents",
                        f"unknown channel {channel!r}; expected one of {list(Channel)}",
                    )
                grant = ConsentGrant(Channel(channel), "marketing", "simulated", "v1", "simulation", None)
                grant_consent(session, self.ctx, contact.id, grant)
            ids.append(contact.id)
            emails.append((contact.email or "").lower())
        return ids, emails

    def _zones(self, contacts: list[dict[str, Any]]) -> set[Any]:
        zones: set[Any] = {self.ctx.settings.tz}
        for data in contacts:
            if not data.get("timezone"):
                continue
            try:
                zones.add(ZoneInfo(data["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                continue  # create_contact refused it already.
        return zones

    def _settle(self, *, timed: bool) -> None:
        """Reactions, time triggers and the engine, again while any of them did something."""
        for _ in range(_SETTLE_ROUNDS):
            done = react_all(self.sessions, self.ctx)
            if timed:
                done += fire_due_schedules(self.sessions, self.ctx)
            done += run_all_due(self.sessions, self.ctx)
            with self.sessions() as session:
                queued = session.scalar(select(func.count()).select_from(DueContact))
            if not done and not queued:
                return

    def _next(self, now: datetime, timeline: Timeline, trigger: Any, zones: set[Any]) -> datetime | None:
        """The next moment after `now` at which something can happen."""
        found: list[datetime] = []
        if timeline:
            found.append(timeline[0][0])
        with self.sessions() as session:
            due = session.scalar(
                select(func.min(Enrollment.due_at)).where(
                    Enrollment.status == "active", Enrollment.due_at > now
                )
            )
        if due is not None:
            found.append(due)
        if isinstance(trigger, ScheduleTrigger):
            fire = next(parse_cron(trigger.cron).fire_times(now, self.end, self.ctx.settings.tz), None)
            if fire is not None:
                found.append(fire)
        elif isinstance(trigger, DateTrigger):
            found.extend(next_moments(trigger, zones, now))
        later = [moment for moment in found if moment > now]
        return min(later) if later else None

    def _paths(
        self, workflow_id: int, ids: list[int], contacts: list[dict[str, Any]]
    ) -> list[ContactPathOut]:
        with self.sessions() as session:
            enrollments = list(
                session.scalars(
                    select(Enrollment).where(Enrollment.workflow_id == workflow_id).order_by(Enrollment.id)
                )
            )
            steps = session.scalars(
                select(StepRun)
                .where(StepRun.workflow_id == workflow_id)
                .order_by(StepRun.enrollment_id, StepRun.seq)
            ).all()
            messages = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.workflow_id == workflow_id)
                .order_by(OutboxMessage.id)
            ).all()
            emails = {row.id: row.email for row in session.execute(select(Contact.id, Contact.email))}
        paths = []
        for index, contact_id in enumerate(ids):
            journeys = [_journey(e, steps, messages) for e in enrollments if e.contact_id == contact_id]
            last = journeys[-1] if journeys else None
            paths.append(
                ContactPathOut(
                    index=index,
                    email=emails.get(contact_id) or contacts[index].get("email"),
                    status=last.status if last else "not enrolled",
                    reason=(last.reason or _waiting(last)) if last else None,
                    journeys=journeys,
                )
            )
        return paths


def _journey(enrollment: Enrollment, steps: Any, messages: Any) -> JourneyOut:
    return JourneyOut(
        trigger_key=enrollment.trigger_key,
        enrolled_at=enrollment.enrolled_at,
        status=enrollment.status,
        reason=enrollment.reason,
        finished_at=enrollment.finished_at,
        step_id=enrollment.step_id,
        due_at=enrollment.due_at,
        steps=[
            StepOut(
                step_id=s.step_id,
                type=s.step_type,
                outcome=s.outcome,
                entered_at=s.entered_at,
                left_at=s.left_at,
            )
            for s in steps
            if s.enrollment_id == enrollment.id
        ],
        messages=[
            MessageOut(at=m.created_at, channel=m.channel, template=m.template, step_id=m.step_id)
            for m in messages
            if m.enrollment_id == enrollment.id
        ],
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


def _waiting(journey: JourneyOut) -> str | None:
    if journey.status != "active":
        return None
    return f"still at '{journey.step_id}' when the simulation ended"


def _read_events(
    events: list[dict[str, Any]], ids: list[int], emails: list[str], start: datetime
) -> Timeline:
    """The events as (time, contact id, name, properties), in time order (ties in file order)."""
    timeline: Timeline = []
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event, dict) or not isinstance(event.get("event"), str) or not event["event"]:
            raise InvalidInput.single(where, "expected a mapping with contact, event, properties and at")
        properties = event.get("properties") or {}
        if not isinstance(properties, dict):
            raise InvalidInput.single(f"{where}.properties", "expected a mapping of event properties")
        at = _event_time(event.get("at"), start, f"{where}.at")
        timeline.append(
            (
                at,
                _event_contact(event.get("contact"), ids, emails, f"{where}.contact"),
                event["event"],
                properties,
            )
        )
    return sorted(timeline, key=lambda item: item[0])


def _event_contact(reference: Any, ids: list[int], emails: list[str], where: str) -> int:
    if isinstance(reference, int) and not isinstance(reference, bool) and 0 <= reference < len(ids):
        return ids[reference]
    if isinstance(reference, str) and reference.strip().lower() in emails:
        return ids[emails.index(reference.strip().lower())]
    raise InvalidInput.single(
        where, f"{reference!r} is not one of the contacts: give an index from 0 to {len(ids) - 1} or an email"
    )


def _event_time(written: Any, start: datetime, where: str) -> datetime:
    if written is None:
        return start
    if isinstance(written, datetime):
        moment = written
    elif isinstance(written, str) and written.strip().startswith("+"):
        offset = written.strip()[1:]
        if _NO_TIME.fullmatch(offset):
            return start
        try:
            return start + parse_duration(offset)
        except DurationError as exc:
            raise InvalidInput.single(where, str(exc)) from None
    else:
        try:
            moment = datetime.fromisoformat(str(written).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput.single(
                where, f"{written!r} is neither an ISO time nor an offset from the start such as +2h or +3d"
            ) from None
    if moment.tzinfo is None:
        raise InvalidInput.single(
            where, f"{written!r} has no timezone; write it as 2026-11-22T10:00:00+09:00"
        )
    if moment < start:
        raise InvalidInput.single(where, f"{written!r} is before the simulation starts")
    return moment.astimezone(UTC)


def _define_properties(session: Session, ctx: Context, contacts: list[dict[str, Any]]) -> None:
    """Defines the custom properties the contacts carry, each typed by its first value."""
    values: dict[str, list[Any]] = {}
    for index, data in enumerate(contacts):
        properties = data.get("properties") or {}
        if not isinstance(properties, dict):
            raise InvalidInput.single(f"contacts[{index}].properties", "expected a mapping of properties")
        for name, value in properties.items():
            if value is not None:
                values.setdefault(name, []).append(value)
    for name, found in values.items():
        kind = _kind(found[0])
        options = (
            sorted({str(v) for value in found for v in value}) if kind is PropertyType.MULTI_ENUM else []
        )
        create_definition(
            session,
            ctx,
            ObjectType.CONTACT,
            PropertyDefinitionIn(
                name=name,
                label=name.replace("_", " ").title(),
                type=kind,
                options=[EnumOptionIn(value=option) for option in options],
            ),
        )


def _kind(value: Any) -> PropertyType:
    if isinstance(value, bool):
        return PropertyType.BOOLEAN
    if isinstance(value, int | float):
        return PropertyType.NUMBER
    if isinstance(value, list):
        return PropertyType.MULTI_ENUM
    if isinstance(value, str) and _DATE.fullmatch(value):
        return PropertyType.DATE
    if isinstance(value, str) and _DATETIME.match(value):
        return PropertyType.DATETIME
    return PropertyType.STRING


def read_contacts(path: Path) -> list[dict[str, Any]]:
    """Contacts from a YAML or JSON list of mappings, or a CSV file (unknown columns are properties)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        return [_from_csv_row(row) for row in rows]
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if isinstance(data, dict) and isinstance(data.get("contacts"), list):
        data = data["contacts"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidInput.single(
            "contacts", f"{path.name}: expected a list of contacts, each a mapping of fields"
        )
    return data


def _from_csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or not value.strip():
            continue
        name = column.strip().removeprefix("properties.")
        if name == "consents":
            contact["consents"] = [part.strip() for part in value.split(",") if part.strip()]
        elif name in _CONTACT_FIELDS and not column.startswith("properties."):
            contact[name] = value.strip()
        else:
            properties[name] = value.strip()
    if properties:
        contact["properties"] = properties
    return contact


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events from a JSON Lines file: one JSON object a line; blank lines are skipped."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput.single("events", f"{path.name} line {number}: not JSON ({exc.msg})") from None
    return events


def format_simulation(out: SimulationOut) -> str:
    """The simulation as text: per contact, each journey's steps with their times and how it ended."""
    tz = ZoneInfo(out.timezone)

    def when(moment: datetime) -> str:
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} ({_offset(moment - out.start)})"

    lines = [
        f"Workflow {out.workflow}, simulated from {when(out.start)} to {when(out.end)} ({out.timezone})."
    ]
    for contact in out.contacts:
        ending = f"{contact.status}: {contact.reason}" if contact.reason else contact.status
        lines.append(f"\n#{contact.index} {contact.email or '(no email)'}: {ending}")
        for journey in contact.journeys:
            lines.append(f"  enrolled {when(journey.enrolled_at)} by {journey.trigger_key}")
            lines.extend(
                f"    {when(step.left_at)}  {step.step_id}: {step.outcome}" for step in journey.steps
            )
            sent = ", ".join(
                f"{m.channel} '{m.template}' {_offset(m.at - out.start)}" for m in journey.messages
            )
            lines.append(f"  messages: {sent or 'none'}")
            if journey.finished_at is not None:
                lines.append(f"  {journey.status} {when(journey.finished_at)}: {journey.reason}")
    return "\n".join(lines)


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
    return f"+{text or '0m'}"
