"""A broadcast's figures count its messages' outcomes, in all and per variant, and its conversions."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging.broadcasts import (
    BroadcastIn,
    advance_broadcasts,
    broadcast_figures,
    create_broadcast,
    send_broadcast,
    workflow_figures,
)
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.tracking.log import SystemEvent, record_events
from tests.factories import make_contact
from tests.messaging.broadcasts.support import email_template, outbox, static_list
from tests.messaging.support import queue_message


def _mark(sessions: sessionmaker[Session], broadcast_id: int, contact_id: int, **values: object) -> None:
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.contact_id == contact_id)
            .values(**values)
        )


def _did(sessions: sessionmaker[Session], contact_id: int, name: str, at: datetime) -> None:
    with sessions.begin() as session:
        record_events(session, [SystemEvent(f"test-{uuid.uuid4()}", contact_id, name, at, {})])


def test_figures_count_each_outcome_and_the_conversions_within_seven_days(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    now = ctx.clock.now()
    with sessions() as session:
        ada, bob, cho, dan, eve = (make_contact(session, ctx).id for _ in range(5))
        static_list(session, ctx, "Newsletter", [ada, bob, cho, dan, eve])
        email_template(session, ctx, "winter")
        created = create_broadcast(
            session,
            ctx,
            BroadcastIn(
                name="Winter sale", template="winter", list="Newsletter", conversion_event="Order Completed"
            ),
        )
        session.commit()
    send_broadcast(sessions, ctx, created.id)
    sent = {"status": "sent", "sent_at": now}
    _mark(sessions, created.id, ada, **sent, delivered_at=now, opened_at=now, clicked_at=now)
    _mark(sessions, created.id, bob, **sent, delivered_at=now, opened_at=now, unsubscribed_at=now)
    _mark(sessions, created.id, cho, **sent, bounced_at=now, complained_at=now)
    _mark(sessions, created.id, dan, status="failed")
    # eve's message is still queued.
    _did(sessions, ada, "Order Completed", now + timedelta(days=2))
    _did(sessions, ada, "Order Completed", now + timedelta(days=3))  # counted once
    _did(sessions, bob, "Order Completed", now - timedelta(hours=1))  # before the message
    _did(sessions, cho, "Order Completed", now + timedelta(days=8))  # too late
    _did(sessions, dan, "Order Completed", now + timedelta(days=1))  # never sent
    _did(sessions, bob, "Product Viewed", now + timedelta(days=1))  # another event

    with sessions() as session:
        figures = broadcast_figures(session, ctx, created.id)

    total = figures.total.model_dump()
    rates = total.pop("rates")
    assert total == {
        "audience": 5, "messages": 5, "queued": 1, "sending": 0, "sent": 3, "failed": 1, "suppressed": 0,
        "unknown": 0, "delivered": 2, "opened": 2, "clicked": 1, "bounced": 1, "complained": 1,
        "unsubscribed": 1, "converted": 1,
    }  # fmt: skip
    assert rates == {
        "delivered": 0.6667, "opened": 0.6667, "clicked": 0.3333, "bounced": 0.3333, "complained": 0.3333,
        "unsubscribed": 0.3333, "converted": 0.3333,
    }  # fmt: skip
    assert (figures.conversion_event, figures.variants) == ("Order Completed", [])


def test_variant_figures_split_the_test_and_count_the_rest_under_the_winner(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        people = [make_contact(session, ctx).id for _ in range(10)]
        static_list(session, ctx, "Newsletter", people)
        email_template(session, ctx, "subject-a")
        email_template(session, ctx, "subject-b")
        definition = {
            "name": "Winter sale",
            "list": "Newsletter",
            "ab": {
                "variants": [{"name": "A", "template": "subject-a"}, {"name": "B", "template": "subject-b"}],
                "sample_percent": 40,
                "wait_hours": 2,
            },
        }
        created = create_broadcast(session, ctx, BroadcastIn.model_validate(definition))
        session.commit()
    send_broadcast(sessions, ctx, created.id)
    sample = outbox(sessions, created.id)
    for row in sample:
        opened = {"opened_at": ctx.clock.now()} if row.variant == "B" else {}
        _mark(sessions, created.id, row.contact_id, status="sent", sent_at=ctx.clock.now(), **opened)
    clock.advance(timedelta(hours=2))
    advance_broadcasts(sessions, ctx)

    with sessions() as session:
        figures = broadcast_figures(session, ctx, created.id)

    assert [(v.variant, v.messages, v.sent, v.opened, v.rates.opened) for v in figures.variants] == [
        ("A", 2, 2, 0, 0.0),
        ("B", 8, 2, 2, 1.0),
    ]
    assert (
        figures.total.audience,
        figures.total.messages,
        figures.total.queued,
        figures.total.rates.opened,
    ) == (
        10,
        10,
        6,
        0.5,
    )


def test_nothing_sent_has_no_rates(sessions: sessionmaker[Session], ctx: Context) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
        static_list(session, ctx, "Newsletter", [ada])
        email_template(session, ctx, "winter")
        created = create_broadcast(
            session, ctx, BroadcastIn(name="Winter sale", template="winter", list="Newsletter")
        )
        session.commit()

    with sessions() as session:
        figures = broadcast_figures(session, ctx, created.id)

    assert (figures.total.messages, figures.total.rates.opened, figures.total.rates.converted) == (
        0,
        None,
        None,
    )


def test_a_workflows_figures_are_counted_per_send_step(sessions: sessionmaker[Session], ctx: Context) -> None:
    now = ctx.clock.now()
    with sessions() as session:
        ada, bob = (make_contact(session, ctx).id for _ in range(2))
        queue_message(
            session, ctx, ada, "welcome", workflow_id=7, step_id="intro", sent_at=now, opened_at=now
        )
        queue_message(session, ctx, bob, "welcome", workflow_id=7, step_id="intro", sent_at=now)
        queue_message(session, ctx, ada, "brochure", workflow_id=7, step_id="brochure")
        queue_message(session, ctx, bob, "other", workflow_id=8, step_id="intro", sent_at=now)
        session.commit()
    _did(sessions, bob, "Signed Up", now + timedelta(days=1))

    with sessions() as session:
        figures = workflow_figures(session, ctx, 7, conversion_event="Signed Up")

    assert [(s.step_id, s.messages, s.sent, s.opened, s.converted) for s in figures.steps] == [
        ("brochure", 1, 0, 0, 0),
        ("intro", 2, 2, 1, 1),
    ]
    assert (figures.total.messages, figures.total.sent, figures.total.rates.opened) == (3, 2, 0.5)
