"""A marketer saves templates; what cannot render is refused with its path and line, and nothing is stored."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.messaging.broadcasts.schemas import BroadcastIn
from funnelwise.messaging.broadcasts.service import cancel_broadcast, create_broadcast
from funnelwise.messaging.models import MessageTemplate
from funnelwise.messaging.templates.render import load_templates
from funnelwise.messaging.templates.store import (
    apply_template,
    create_template,
    delete_template,
    get_template,
    list_templates,
)
from funnelwise.segments.lists import create_list
from funnelwise.segments.schemas import ListIn
from funnelwise.workflows.service import apply_workflow, resume_workflow
from tests.messaging.templates.support import email, rendered
from tests.workflows.support import make_welcome_templates, welcome

NEWSLETTER = """<html>
<head>
  <style>
    p { color: #333333; }
    a.button { background: #1a56db; color: #ffffff; }
  </style>
</head>
<body>
  <p>{{ contact.first_name | fallback("고객") }}님, 안녕하세요.</p>
  {% if order and order.total > 10000 %}<p>주문 금액 {{ order.total | krw }}</p>{% endif %}
  <ul>{% for item in products %}<li>{{ item.name }}</li>{% endfor %}</ul>
  <a class="button" href="https://shop.example/c?id={{ contact.id }}&amp;from=mail">쇼핑 계속하기</a>
</body>
</html>"""


def refused(session: Session, ctx: Context, data: object) -> list[FieldError]:
    with pytest.raises(InvalidInput) as caught:
        create_template(session, ctx, data)
    assert session.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    return caught.value.errors


def test_a_jinja_error_is_refused_with_the_path_and_line(session: Session, ctx: Context) -> None:
    broken = "<p>안녕하세요</p>\n<p>{{ contact.first_name }</p>\n<p>{{ contact.last_name }}</p>"
    data = email(
        locales={
            "ko": {"subject": "{% if %}", "html": broken},
            "en": {"subject": "Hi", "text": "line one\n{{ x | no_such_filter }}"},
        }
    )

    assert refused(session, ctx, data) == [
        FieldError("locales.ko.subject", "line 1: Expected an expression, got 'end of statement block'"),
        FieldError("locales.ko.html", "line 2: unexpected '}'"),
        FieldError("locales.en.text", "line 2: No filter named 'no_such_filter'."),
    ]


def test_unknown_channels_and_purposes_and_missing_content_are_refused(
    session: Session, ctx: Context
) -> None:
    assert refused(session, ctx, email(channel="fax", purpose="spam")) == [
        FieldError(
            "channel",
            "unknown channel 'fax'; expected one of 'email', 'sms', 'kakao', 'kakao_brand', 'push' or 'webhook'",
        ),
        FieldError("purpose", "unknown purpose 'spam'; expected one of 'informational' or 'advertising'"),
    ]
    assert refused(session, ctx, email(locales={"ko": {"html": "<p>hi</p>"}, "en": {"subject": "Hi"}})) == [
        FieldError("locales.ko.subject", "missing 'subject'"),
        FieldError("locales.en", "an email needs 'html' or 'text' (or both)"),
    ]
    assert refused(session, ctx, email(locales={})) == [
        FieldError("locales", "a template needs at least one locale")
    ]
    assert refused(session, ctx, email(default_locale="ja")) == [
        FieldError("default_locale", "'ja' is not among the locales (ko, en)")
    ]
    assert refused(session, ctx, email(topic="Big Sale!", colour="red")) == [
        FieldError("topic", "'Big Sale!' is not a topic: lower-case letters, digits, '_' and '-'"),
        FieldError("colour", "unknown key 'colour'"),
    ]
    assert refused(session, ctx, email(locales={"klingon!": {"subject": "x", "text": "y"}})) == [
        FieldError("locales.klingon!", "unknown locale 'klingon!'; expected a tag such as 'ko' or 'en-US'")
    ]
    assert refused(session, ctx, ["not", "a", "mapping"]) == [
        FieldError("template", "expected a mapping with name, channel, purpose and locales")
    ]


def test_alimtalk_is_informational_only(session: Session, ctx: Context) -> None:
    alimtalk = {
        "name": "cart-alimtalk",
        "channel": "kakao",
        "purpose": "advertising",
        "locales": {"ko": {"template_code": "CART_01", "text": "장바구니를 확인하세요"}},
    }

    assert refused(session, ctx, alimtalk) == [
        FieldError(
            "purpose",
            "a kakao (AlimTalk) template is informational only, by law; advertise on kakao_brand instead",
        )
    ]
    assert refused(
        session, ctx, alimtalk | {"purpose": "informational", "locales": {"ko": {"text": "x"}}}
    ) == [FieldError("locales.ko.template_code", "missing 'template_code'")]


def test_names_starting_with_an_underscore_are_refused_on_save(session: Session, ctx: Context) -> None:
    data = {
        "name": "evil",
        "channel": "sms",
        "purpose": "informational",
        "locales": {"ko": {"text": "hi\n{{ ''.__class__.__mro__ }} {{ contact['_secret'] }}"}},
    }

    assert refused(session, ctx, data) == [
        FieldError(
            "locales.ko.text", "line 2: '__mro__' starts with '_'; templates may not reach such names"
        ),
        FieldError(
            "locales.ko.text", "line 2: '__class__' starts with '_'; templates may not reach such names"
        ),
        FieldError(
            "locales.ko.text", "line 2: '_secret' starts with '_'; templates may not reach such names"
        ),
    ]


def test_css_is_inlined_and_a_text_part_derived_on_save_with_the_jinja_kept(
    session: Session, ctx: Context
) -> None:
    saved = create_template(
        session, ctx, email(purpose="advertising", locales={"ko": {"subject": "소식", "html": NEWSLETTER}})
    )

    (spec,) = load_templates(session, ["order-shipped", "unknown"]).values()
    compiled = spec.compiled["ko"]
    assert (saved.topic, saved.locales["ko"]["html"]) == ("promotions", NEWSLETTER)
    assert "<style>" not in compiled["html"]
    assert (
        '<p style="color: #333333;">{{ contact.first_name | fallback("고객") }}님, 안녕하세요.</p>'
        in compiled["html"]
    )
    assert "{% if order and order.total > 10000 %}<p" in compiled["html"]
    assert 'style="background: #1a56db;color: #ffffff;"' in compiled["html"].replace("; ", ";")
    assert compiled["text"] == (
        '{{ contact.first_name | fallback("고객") }}님, 안녕하세요.\n'
        "\n"
        "{% if order and order.total > 10000 %}\n"
        "\n"
        "주문 금액 {{ order.total | krw }}\n"
        "\n"
        "{% endif %}\n"
        "    {% for item in products %}\n"
        "  * {{ item.name }}\n"
        "    {% endfor %}\n"
        "쇼핑 계속하기 (https://shop.example/c?id={{ contact.id }}&from=mail)"
    )
    out = rendered(
        spec,
        {"first_name": "민수", "id": 7},
        order={"total": 25000},
        products=[{"name": "머그"}, {"name": "티셔츠"}],
    )
    assert out.text == (
        "민수님, 안녕하세요.\n\n주문 금액 25,000원\n\n  * 머그\n  * 티셔츠\n쇼핑 계속하기 (https://shop.example/c?id=7&from=mail)"
    )
    assert "<li>머그</li><li>티셔츠</li>" in (out.html or "")


def test_rows_looped_in_a_table_get_their_text_part_at_render_time(session: Session, ctx: Context) -> None:
    html = (
        "<style>td { padding: 4px; }</style><table>"
        "{% for item in products %}<tr><td>{{ item.name }}</td><td>{{ item.price | krw }}</td></tr>{% endfor %}"
        "</table>"
    )
    create_template(session, ctx, email(locales={"ko": {"subject": "장바구니", "html": html}}))

    spec = load_templates(session, ["order-shipped"])["order-shipped"]
    out = rendered(spec, products=[{"name": "머그", "price": 9000}, {"name": "티셔츠", "price": 19000}])

    assert spec.compiled["ko"].get("text_from_html") is True
    assert out.text == "머그   9,000원\n티셔츠  19,000원"
    assert '<td style="padding: 4px;">머그</td>' in (out.html or "")


def test_a_template_is_created_replaced_listed_and_deleted(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    created = apply_template(session, ctx, email())
    same = apply_template(session, ctx, email())
    clock.advance(timedelta(minutes=5))
    edited = apply_template(session, ctx, email(description="Shipping notice", default_locale="en"))
    sms = create_template(
        session,
        ctx,
        {
            "name": "code",
            "channel": "sms",
            "purpose": "informational",
            "locales": {"ko": {"text": "{{ code }}"}},
        },
    )

    with pytest.raises(Conflict, match="a template named 'code' exists"):
        create_template(
            session,
            ctx,
            {"name": "code", "channel": "sms", "purpose": "informational", "locales": {"ko": {"text": "x"}}},
        )
    assert [(s.created, s.changed) for s in (created, same, edited)] == [
        (True, True),
        (False, False),
        (False, True),
    ]
    assert (edited.template.default_locale, edited.template.updated_at - created.template.updated_at) == (
        "en",
        timedelta(minutes=5),
    )
    assert [(t.name, t.channel, t.topic) for t in list_templates(session)] == [
        ("code", "sms", "service"),
        ("order-shipped", "email", "service"),
    ]
    assert get_template(session, str(sms.id)).name == "code"
    delete_template(session, "code")
    with pytest.raises(NotFound):
        get_template(session, "code")


def test_a_template_a_live_journey_or_a_broadcast_still_sends_cannot_be_deleted(
    session: Session, ctx: Context
) -> None:
    make_welcome_templates(session, ctx)
    journey = apply_workflow(session, ctx, welcome())
    resume_workflow(session, ctx, journey.workflow.id)
    create_list(session, ctx, ListIn(name="VIP"))
    sale = create_broadcast(session, ctx, BroadcastIn(name="Winter sale", template="first-tip", list="VIP"))
    session.commit()

    with pytest.raises(Conflict) as in_use:
        delete_template(session, "first-tip")
    assert str(in_use.value) == (
        "name: template 'first-tip' is still used by workflow 'welcome' (steps[2]), "
        "broadcast 'Winter sale'; change or finish those first, then delete it"
    )

    # A new version of the journey without the tip, and the broadcast called off: nothing sends it.
    hello = {"id": "hello", "type": "send", "channel": "email", "template": "welcome"}
    apply_workflow(session, ctx, welcome(steps=[hello]))
    cancel_broadcast(session, ctx, sale.id)
    delete_template(session, "first-tip")
    with pytest.raises(NotFound):
        get_template(session, "first-tip")
