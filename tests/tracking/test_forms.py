"""Hosted forms, as a visitor meets them: the page, a submit, consent, double opt-in, spam and limits."""

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.api.app import create_app
from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.messaging.consent import ConsentOut, consents_of
from funnelwise.messaging.sender import Sender
from funnelwise.tracking.models import Event, FormSubmission
from tests.api.support import assert_error
from tests.conftest import START, TEST_SECRET
from tests.messaging.support import SmtpSink, free_port, serving

WEBINAR: dict[str, Any] = {
    "slug": "webinar-2026",
    "name": "웨비나 신청",
    "fields": [
        {"name": "name", "required": True},
        {"name": "email", "required": True},
        {"name": "phone"},
        {"name": "company"},
        {"name": "team_size", "label": "팀 규모"},
    ],
    "consents": [
        {"channel": "email", "topic": "webinar", "wording": "웨비나 안내 메일 수신에 동의합니다.", "version": "w1", "required": True},
        {"channel": "email", "topic": "newsletter", "wording": "뉴스레터 수신에 동의합니다.", "version": "2026-11", "double_opt_in": True},
        {"channel": "sms", "topic": "promotions", "wording": "광고성 문자 수신에 동의합니다.", "version": "v3"},
    ],
}  # fmt: skip
ANSWERS = {
    "name": "김민수",
    "email": " Minsu.Kim@Example.co.kr ",
    "phone": "010-1234-5678",
    "company": "Example Korea",
    "team_size": "11-50",
    "consent:email:webinar": "yes",
}


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def site_settings(database_url: str, smtp: SmtpSink) -> Settings:
    """An SMTP server and the site's own public URL, so mailed links lead back to it."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        public_url=f"http://127.0.0.1:{free_port()}",
        mail_from="Funnelwise <hello@funnelwise.example>",
        _env_file=None,
    )


@pytest.fixture(scope="module")
def site(engine: Engine, site_settings: Settings, _shared_clock: SimulatedClock) -> Iterator[str]:
    port = int(site_settings.public_url.rsplit(":", 1)[1])
    with serving(create_app(site_settings, engine=engine, clock=_shared_clock), port) as url:
        yield url


@pytest.fixture
def mailbox(smtp: SmtpSink) -> SmtpSink:
    smtp.clear()
    return smtp


@pytest.fixture
def worker_sends(
    sessions: sessionmaker[Session], site_settings: Settings, clock: SimulatedClock
) -> Callable[[], None]:
    """What the worker does after a submit: the outbox's due messages go out."""

    def send_due() -> None:
        with Sender(sessions, Context(settings=site_settings, clock=clock)) as sender:
            sender.deliver_all_due()

    return send_due


@pytest.fixture
def visitor(site: str, clean_db: None) -> Iterator[httpx.Client]:
    """A browser: no API key, Korean preferred."""
    with httpx.Client(base_url=site, headers={"Accept-Language": "ko-KR,ko;q=0.9"}, timeout=30) as client:
        yield client


@pytest.fixture
def webinar(api: httpx.Client, clock: SimulatedClock) -> dict[str, Any]:
    """The webinar form, defined through the REST API, with a team size property to ask."""
    options = [{"value": "1-10"}, {"value": "11-50"}, {"value": "51+"}]
    prop = api.post(
        "/api/v1/properties/contact",
        json={"name": "team_size", "label": "Team size", "type": "enum", "options": options},
    )
    assert prop.status_code == 201, prop.text
    created = api.post("/api/v1/forms", json=WEBINAR)
    assert created.status_code == 201, created.text
    return created.json()


def _contacts(sessions: sessionmaker[Session]) -> list[Contact]:
    with sessions() as session:
        return list(session.scalars(select(Contact).order_by(Contact.id)))


