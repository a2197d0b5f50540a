"""An operator loads a JSONL file of Segment messages into the event log from the shell."""

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.models import Order
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.tracking.models import Event
from funnelwise.tracking.sources import create_source
from tests.cli.support import Funnelwise


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def jsonl(path: Path, *lines: dict | str) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def stored_events(sessions: sessionmaker[Session]) -> list[tuple[str, str | None, int | None]]:
    """Name, visitor and source of each stored event, in order of name."""
    with sessions() as session:
        rows = session.execute(select(Event.name, Event.anonymous_id, Event.source_id).order_by(Event.name))
        return [tuple(row) for row in rows]


def report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def test_good_lines_are_stored_and_bad_ones_reported_by_line_number(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    events = jsonl(
        tmp_path / "events.jsonl",
        {"type": "track", "event": "Product Viewed", "anonymousId": "v-1", "messageId": "e-1"},
        "{not json",
        "",
        {"type": "page", "anonymousId": "v-1", "properties": {"url": "https://shop.example/"}},
        {"type": "track", "anonymousId": "v-1"},
        {"type": "identify", "userId": "u-1", "anonymousId": "v-1", "traits": {"email": "mina@example.org"}},
    )

    result = funnelwise("import", "events", events)

    assert result.exit_code == 1, result.output
    assert "5 lines: 3 stored, 0 already stored, 2 failed" in result.stderr
    errors = tmp_path / "events.jsonl.errors.csv"
    assert f"2 bad lines, with line numbers and reasons, in {errors}" in result.stderr
    assert report(errors) == [
        ["line", "reason", "message"],
        [
            "2",
            "line: not valid JSON: Expecting property name enclosed in double quotes at column 2",
            "{not json",
        ],
        [
            "5",
            "event: a track call needs the event's name, for example 'Order Completed'",
            '{"type": "track", "anonymousId": "v-1"}',
        ],
    ]
    assert stored_events(sessions) == [
        ("Identify", "v-1", None),
        ("Page Viewed", "v-1", None),
        ("Product Viewed", "v-1", None),
    ]
    with sessions() as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == "mina@example.org"))
        assert set(session.scalars(select(Event.contact_id))) == {contact_id}


def test_importing_the_file_again_stores_nothing_new_even_for_lines_without_a_message_id(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    events = jsonl(
        tmp_path / "events.jsonl",
        {"type": "track", "event": "Cart Viewed", "anonymousId": "v-1", "timestamp": "2026-11-01T10:00:00Z"},
        {"type": "track", "event": "Cart Viewed", "anonymousId": "v-2", "timestamp": "2026-11-01T10:00:00Z"},
    )
    first = funnelwise("import", "events", events)

    again = funnelwise("import", "events", events)

    assert first.exit_code == 0, first.output
    assert "2 lines: 2 stored, 0 already stored, 0 failed" in first.stderr
    assert again.exit_code == 0, again.output
    assert "2 lines: 0 stored, 2 already stored, 0 failed" in again.stderr
    assert len(stored_events(sessions)) == 2
    assert not (tmp_path / "events.jsonl.errors.csv").exists()


def test_an_order_completed_line_creates_its_order_and_events_name_their_source(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        source_id = create_source(session, ctx, "old shop").id
    events = jsonl(
        tmp_path / "events.jsonl",
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u-1",
            "timestamp": "2026-10-01T12:00:00+09:00",
            "properties": {
                "order_id": "A-1",
                "revenue": 39000,
                "products": [{"product_id": "P-1", "price": 39000}],
            },
        },
    )

    result = funnelwise("import", "events", events, "--source", "old shop")

    assert result.exit_code == 0, result.output
    assert stored_events(sessions) == [("Order Completed", None, source_id)]
    with sessions() as session:
        assert session.execute(select(Order.order_id, Order.revenue_minor)).all() == [("A-1", 39000)]


def test_an_unknown_source_stops_the_import_before_anything_is_read(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    events = jsonl(tmp_path / "events.jsonl", {"type": "track", "event": "Cart Viewed", "anonymousId": "v-1"})

    result = funnelwise("import", "events", events, "--source", "nowhere")

    assert result.exit_code == 2
    assert "error: source 'nowhere' not found" in result.stderr
    assert stored_events(sessions) == []


def test_a_large_file_goes_in_batches_and_every_line_is_accounted_for(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    lines: list[dict | str] = [
        {"type": "track", "event": "Product Viewed", "anonymousId": f"v-{n % 7}", "messageId": f"e-{n}"}
        for n in range(1, 1201)
    ]
    lines[700] = "[1, 2"
    events = jsonl(tmp_path / "events.jsonl", *lines)

    result = funnelwise("import", "events", events)

    assert result.exit_code == 1
    assert "1200 lines: 1199 stored, 0 already stored, 1 failed" in result.stderr
    assert [row[0] for row in report(tmp_path / "events.jsonl.errors.csv")] == ["line", "701"]
    assert len(stored_events(sessions)) == 1199
