"""A broadcast that could not be sent is refused when it is defined, with the field at fault named."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput
from funnelwise.messaging.broadcasts import BroadcastIn, create_broadcast
from tests.messaging.broadcasts.support import customers, email_template, sms_template


@pytest.fixture
def ready(session: Session, ctx: Context) -> Session:
    customers(session, ctx, 1)
    email_template(session, ctx, "winter")
    email_template(session, ctx, "subject-b")
    sms_template(session, ctx, "shipped")
    return session


def _errors(session: Session, ctx: Context, **fields: Any) -> list[tuple[str, str]]:
    definition = {"name": "Winter sale", "template": "winter", "segment": "Customers", **fields}
    with pytest.raises(InvalidInput) as raised:
        create_broadcast(session, ctx, BroadcastIn.model_validate(definition))
    return [(e.field, e.message) for e in raised.value.errors]


def test_an_unknown_template_is_named(ready: Session, ctx: Context) -> None:
    assert _errors(ready, ctx, template="wintr") == [("template", "no message template named 'wintr'")]


def test_variants_must_exist_and_share_the_broadcasts_channel(ready: Session, ctx: Context) -> None:
    ab = {
        "variants": [{"name": "A", "template": "shipped"}, {"name": "B", "template": "nope"}],
        "sample_percent": 10,
        "wait_hours": 2,
    }
    assert _errors(ready, ctx, ab=ab) == [("ab.variants.1.template", "no message template named 'nope'")]
    ab["variants"][1]["template"] = "subject-b"
    assert _errors(ready, ctx, ab=ab) == [
        ("ab.variants.0.template", "'shipped' is a sms template; this broadcast sends email")
    ]


def test_the_audience_is_one_segment_or_list_that_exists(ready: Session, ctx: Context) -> None:
    assert _errors(ready, ctx, segment=None) == [
        ("segment", "a broadcast needs a segment or a list to send to")
    ]
    assert _errors(ready, ctx, list="Staff") == [("list", "name a segment or a list, not both")]
    assert _errors(ready, ctx, segment="VIPs") == [("segment", "no segment named 'VIPs'")]
    assert _errors(ready, ctx, segment=None, list="Staff") == [("list", "no list named 'Staff'")]


def test_a_schedule_in_the_past_is_refused(ready: Session, ctx: Context) -> None:
    past = ctx.clock.now() - timedelta(minutes=1)
    assert _errors(ready, ctx, scheduled_at=past.isoformat()) == [
        ("scheduled_at", "2026-11-22T00:59:00+00:00 is not in the future (now 2026-11-22T01:00:00+00:00)")
    ]


def test_a_name_is_used_once(ready: Session, ctx: Context) -> None:
    create_broadcast(ready, ctx, BroadcastIn(name="Winter sale", template="winter", segment="Customers"))
    with pytest.raises(Conflict, match="a broadcast named 'Winter sale' exists already"):
        create_broadcast(ready, ctx, BroadcastIn(name="Winter sale", template="winter", segment="Customers"))


def test_an_ab_test_needs_two_to_five_distinct_variants_and_a_sample_up_to_half() -> None:
    twins = [{"name": "A", "template": "a"}, {"name": "A", "template": "b"}]
    ab = {"variants": twins, "sample_percent": 60, "metric": "reply", "wait_hours": 0}
    with pytest.raises(ValidationError) as raised:
        BroadcastIn.model_validate({"name": "x", "segment": "Customers", "ab": ab})
    assert [(".".join(map(str, e["loc"])), e["type"]) for e in raised.value.errors()] == [
        ("ab.variants", "value_error"),
        ("ab.sample_percent", "less_than_equal"),
        ("ab.metric", "literal_error"),
        ("ab.wait_hours", "greater_than"),
    ]
