"""What else belongs to a contact, handed to the contact it is merged into so nothing is lost.

Deleting the merged-away contact would otherwise cascade: its consents (the law's record), the
messages sent to it (which dedupe windows and frequency caps count), its journeys, list
memberships, tasks, deals and form submissions. Scores and segment memberships are not moved:
they are decided again for the kept contact from the merged history.
"""

from datetime import datetime

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from funnelwise.messaging.models import Consent
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.sales.models import Deal, SalesTask, StageHistory
from funnelwise.segments.models import StaticListMember
from funnelwise.tracking.models import FormSubmission
from funnelwise.workflows.models import Enrollment
from funnelwise.workflows.schemas import EnrollmentStatus

# Rows nothing else keys by contact: they simply change hands.
_PLAIN: tuple[Table, ...] = tuple(
    model.__table__ for model in (OutboxMessage, SalesTask, Deal, FormSubmission, StageHistory)
)


def move_belongings(session: Session, gone_id: int, keep_id: int, now: datetime) -> None:
    """Moves everything of `gone_id` that would be lost with it to `keep_id`."""
    for table in _PLAIN:
        session.execute(update(table).where(table.c.contact_id == gone_id).values(contact_id=keep_id))
    _move_list_memberships(session, gone_id, keep_id)
    _move_consents(session, gone_id, keep_id)
    _move_enrollments(session, gone_id, keep_id, now)


def _move_list_memberships(session: Session, gone_id: int, keep_id: int) -> None:
    members = StaticListMember.__table__
    kept_lists = select(members.c.list_id).where(members.c.contact_id == keep_id)
    session.execute(delete(members).where(members.c.contact_id == gone_id, members.c.list_id.in_(kept_lists)))
    session.execute(update(members).where(members.c.contact_id == gone_id).values(contact_id=keep_id))


def _move_consents(session: Session, gone_id: int, keep_id: int) -> None:
    """Per channel and topic the person's latest word stands, whichever record it was given on."""
    kept = {
        (c.channel, c.topic): c for c in session.scalars(select(Consent).where(Consent.contact_id == keep_id))
    }
    for consent in session.scalars(select(Consent).where(Consent.contact_id == gone_id)).all():
        other = kept.get((consent.channel, consent.topic))
        if other is not None and _decided_at(other) >= _decided_at(consent):
            session.delete(consent)
            continue
        if other is not None:
            session.delete(other)
            session.flush()  # the kept record's key is free before the moved one takes it
        consent.contact_id = keep_id
    session.flush()


def _decided_at(consent: Consent) -> datetime:
    return max(t for t in (consent.recorded_at, consent.confirmed_at, consent.revoked_at) if t is not None)


def _move_enrollments(session: Session, gone_id: int, keep_id: int, now: datetime) -> None:
    """Journeys move over; one the kept contact is on already ends for the merged-away record.

    A contact is on a workflow at most once at a time and once per trigger: a clashing live
    enrollment exits with the merge as its reason, and a clashing trigger key is marked so both
    records' histories stay.
    """
    kept = session.execute(
        select(Enrollment.workflow_id, Enrollment.trigger_key, Enrollment.status).where(
            Enrollment.contact_id == keep_id
        )
    ).all()
    live = {row.workflow_id for row in kept if row.status == EnrollmentStatus.ACTIVE}
    keys = {(row.workflow_id, row.trigger_key) for row in kept}
    for enrollment in session.scalars(select(Enrollment).where(Enrollment.contact_id == gone_id)).all():
        if enrollment.status == EnrollmentStatus.ACTIVE and enrollment.workflow_id in live:
            enrollment.status = EnrollmentStatus.EXITED.value
            enrollment.reason = f"merged into contact {keep_id}, who is on this workflow already"
            enrollment.due_at = None
            enrollment.finished_at = now
        if (enrollment.workflow_id, enrollment.trigger_key) in keys:
            enrollment.trigger_key = f"{enrollment.trigger_key}#merged-{gone_id}"[:255]
        enrollment.contact_id = keep_id
    session.flush()
