"""Campaign figures: what became of a broadcast's (or a workflow's) messages, in one aggregate query.

The sender and the delivery reports stamp each outbox row with its outcomes (`delivered_at`,
`opened_at`, …, first time only), so the figures count rows. Conversions are the distinct
recipients who did the broadcast's conversion event within `broadcast_conversion_days` after
their message was sent, from the event log.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, distinct, exists, func, select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import NotFound
from funnelwise.messaging.broadcasts.moments import plus_seconds
from funnelwise.messaging.broadcasts.schemas import (
    BroadcastFigures,
    Figures,
    Rates,
    StepFigures,
    VariantFigures,
    WorkflowFigures,
)
from funnelwise.messaging.models import Broadcast
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.models import Event

_STATUSES = [s.value for s in OutboxStatus if s != OutboxStatus.SENT]
_OUTCOMES = ("delivered", "opened", "clicked", "bounced", "complained", "unsubscribed")
_KEYS = ("messages", "sent", *_STATUSES, *_OUTCOMES)


def broadcast_figures(session: Session, ctx: Context, broadcast_id: int) -> BroadcastFigures:
    """The broadcast's figures in all and per A/B variant (variants in the order they were defined)."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound("broadcast", broadcast_id)
    where = OutboxMessage.broadcast_id == broadcast_id
    counted = _counts(session, where, OutboxMessage.variant)
    converted = _conversions(session, ctx, where, OutboxMessage.variant, broadcast.conversion_event)
    names = [v["name"] for v in (broadcast.ab or {}).get("variants", [])]
    variants = [
        VariantFigures(
            variant=name, **_figures(counted.get(name), converted.get(name, 0), audience=None).model_dump()
        )
        for name in names
    ]
    total = _figures(_sum(counted.values()), sum(converted.values()), audience=broadcast.audience)
    return BroadcastFigures(
        broadcast_id=broadcast_id, conversion_event=broadcast.conversion_event, total=total, variants=variants
    )


def workflow_figures(
    session: Session, ctx: Context, workflow_id: int, *, conversion_event: str | None = None
) -> WorkflowFigures:
    """A workflow's messages in all and per send step; conversions only when an event is named."""
    where = OutboxMessage.workflow_id == workflow_id
    counted = _counts(session, where, OutboxMessage.step_id)
    converted = _conversions(session, ctx, where, OutboxMessage.step_id, conversion_event)
    steps = [
        StepFigures(
            step_id=step_id, **_figures(counts, converted.get(step_id, 0), audience=None).model_dump()
        )
        for step_id, counts in sorted(counted.items(), key=lambda item: str(item[0]))
    ]
    total = _figures(_sum(counted.values()), sum(converted.values()), audience=None)
    return WorkflowFigures(workflow_id=workflow_id, total=total, steps=steps)


def _counts(session: Session, where: ColumnElement[bool], group: Any) -> dict[Any, dict[str, int]]:
    """By group: messages, those in each status but `sent`, those sent (`sent_at` set), each outcome.

    Sent counts `sent_at`, not the status: a message stays sent whatever its status says later.
    """
    columns = [func.count().label("messages"), func.count(OutboxMessage.sent_at).label("sent")]
    columns += [func.count().filter(OutboxMessage.status == status).label(status) for status in _STATUSES]
    columns += [func.count(getattr(OutboxMessage, f"{outcome}_at")).label(outcome) for outcome in _OUTCOMES]
    rows = session.execute(select(group.label("grp"), *columns).where(where).group_by(group))
    return {row.grp: {key: row._mapping[key] for key in _KEYS} for row in rows}


def _conversions(
    session: Session, ctx: Context, where: ColumnElement[bool], group: Any, event: str | None
) -> dict[Any, int]:
    """By group: distinct recipients who did `event` within the window after their message was sent."""
    if event is None:
        return {}
    window = timedelta(days=ctx.settings.broadcast_conversion_days).total_seconds()
    did = exists().where(
        Event.contact_id == OutboxMessage.contact_id,
        Event.name == event,
        Event.occurred_at >= OutboxMessage.sent_at,
        Event.occurred_at < plus_seconds(session, OutboxMessage.sent_at, window),
    )
    rows = session.execute(
        select(group, func.count(distinct(OutboxMessage.contact_id)))
        .where(where, OutboxMessage.sent_at.is_not(None), did)
        .group_by(group)
    )
    return {key: converted for key, converted in rows}


def _sum(groups: Any) -> dict[str, int] | None:
    total: dict[str, int] = {}
    for counts in groups:
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    return total or None


def _figures(counts: dict[str, int] | None, converted: int, *, audience: int | None) -> Figures:
    number = {key: (counts or {}).get(key, 0) for key in _KEYS}
    sent = number["sent"]
    rates = {outcome: _rate(number[outcome], sent) for outcome in _OUTCOMES}
    return Figures(
        **number,
        audience=number["messages"] if audience is None else audience,
        converted=converted,
        rates=Rates(**rates, converted=_rate(converted, sent)),
    )


def _rate(part: int, sent: int) -> float | None:
    return round(part / sent, 4) if sent else None