def _events(sessions: sessionmaker[Session], contact_id: int) -> list[tuple[str, str, dict]]:
    with sessions() as session:
        rows = session.execute(
            select(Event.type, Event.name, Event.properties)
            .where(Event.contact_id == contact_id)
            .order_by(Event.id)
        )
        return [tuple(row) for row in rows]


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_hosted_page_shows_korean_labels_and_carries_utm_and_the_visitor_id(
    visitor: httpx.Client, webinar: dict[str, Any]
) -> None:
    visitor.cookies.set("fw_aid", "visitor-1")  # set by the web tracker on an earlier page

    page = visitor.get("/f/webinar-2026?utm_source=naver&utm_campaign=fall")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="ko">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<label for="f-name">이름 <span class="required">(필수)</span></label>' in html
    assert '<label for="f-email">이메일 <span class="required">(필수)</span></label>' in html
    assert '<label for="f-phone">휴대폰 번호</label>' in html
    assert '<input type="tel" id="f-phone" name="phone" autocomplete="tel">' in html
    assert '<label for="f-team_size">팀 규모</label>' in html
    assert '<option value="11-50">11-50</option>' in html
    assert "웨비나 안내 메일 수신에 동의합니다." in html
    assert '<input type="checkbox" name="consent:sms:promotions" value="yes">' in html
    assert (
        '<input type="text" id="f-website" name="website" value="" tabindex="-1" autocomplete="off">' in html
    )
    assert '<input type="hidden" name="utm_source" value="naver">' in html
    assert '<input type="hidden" name="utm_campaign" value="fall">' in html
    assert '<input type="hidden" name="fw_anonymous_id" value="visitor-1">' in html
    assert '<button type="submit">제출</button>' in html


def test_a_visitor_who_browsed_submits_and_becomes_one_contact_with_history_consents_and_a_mail(
    visitor: httpx.Client,
    webinar: dict[str, Any],
    send: Callable[..., httpx.Response],
    sessions: sessionmaker[Session],
    mailbox: SmtpSink,
    worker_sends: Callable[[], None],
    site: str,
) -> None:
    views = send(
        {"type": "page", "anonymousId": "visitor-1", "name": "Pricing", "messageId": "view-1"},
        {"type": "page", "anonymousId": "visitor-1", "name": "Webinar", "messageId": "view-2"},
    )
    assert views.json() == {"success": True}
    visitor.cookies.set("fw_aid", "visitor-1")

    answer = visitor.post(
        "/f/webinar-2026",
        data={
            **ANSWERS,
            "consent:email:newsletter": "yes",
            "consent:sms:promotions": "yes",
            "utm_source": "naver",
            "utm_campaign": "fall",
            "page_url": "https://example.co.kr/webinar?utm_source=naver",
            "website": "",
        },
        headers={"User-Agent": "Mozilla/5.0 (iPhone)"},
    )

    assert answer.status_code == 200
    assert "제출해 주셔서 감사합니다." in answer.text
    assert "이메일로 보내 드린 링크를 눌러 수신 동의를 확인해 주세요." in answer.text
    (contact,) = _contacts(sessions)
    assert (contact.email, contact.phone, contact.first_name, contact.last_name) == (
        "minsu.kim@example.co.kr",
        "+821012345678",
        "민수",
        "김",
    )
    assert contact.properties == {"team_size": "11-50"}
    events = _events(sessions, contact.id)
    assert [(kind, name) for kind, name, _ in events] == [
        ("page", "Page Viewed"),
        ("page", "Page Viewed"),
        ("system", "Consent Granted"),
        ("system", "Consent Granted"),
        ("system", "Email Confirmation Requested"),
        ("system", "Consent Granted"),
        ("system", "Form Submitted"),
    ]
    assert events[-1][2] == {
        "form": "webinar-2026",
        "form_name": "웨비나 신청",
        "answers": {
            "name": "김민수",
            "email": "minsu.kim@example.co.kr",
            "phone": "+821012345678",
            "company": "Example Korea",
            "team_size": "11-50",
            "consent:email:webinar": True,
            "consent:email:newsletter": True,
            "consent:sms:promotions": True,
        },
        "utm_source": "naver",
        "utm_campaign": "fall",
        "page_url": "https://example.co.kr/webinar?utm_source=naver",
    }
    with sessions() as session:
        consents = consents_of(session, contact.id)
        (submission,) = session.scalars(select(FormSubmission))
    assert [(c.channel, c.topic, c.status, c.wording, c.version, c.source, c.ip, c.recorded_at) for c in consents] == [
        ("email", "newsletter", "pending", "뉴스레터 수신에 동의합니다.", "2026-11", "form:webinar-2026", "127.0.0.1", START),
        ("email", "webinar", "granted", "웨비나 안내 메일 수신에 동의합니다.", "w1", "form:webinar-2026", "127.0.0.1", START),
        ("sms", "promotions", "granted", "광고성 문자 수신에 동의합니다.", "v3", "form:webinar-2026", "127.0.0.1", START),
    ]  # fmt: skip
    assert (submission.contact_id, submission.ip, submission.user_agent) == (
        contact.id,
        "127.0.0.1",
        "Mozilla/5.0 (iPhone)",
    )
    worker_sends()
    # The confirmation of the newsletter, and the law's notice that the webinar opt-in was recorded.
    mails = {mail["Subject"]: mail for mail in mailbox.wait_for(2)}
    assert mailbox.recipients == [["minsu.kim@example.co.kr"]] * 2
    assert sorted(mails) == sorted(
        ["[웨비나 신청] 이메일 수신 동의를 확인해 주세요", "[Funnelwise] 광고성 정보 수신동의 처리 결과 안내"]
    )
    mail = mails["[웨비나 신청] 이메일 수신 동의를 확인해 주세요"]
    newsletter = consents[0]
    assert f"{site}/f/confirm/{newsletter.id}." in mail.get_body(preferencelist=("plain",)).get_content()


