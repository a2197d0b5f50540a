"""A contact gets the message in its language, with its values formatted and the gaps filled."""

import pytest

from funnelwise.messaging.message import MessageChannel, Purpose
from funnelwise.messaging.templates.render import RenderError, TemplateSpec, choose_locale
from tests.messaging.templates.support import email, rendered, spec, text_template


def test_a_missing_value_renders_its_fallback_or_nothing() -> None:
    template = text_template(
        "{{ contact.first_name | fallback('고객') }}님 [{{ contact.nickname }}]"
        "[{{ order.total.amount }}][{{ trigger.properties.coupon | fallback('없음') }}]"
    )

    nameless = rendered(template, {"first_name": ""})
    named = rendered(template, {"first_name": "민수", "nickname": None})

    assert nameless.text == "고객님 [][][없음]"
    assert named.text == "민수님 [None][][없음]"


def test_contact_company_trigger_order_and_products_are_variables() -> None:
    template = text_template(
        "{{ contact.first_name }} {{ contact.plan }} @ {{ company.name }}: {{ trigger.name }} "
        "{{ trigger.properties.form }}, {{ order.id }}, "
        "{% for product in products %}{{ product.name }}{% if not loop.last %}/{% endif %}{% endfor %}"
    )

    out = rendered(
        template,
        {"first_name": "Ada", "plan": "pro"},
        company={"name": "Acme"},
        trigger={"event": "Form Submitted", "properties": {"form": "inquiry"}},
        order={"id": "A-1"},
        products=[{"name": "Mug"}, {"name": "Tee"}],
    )

    assert out.text == "Ada pro @ Acme: Form Submitted inquiry, A-1, Mug/Tee"


def test_a_contact_property_named_like_a_dict_method_is_the_property() -> None:
    out = rendered(text_template("{{ contact.items }} {{ contact.keys }}"), {"items": 3, "keys": "two"})

    assert out.text == "3 two"


@pytest.mark.parametrize(
    ("locale", "amount", "number", "date", "datetime"),
    [
        ("ko", "12,000원", "1,234,567.5", "2026년 12월 4일 (금)", "2026년 12월 4일 (금) 오후 3:00"),
        ("en", "₩12,000", "1,234,567.5", "December 4, 2026", "December 4, 2026, 3:00\u202fPM"),
    ],
)
def test_amounts_numbers_and_dates_read_as_the_language_writes_them(
    locale: str, amount: str, number: str, date: str, datetime: str
) -> None:
    template = text_template(
        "{{ 12000 | krw }}|{{ 1234567.5 | number }}|{{ now | date }}|{{ now | datetime }}"
    )

    out = rendered(template, locale=locale)

    assert out.text.split("|") == [amount, number, date, datetime]


def test_dates_are_shown_in_the_contacts_timezone_from_datetimes_dates_and_iso_text() -> None:
    template = text_template(
        "{{ trigger.properties.at | datetime }}|{{ trigger.properties.day | date }}|{{ now | date('short') }}"
    )
    trigger = {"properties": {"at": "2026-12-04T23:30:00Z", "day": "2026-12-25"}}

    seoul = rendered(template, {"timezone": "Asia/Seoul"}, locale="en", trigger=trigger)
    new_york = rendered(template, {"timezone": "America/New_York"}, locale="en", trigger=trigger)
    nowhere = rendered(template, {"timezone": "Mars/Olympus"}, locale="ko", trigger=trigger)

    assert seoul.text == "December 5, 2026, 8:30\u202fAM|December 25, 2026|12/4/26"
    assert new_york.text == "December 4, 2026, 6:30\u202fPM|December 25, 2026|12/4/26"
    # An unknown timezone falls back to the settings' (Asia/Seoul).
    assert nowhere.text == "2026년 12월 5일 (토) 오전 8:30|2026년 12월 25일 (금)|26. 12. 4."


def test_phone_numbers_and_number_digits() -> None:
    template = text_template(
        "{{ contact.phone | phone }}|{{ '+8225551234' | phone }}|{{ '+14155552671' | phone }}|"
        "{{ 3.14159 | number(2) }}|{{ '12,000' | krw }}|{{ contact.missing | krw }}"
    )

    out = rendered(template, {"phone": "+821012345678"})

    assert out.text == "010-1234-5678|02-555-1234|+1 415-555-2671|3.14|12,000원|"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ contact.first_name | krw }}", "text: krw: 'Ada' is not a number"),
        ("{{ 'tomorrow' | date }}", "text: date: 'tomorrow' is not an ISO date or time"),
        ("{{ 'call me' | phone }}", "text: phone: 'call me' is not a phone number"),
        ("{{ 1 / 0 }}", "text: ZeroDivisionError: division by zero"),
        (
            "{{ 'x' * 1000000 }}",
            "text: not allowed in a template: a repeated value longer than 100,000 is not allowed",
        ),
        ("{{ 9 ** 999999 }}", "text: not allowed in a template: an exponent above 64 is not allowed"),
        (
            "{{ range(10**8) | list | length }}",
            "text: OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
        ),
    ],
)
def test_a_value_a_filter_cannot_read_fails_the_message_with_a_short_reason(source: str, reason: str) -> None:
    with pytest.raises(RenderError) as failed:
        rendered(text_template(source), {"first_name": "Ada"})

    assert str(failed.value) == reason


