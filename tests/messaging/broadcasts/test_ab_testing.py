"""An A/B test goes to a sample split evenly between variants; after the wait the winner goes to the rest."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict
from funnelwise.messaging.broadcasts import (
    BroadcastIn,
    advance_broadcasts,
    create_broadcast,
    get_broadcast,
    send_broadcast,
)
from funnelwise.messaging.broadcasts.ab_testing import sample_rank
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from tests.messaging.broadcasts.support import customers, email_template, outbox


def _ab_broadcast(session: Session, ctx: Context, metric: str = "open", variants: int = 2) -> int:
    names = ["subject-a", "subject-b", "subject-c"][:variants]
    for name in names:
        email_template(session, ctx, name, subject=f"Winter sale ({name})")
    definition = {
        "name": "Winter sale",
        "segment": "Customers",
        "ab": {
            "variants": [{"name": name[-1].upper(), "template": name} for name in names],
            "sample_percent": 20,
            "metric": metric,
            "wait_hours": 4,
        },
    }
    created = create_broadcast(session, ctx, BroadcastIn.model_validate(definition))
    session.commit()
    return created.id


def _engage(
    sessions: sessionmaker[Session],
    ctx: Context,
    broadcast_id: int,
    opened: dict[str, int],
    column: str = "opened_at",
) -> None:
    """The sender sent every sample message; `opened[variant]` of each variant's were opened (or clicked)."""
    now = ctx.clock.now()
    rows = outbox(sessions, broadcast_id)
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .values(status=OutboxStatus.SENT, sent_at=now)
        )
        for variant, count in opened.items():
            ids = [r.contact_id for r in rows if r.variant == variant][:count]
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.contact_id.in_(ids))
                .values({column: now})
            )


def test_the_sample_is_the_lowest_ranked_fifth_dealt_evenly_to_the_variants(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 50)
        broadcast_id = _ab_broadcast(session, ctx)

    testing = send_broadcast(sessions, ctx, broadcast_id)

    rows = outbox(sessions, broadcast_id)
    ranked = sorted(members, key=lambda c: (sample_rank(broadcast_id, c), c))
    assert sorted(r.contact_id for r in rows) == sorted(ranked[:10])
    by_contact = {r.contact_id: (r.variant, r.template) for r in rows}
    assert [by_contact[c] for c in ranked[:10]] == [("A", "subject-a"), ("B", "subject-b")] * 5
    assert (testing.status, testing.audience, testing.winner) == ("testing", 50, None)
    # Not every low id: the sample is spread over the audience.
    assert sorted(by_contact) != members[:10]


def test_after_the_wait_the_variant_opened_most_goes_to_the_rest(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 30)
        broadcast_id = _ab_broadcast(session, ctx, variants=3)
    send_broadcast(sessions, ctx, broadcast_id)
    sample = {r.contact_id for r in outbox(sessions, broadcast_id)}
    assert len(sample) == 6
    _engage(sessions, ctx, broadcast_id, {"A": 0, "B": 2, "C": 1})

    clock.advance(timedelta(hours=3, minutes=59))
    assert advance_broadcasts(sessions, ctx) == 0
    clock.advance(timedelta(minutes=1))
    assert advance_broadcasts(sessions, ctx) == 1

    rows = outbox(sessions, broadcast_id)
    assert [r.contact_id for r in rows] == members
    rest = [r for r in rows if r.contact_id not in sample]
    assert {(r.variant, r.template, r.status, r.due_at) for r in rest} == {
        ("B", "subject-b", "queued", clock.now())
    }
    with sessions() as session:
        done = get_broadcast(session, broadcast_id)
    assert (done.status, done.winner, done.tested_at) == ("sent", "B", clock.now())


def test_a_tie_goes_to_the_first_variant_and_clicks_can_decide(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        customers(session, ctx, 20)
        broadcast_id = _ab_broadcast(session, ctx, metric="click")
    send_broadcast(sessions, ctx, broadcast_id)
    # B was opened more, but the test is on clicks, where they tie.
    _engage(sessions, ctx, broadcast_id, {"B": 2})
    _engage(sessions, ctx, broadcast_id, {"A": 1, "B": 1}, column="clicked_at")

    clock.advance(timedelta(hours=4))
    advance_broadcasts(sessions, ctx)

    with sessions() as session:
        assert get_broadcast(session, broadcast_id).winner == "A"


def test_a_testing_broadcast_cannot_be_sent_by_hand_before_its_winner(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        customers(session, ctx, 10)
        broadcast_id = _ab_broadcast(session, ctx)
    send_broadcast(sessions, ctx, broadcast_id)

    with pytest.raises(Conflict, match="is testing its variants"):
        send_broadcast(sessions, ctx, broadcast_id)
    assert len(outbox(sessions, broadcast_id)) == 2