def test_the_emailed_link_confirms_the_consent_and_a_tampered_link_is_refused(
    visitor: httpx.Client,
    webinar: dict[str, Any],
    sessions: sessionmaker[Session],
    mailbox: SmtpSink,
    worker_sends: Callable[[], None],
    clock: SimulatedClock,
    site: str,
) -> None:
    visitor.post("/f/webinar-2026", data={**ANSWERS, "consent:email:newsletter": "yes"})
    worker_sends()
    (mail,) = [m for m in mailbox.wait_for(2) if "수신 동의를 확인해 주세요" in m["Subject"]]
    link = re.search(
        rf"{re.escape(site)}/f/confirm/\S+", mail.get_body(preferencelist=("plain",)).get_content()
    )[0]
    clock.advance(timedelta(hours=2))

    tampered = visitor.get(link[:-1] + ("x" if link[-1] != "x" else "y"))
    opened = visitor.get(link)
    still_pending = _newsletter_consent(sessions)
    confirmed = visitor.post(link)

    assert tampered.status_code == 400
    assert "링크가 올바르지 않습니다" in tampered.text
    # Opening the link (as mail scanners do) only shows the button; the click confirms.
    assert opened.status_code == 200
    assert '<form method="post">' in opened.text
    assert (still_pending.status, still_pending.confirmed_at) == ("pending", None)
    assert confirmed.status_code == 200
    assert "이메일 수신 동의가 확인되었습니다. 감사합니다." in confirmed.text
    newsletter = _newsletter_consent(sessions)
    assert (newsletter.status, newsletter.confirmed_at) == ("granted", START + timedelta(hours=2))
    (contact,) = _contacts(sessions)
    assert [name for _, name, _ in _events(sessions, contact.id)][-1] == "Consent Confirmed"


def _newsletter_consent(sessions: sessionmaker[Session]) -> ConsentOut:
    (contact,) = _contacts(sessions)
    with sessions() as session:
        return next(c for c in consents_of(session, contact.id) if c.topic == "newsletter")


def test_a_filled_honeypot_is_thanked_like_anyone_and_stores_nothing(
    visitor: httpx.Client,
    webinar: dict[str, Any],
    sessions: sessionmaker[Session],
    mailbox: SmtpSink,
    worker_sends: Callable[[], None],
) -> None:
    answer = visitor.post(
        "/f/webinar-2026",
        data={**ANSWERS, "consent:email:newsletter": "yes", "website": "http://spam.example"},
    )
    worker_sends()

    assert answer.status_code == 200
    assert "제출해 주셔서 감사합니다." in answer.text
    assert (_count(sessions, Contact), _count(sessions, FormSubmission), _count(sessions, Event)) == (0, 0, 0)
    assert mailbox.messages == []