@pytest.mark.parametrize(
    "source",
    [
        "{{ x.__class__.__mro__ }}",
        "{{ contact['__init__'] }}",
        "{{ contact[name] }}",
        "{{ (contact|attr(name)).__globals__ }}",
        "{{ contact.get.__self__ }}",
        "{{ x.format.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ contact.update({'email': 'a@b.c'}) }}",
        "{{ products.append(1) }}",
    ],
)
def test_a_template_cannot_reach_python_internals_or_change_its_variables(source: str) -> None:
    # The plain forms are refused on save; built at render time (a name from a variable), they
    # fail the message with the reason instead of rendering something.
    template = TemplateSpec("evil", *_sms(), compiled={"ko": {"text": source}})

    with pytest.raises(RenderError) as failed:
        rendered(template, {"email": "ada@example.com"}, x="", name="__init__", products=[])

    assert str(failed.value).startswith("text: not allowed in a template: access to attribute ")


def test_the_variant_is_the_contacts_locale_then_its_language_then_the_default() -> None:
    template = spec(
        email(
            default_locale="en",
            locales={
                "ko-KR": {"subject": "ko-KR", "text": "."},
                "en": {"subject": "en", "text": "."},
                "pt-BR": {"subject": "pt-BR", "text": "."},
            },
        )
    )

    chosen = {
        wanted: choose_locale(template, wanted)
        for wanted in ("ko-KR", "ko_kr", "ko", "en-GB", "pt", "pt-PT", "ja", "xx-!!", None)
    }

    assert chosen == {
        "ko-KR": "ko-KR",
        "ko_kr": "ko-KR",
        "ko": "ko-KR",
        "en-GB": "en",
        "pt": "pt-BR",
        "pt-PT": "pt-BR",
        "ja": "en",
        "xx-!!": "en",
        None: "en",
    }
    assert rendered(template, {"locale": "ko"}).subject == "ko-KR"
    assert rendered(template, {"locale": "ko"}, locale="pt").subject == "pt-BR"


def test_html_is_escaped_and_text_is_not() -> None:
    template = spec(
        email(
            locales={"ko": {"subject": "{{ contact.first_name }}", "html": "<p>{{ contact.first_name }}</p>"}}
        )
    )

    out = rendered(template, {"first_name": "<b>Tom & Jerry</b>"})

    assert out.subject == "<b>Tom & Jerry</b>"
    assert out.html == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"
    assert out.text == "<b>Tom & Jerry</b>"


def test_kakao_push_and_webhook_content_is_rendered_into_its_data() -> None:
    trigger = {
        "event": "Order Completed",
        "properties": {"order_id": "A-7", "url": "https://shop.example/o/A-7"},
    }
    kakao = spec(
        {
            "name": "shipped",
            "channel": "kakao",
            "purpose": "informational",
            "locales": {
                "ko": {
                    "template_code": "SHIPPED_01",
                    "text": "{{ contact.first_name }}님, 주문 {{ trigger.properties.order_id }}이 출발했습니다.",
                    "variables": {"#{이름}": "{{ contact.first_name }}"},
                    "buttons": [
                        {"name": "배송 조회", "type": "WL", "url_mobile": "{{ trigger.properties.url }}"}
                    ],
                }
            },
        }
    )
    push = spec(
        {
            "name": "push",
            "channel": "push",
            "purpose": "informational",
            "locales": {
                "ko": {
                    "title": "주문 {{ trigger.properties.order_id }}",
                    "text": "출발!",
                    "url": "{{ trigger.properties.url }}",
                    "data": {"order": "{{ trigger.properties.order_id }}"},
                }
            },
        }
    )
    webhook = spec(
        {
            "name": "hook",
            "channel": "webhook",
            "purpose": "informational",
            "locales": {
                "ko": {
                    "url": "https://hooks.example/{{ trigger.properties.order_id }}",
                    "payload": {"email": "{{ contact.email }}", "n": 1, "tags": ["{{ trigger.name }}"]},
                }
            },
        }
    )
    contact = {"first_name": "민수", "email": "minsu@example.com"}

    assert rendered(kakao, contact, trigger=trigger).data == {
        "template_code": "SHIPPED_01",
        "variables": {"#{이름}": "민수"},
        "buttons": [{"name": "배송 조회", "type": "WL", "url_mobile": "https://shop.example/o/A-7"}],
    }
    assert rendered(kakao, contact, trigger=trigger).text == "민수님, 주문 A-7이 출발했습니다."
    assert rendered(push, contact, trigger=trigger).data == {
        "title": "주문 A-7",
        "url": "https://shop.example/o/A-7",
        "data": {"order": "A-7"},
    }
    hook = rendered(webhook, contact, trigger=trigger)
    assert hook.data == {
        "url": "https://hooks.example/A-7",
        "payload": {"email": "minsu@example.com", "n": 1, "tags": ["Order Completed"]},
    }


def test_a_changed_template_is_compiled_again() -> None:
    first = TemplateSpec("t", *_sms(), compiled={"ko": {"text": "one"}}, id=5, version="a")
    edited = TemplateSpec("t", *_sms(), compiled={"ko": {"text": "two"}}, id=5, version="b")

    assert [rendered(first).text, rendered(edited).text, rendered(first).text] == ["one", "two", "one"]


def _sms() -> tuple[MessageChannel, Purpose, str, str]:
    """Channel, purpose, topic and default locale of a Korean informational SMS."""
    return MessageChannel.SMS, Purpose.INFORMATIONAL, "service", "ko"
