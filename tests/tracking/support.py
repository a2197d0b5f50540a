"""Intake rows the API would never write, for the resolver's failure paths."""

from sqlalchemy.orm import Session, sessionmaker

from funnelwise.tracking.intake import dump
from funnelwise.tracking.messages import Message, MessageType
from funnelwise.tracking.models import IntakeMessage
from funnelwise.tracking.sources import list_sources
from tests.conftest import START

# What each database says when the log refuses an event without a name.
NAMELESS = {
    "sqlite": "IntegrityError: (sqlite3.IntegrityError) NOT NULL constraint failed: events.name",
    "postgresql": 'IntegrityError: (psycopg.errors.NotNullViolation) null value in column "name" of relation '
    '"events" violates not-null constraint',
}


def queue_nameless_track(sessions: sessionmaker[Session], message_id: str) -> int:
    """Puts in the intake a track call without an event name, which the log refuses.

    The API never accepts one; an intake row written by hand, or by a version with a bug, may hold it.
    """
    message = Message(
        type=MessageType.TRACK,
        message_id=message_id,
        user_id="u-1",
        anonymous_id=None,
        name=None,  # type: ignore[arg-type]  # the flaw this message carries
        properties={},
        traits={},
        context={},
        occurred_at=START,
        received_at=START,
    )
    with sessions.begin() as session:
        [source] = list_sources(session)
        row = IntakeMessage(
            message_id=message_id, source_id=source.id, payload=dump(message), received_at=START
        )
        session.add(row)
        session.flush()
        return row.id