def test_the_eleventh_submission_in_a_minute_from_one_address_waits_until_the_minute_passes(
    visitor: httpx.Client, webinar: dict[str, Any], sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    for number in range(10):
        ok = visitor.post(
            "/f/webinar-2026", json={**ANSWERS, "email": f"guest{number}@example.org", "phone": ""}
        )
        assert ok.status_code == 200, ok.text

    refused = visitor.post("/f/webinar-2026", json={**ANSWERS, "email": "guest10@example.org", "phone": ""})
    page = visitor.post("/f/webinar-2026", data={**ANSWERS, "email": "guest10@example.org", "phone": ""})
    clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    lifted = visitor.post("/f/webinar-2026", json={**ANSWERS, "email": "guest10@example.org", "phone": ""})

    assert_error(refused, 429)
    assert refused.headers["Retry-After"] == "60"
    assert page.status_code == 429
    assert "1분 뒤에 다시 시도해 주세요." in page.text
    assert lifted.status_code == 200
    assert _count(sessions, FormSubmission) == 11


def test_an_invalid_email_is_shown_beside_its_field_and_named_in_json(
    visitor: httpx.Client, webinar: dict[str, Any], sessions: sessionmaker[Session]
) -> None:
    page = visitor.post("/f/webinar-2026", data={**ANSWERS, "email": "minsu@", "consent:email:webinar": ""})
    answer = visitor.post(
        "/f/webinar-2026", json={**ANSWERS, "email": "minsu@", "consent:email:webinar": False}
    )

    assert page.status_code == 422
    assert '<p class="summary" role="alert">입력 내용을 확인해 주세요.</p>' in page.text
    assert (
        'name="email" value="minsu@" autocomplete="email" required aria-required="true" aria-invalid="true"'
        in page.text
    )
    assert '<p class="error" id="email-error">올바른 이메일 주소를 입력해 주세요.</p>' in page.text
    assert '<p class="error" id="consent-email-webinar-error">동의가 필요합니다.</p>' in page.text
    assert 'name="name" value="김민수"' in page.text
    body = assert_error(answer, 422, "email", "consent:email:webinar")
    assert [e["message"] for e in body["errors"]] == [
        "올바른 이메일 주소를 입력해 주세요.",
        "동의가 필요합니다.",
    ]
    assert _count(sessions, Contact) == 0


def test_after_a_submit_the_visitor_goes_to_the_forms_redirect_url(
    visitor: httpx.Client, webinar: dict[str, Any], api: httpx.Client
) -> None:
    changed = api.put(
        "/api/v1/forms/webinar-2026", json={**WEBINAR, "redirect_url": "https://example.co.kr/thanks"}
    )
    assert changed.status_code == 200, changed.text

    direct = visitor.post("/f/webinar-2026", data=ANSWERS)
    embedded = visitor.post("/f/webinar-2026", data={**ANSWERS, "embed": "1"})
    developer = visitor.post("/f/webinar-2026", json=ANSWERS)

    assert (direct.status_code, direct.headers["location"]) == (303, "https://example.co.kr/thanks")
    assert embedded.status_code == 200
    assert '<a id="next" href="https://example.co.kr/thanks" target="_top">' in embedded.text
    assert developer.json() == {
        "success": True,
        "message": "제출해 주셔서 감사합니다.",
        "redirect_url": "https://example.co.kr/thanks",
    }


def test_the_embed_script_writes_an_iframe_of_the_hosted_form(
    visitor: httpx.Client, webinar: dict[str, Any], site: str
) -> None:
    script = visitor.get("/f/webinar-2026/embed.js")
    missing = visitor.get("/f/no-such-form/embed.js")

    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert f'var formUrl = "{site}/f/webinar-2026";' in script.text
    assert 'var frame = document.createElement("iframe");' in script.text
    assert 'frame.src = formUrl + "?" + query.toString();' in script.text
    assert missing.status_code == 404


def test_two_identical_submits_at_the_same_moment_make_one_contact(
    visitor: httpx.Client, webinar: dict[str, Any], sessions: sessionmaker[Session]
) -> None:
    start = threading.Barrier(2)
    answers: list[int] = []

    def submit() -> None:
        start.wait()
        answers.append(
            visitor.post("/f/webinar-2026", json={**ANSWERS, "consent:sms:promotions": True}).status_code
        )

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200, 200]
    (contact,) = _contacts(sessions)
    with sessions() as session:
        assert [(c.channel, c.topic) for c in consents_of(session, contact.id)] == [
            ("email", "webinar"),
            ("sms", "promotions"),
        ]
    assert _count(sessions, FormSubmission) == 2


def test_an_unknown_form_answers_a_readable_404(visitor: httpx.Client, clean_db: None) -> None:
    page = visitor.get("/f/no-such-form")
    answer = visitor.post("/f/no-such-form", json={"email": "a@example.org"})

    assert page.status_code == 404
    assert "양식을 찾을 수 없습니다" in page.text
    assert_error(answer, 404)


def test_an_english_form_speaks_english(visitor: httpx.Client, api: httpx.Client) -> None:
    form = {
        "slug": "contact-us",
        "name": "Contact us",
        "locale": "en",
        "fields": [{"name": "email", "required": True}],
    }
    assert api.post("/api/v1/forms", json=form).status_code == 201

    page = visitor.get("/f/contact-us")
    answer = visitor.post("/f/contact-us", data={"email": ""})

    assert '<html lang="en">' in page.text
    assert '<label for="f-email">Email <span class="required">(required)</span></label>' in page.text
    assert '<button type="submit">Submit</button>' in page.text
    assert '<p class="error" id="email-error">This field is required.</p>' in answer.text
