"""A marketer dry-runs the shipped templates: weeks of journeys on a simulated clock, in moments."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from funnelwise.workflows.simulate import ContactPathOut, simulate
from tests.cli.support import Funnelwise, write
from tests.workflows.support import CART, NURTURE, template, welcome

# 10:00 in Seoul.
START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def path(contact: ContactPathOut) -> list[tuple[str, str, str]]:
    """Each step taken: (offset from the start, step id, outcome)."""
    return [
        (_offset(step.left_at - START), step.step_id, step.outcome)
        for journey in contact.journeys
        for step in journey.steps
    ]


def messages(contact: ContactPathOut) -> list[tuple[str, str, str]]:
    return [
        (_offset(m.at - START), m.channel, m.template)
        for journey in contact.journeys
        for m in journey.messages
    ]


def ended(contact: ContactPathOut) -> tuple[str, str | None, str | None]:
    finished = contact.journeys[-1].finished_at if contact.journeys else None
    return contact.status, contact.reason, _offset(finished - START) if finished else None


def _offset(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"+{hours:g}h"


def test_cart_abandonment_reminds_then_sends_a_coupon_unless_the_order_comes_first() -> None:
    contacts = [{"email": "quick@example.com"}, {"email": "late@example.com"}, {"email": "never@example.com"}]
    events = [{"contact": i, "event": "Checkout Started", "at": "+0m"} for i in range(3)]
    events += [
        {"contact": "quick@example.com", "event": "Order Completed", "at": "+30m"},
        {"contact": 1, "event": "Order Completed", "properties": {"total": 42000}, "at": "+3h"},
    ]

    out = simulate(template(CART), contacts, events, START, days=3)

    quick, late, never = out.contacts
    assert path(quick) == [("+0.5h", "wait-for-order", "met the goal")]
    assert (messages(quick), ended(quick)) == ([], ("converted", "met the goal", "+0.5h"))
    assert path(late) == [
        ("+1h", "wait-for-order", "no 'Order Completed' within 1h"),
        ("+1h", "choose-channel", "condition did not hold"),
        ("+1h", "email-reminder", "queued email message 'cart-reminder'"),
        ("+3h", "a-day-later", "met the goal"),
    ]
    assert messages(late) == [("+1h", "email", "cart-reminder")]
    assert ended(late) == ("converted", "met the goal", "+3h")
    assert path(never) == [
        ("+1h", "wait-for-order", "no 'Order Completed' within 1h"),
        ("+1h", "choose-channel", "condition did not hold"),
        ("+1h", "email-reminder", "queued email message 'cart-reminder'"),
        ("+25h", "a-day-later", "waited 24h"),
        ("+25h", "coupon", "queued email message 'cart-coupon'"),
    ]
    assert messages(never) == [("+1h", "email", "cart-reminder"), ("+25h", "email", "cart-coupon")]
    assert ended(never) == ("completed", "reached the end", "+25h")


def test_a_contact_who_allowed_kakao_is_reminded_on_kakao() -> None:
    contacts = [{"email": "ada@example.com", "consents": ["kakao"]}]
    events = [{"contact": 0, "event": "Checkout Started"}]

    out = simulate(template(CART), contacts, events, START, days=2)

    assert messages(out.contacts[0]) == [
        ("+1h", "kakao_brand", "cart-reminder-kakao"),
        ("+25h", "email", "cart-coupon"),
    ]


def test_b2b_nurture_runs_two_weeks_for_an_inquiry_and_a_sign_up_on_day_3_ends_it_as_converted() -> None:
    contacts = [
        {"email": "cto@acme.example", "properties": {"service_interest": "analytics"}},
        {"email": "buyer@beta.example", "properties": {"service_interest": "consulting"}},
        {"email": "reader@gamma.example"},
    ]
    inquiry = {"event": "Form Submitted", "properties": {"form": "inquiry"}, "at": "+0m"}
    events = [
        {"contact": 0, **inquiry},
        {"contact": 1, **inquiry},
        {"contact": 2, "event": "Form Submitted", "properties": {"form": "newsletter"}},
        {"contact": 1, "event": "Signed Up", "at": "+3d"},
    ]

    out = simulate(template(NURTURE), contacts, events, START, days=30)

    cto, buyer, reader = out.contacts
    assert path(cto) == [
        ("+0h", "intro", "queued email message 'inquiry-introduction'"),
        ("+0h", "brochure", "branch 'analytics'"),
        ("+0h", "brochure-analytics", "queued email message 'brochure-analytics'"),
        ("+0h", "signup-guide", "queued email message 'signup-guide'"),
        ("+168h", "wait-for-signup", "no 'Signed Up' within 7d"),
        ("+168h", "reminder", "queued email message 'signup-reminder'"),
        ("+336h", "a-week-later", "waited 7d"),
        ("+336h", "survey", "queued email message 'survey-and-webinar-invitation'"),
    ]
    assert [template for _at, _channel, template in messages(cto)] == [
        "inquiry-introduction",
        "brochure-analytics",
        "signup-guide",
        "signup-reminder",
        "survey-and-webinar-invitation",
    ]
    assert ended(cto) == ("completed", "reached the end", "+336h")
    assert messages(buyer) == [
        ("+0h", "email", "inquiry-introduction"),
        ("+0h", "email", "brochure-general"),
        ("+0h", "email", "signup-guide"),
    ]
    assert ended(buyer) == ("converted", "met the goal", "+72h")
    assert (reader.status, reader.journeys) == ("not enrolled", [])


def test_the_cli_prints_each_contacts_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    funnelwise = Funnelwise(f"sqlite:///{tmp_path / 'unused.db'}")
    contacts = write(tmp_path / "contacts.yaml", "- email: ada@example.com\n- email: bo@example.com\n")
    events = write(
        tmp_path / "events.jsonl",
        '{"contact": 0, "event": "Checkout Started", "at": "+0m"}\n'
        '{"contact": "bo@example.com", "event": "Checkout Started", "at": "2026-11-22T10:10:00+09:00"}\n'
        "\n"
        '{"contact": 1, "event": "Order Completed", "at": "+30m"}\n',
    )

    result = funnelwise(
        "workflow", "simulate", CART, "--contacts", contacts, "--events", events,
        "--start", "2026-11-22T10:00:00+09:00", "--days", "2",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Workflow cart-abandonment, simulated from 2026-11-22 10:00 (+0m) to 2026-11-24 10:00 (+2d) (Asia/Seoul).\n"
        "\n"
        "#0 ada@example.com: completed: reached the end\n"
        "  enrolled 2026-11-22 10:00 (+0m) by event:1\n"
        "    2026-11-22 11:00 (+1h)  wait-for-order: no 'Order Completed' within 1h\n"
        "    2026-11-22 11:00 (+1h)  choose-channel: condition did not hold\n"
        "    2026-11-22 11:00 (+1h)  email-reminder: queued email message 'cart-reminder'\n"
        "    2026-11-23 11:00 (+1d1h)  a-day-later: waited 24h\n"
        "    2026-11-23 11:00 (+1d1h)  coupon: queued email message 'cart-coupon'\n"
        "  messages: email 'cart-reminder' +1h, email 'cart-coupon' +1d1h\n"
        "  completed 2026-11-23 11:00 (+1d1h): reached the end\n"
        "\n"
        "#1 bo@example.com: converted: met the goal\n"
        "  enrolled 2026-11-22 10:10 (+10m) by event:2\n"
        "    2026-11-22 10:30 (+30m)  wait-for-order: met the goal\n"
        "  messages: none\n"
        "  converted 2026-11-22 10:30 (+30m): met the goal\n"
    )
    assert not (tmp_path / "unused.db").exists()


def test_the_cli_refuses_to_simulate_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = Funnelwise(f"sqlite:///{tmp_path / 'unused.db'}")("workflow", "simulate", CART)

    assert result.exit_code == 2
    assert "error: nobody to simulate: pass --contacts FILE or --generate N" in result.stderr


def test_a_manual_workflow_enrolls_every_contact_at_the_start() -> None:
    out = simulate(welcome(), [{"email": "ada@example.com"}, {"email": "bo@example.com"}], [], START, days=2)

    assert [(c.email, messages(c), ended(c)) for c in out.contacts] == [
        (
            email,
            [("+0h", "email", "welcome"), ("+24h", "email", "first-tip")],
            ("completed", "reached the end", "+24h"),
        )
        for email in ("ada@example.com", "bo@example.com")
    ]


def test_a_birthday_journey_is_simulated_at_ten_in_each_contacts_timezone() -> None:
    birthday = {
        "name": "birthday",
        "trigger": {"type": "date_property", "property": "birthday", "every_year": True, "at": "10:00"},
        "steps": [{"id": "greet", "type": "send", "channel": "email", "template": "happy-birthday"}],
    }
    contacts = [
        {"email": "ada@example.com", "properties": {"birthday": "1990-11-25"}},
        {
            "email": "grace@example.com",
            "timezone": "America/New_York",
            "properties": {"birthday": "1985-11-25"},
        },
    ]

    out = simulate(birthday, contacts, [], START, days=5)

    # 10:00 on the 25th in Seoul is +3d; in New York it is 14 hours later.
    assert [(c.journeys[0].trigger_key, messages(c)) for c in out.contacts] == [
        ("date:2026-11-25", [("+72h", "email", "happy-birthday")]),
        ("date:2026-11-25", [("+86h", "email", "happy-birthday")]),
    ]
