"""/u/<token>: the preference page and one-click unsubscribe (RFC 8058), public, without cookies.

GET shows the page and changes nothing (mail scanners open links too). A POST whose form body is
`List-Unsubscribe=One-Click` is a mail client's unsubscribe button: it refuses the message's topic
and answers 200. Any other POST is the page's form being saved.
"""

from functools import partial

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from funnelwise.api.deps import ContextDep, SessionDep
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.writes import write_retrying
from funnelwise.messaging.consent_labels import Language, language_of, sender_name, topic_label
from funnelwise.messaging.links import UNSUBSCRIBE, message_of_token
from funnelwise.messaging.preferences import (
    UnsubscribeTarget,
    preference_choices,
    save_preferences,
    target_of_token,
    unsubscribe_one_click,
)

router = APIRouter(prefix="/u", tags=["unsubscribe"], include_in_schema=False)
MAX_BODY_BYTES = 16 * 1024
ONE_CLICK = "One-Click"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

_pages = Environment(
    loader=PackageLoader("funnelwise.messaging", "pages"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

TEXT: dict[Language, dict[str, str]] = {
    "ko": {
        "title": "수신 설정",
        "intro": "받고 싶은 소식을 선택하세요. 선택을 해제한 항목은 더 이상 보내 드리지 않습니다.",
        "save": "저장",
        "saved": "수신 설정을 저장했습니다.",
        "everything": "모두 수신거부",
        "everything_hint": "광고성 정보를 어떤 경로로도 받지 않으시려면 아래 버튼을 누르세요.",
        "nothing": "변경할 수 있는 수신 설정이 없습니다.",
        "sender": "발신자: {sender}",
        "bad_link_title": "잘못된 링크입니다",
        "bad_link": "이 링크는 올바르지 않습니다. 받으신 메시지의 링크를 그대로 열어 주세요.",
        "gone_link": "이 링크의 메시지를 더 이상 찾을 수 없습니다.",
        "unsubscribed_title": "수신거부 완료",
        "unsubscribed": "'{topic}' 수신을 거부했습니다. 더 이상 보내 드리지 않습니다.",
        "unsubscribed_all": "이 경로의 광고성 정보 수신을 모두 거부했습니다.",
        "too_large": "요청이 너무 큽니다.",
    },
    "en": {
        "title": "Your subscriptions",
        "intro": "Choose what you would like to receive. We stop sending whatever you untick.",
        "save": "Save",
        "saved": "Your choices are saved.",
        "everything": "Unsubscribe from everything",
        "everything_hint": "To receive no advertising from us by any channel, press the button below.",
        "nothing": "There is nothing to change here.",
        "sender": "Sender: {sender}",
        "bad_link_title": "This link does not work",
        "bad_link": "This link is not valid. Please open the link exactly as it came in the message.",
        "gone_link": "The message this link belongs to no longer exists.",
        "unsubscribed_title": "Unsubscribed",
        "unsubscribed": "You are unsubscribed from '{topic}'. We will not send it to you again.",
        "unsubscribed_all": "You are unsubscribed from all advertising on this channel.",
        "too_large": "The request is too large.",
    },
}


@router.get("/{token}", response_class=HTMLResponse)
def show(request: Request, session: SessionDep, ctx: ContextDep, token: str) -> HTMLResponse:
    """The preference page of the message's recipient, in their language."""
    target = target_of_token(session, ctx.settings, token)
    if target is None:
        return _bad_link(request, ctx, token)
    return _preference_page(request, session, ctx, target, saved=False)


@router.post("/{token}", response_class=HTMLResponse)
async def post(request: Request, token: str) -> HTMLResponse:
    """One-click unsubscribe (`List-Unsubscribe=One-Click`), or the preference form saved."""
    if len(await request.body()) > MAX_BODY_BYTES:
        return _message(413, "ko", "bad_link_title", "too_large")
    # Urlencoded or multipart (RFC 8058 allows either for the one-click POST); never files.
    form = await request.form(max_files=0, max_fields=200)
    fields = {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}
    ctx: Context = request.app.state.context
    sessions = request.app.state.sessionmaker
    work = partial(_post, request, ctx, token, fields)
    return await run_in_threadpool(write_retrying, sessions, work, urgent=True)


def _post(
    request: Request, ctx: Context, token: str, fields: dict[str, list[str]], session: Session
) -> HTMLResponse:
    target = target_of_token(session, ctx.settings, token)
    if target is None:
        return _bad_link(request, ctx, token)
    ip = request.client.host if request.client else None
    if fields.get("List-Unsubscribe") == [ONE_CLICK]:
        unsubscribe_one_click(session, ctx, target, ip=ip)
        return _unsubscribed(ctx.settings, target)
    everything = fields.get("everything") == ["1"]
    save_preferences(session, ctx, target, set(fields.get("consent", [])), everything=everything, ip=ip)
    return _preference_page(request, session, ctx, target, saved=True)


def _preference_page(
    request: Request, session: Session, ctx: Context, target: UnsubscribeTarget, *, saved: bool
) -> HTMLResponse:
    language = target.language
    t = TEXT[language] | {"sender": TEXT[language]["sender"].format(sender=sender_name(ctx.settings))}
    html = _pages.get_template("preferences.html").render(
        language=language,
        page_title=t["title"],
        t=t,
        saved=saved,
        action=request.url.path,
        choices=preference_choices(session, ctx.settings, target.contact_id, language),
    )
    return HTMLResponse(html, headers=_NO_STORE)


def _unsubscribed(settings: Settings, target: UnsubscribeTarget) -> HTMLResponse:
    t = TEXT[target.language]
    if target.topic is None:
        paragraph = t["unsubscribed_all"]
    else:
        paragraph = t["unsubscribed"].format(topic=topic_label(settings, target.topic, target.language))
    return _page(200, target.language, t["unsubscribed_title"], paragraph)


def _bad_link(request: Request, ctx: Context, token: str) -> HTMLResponse:
    """400 for a token we did not sign; 404 for a signed one whose message is gone."""
    language = language_of(request.headers.get("accept-language", "ko").split(",")[0].strip())
    if message_of_token(ctx.settings, UNSUBSCRIBE, token) is None:
        return _message(400, language, "bad_link_title", "bad_link")
    return _message(404, language, "bad_link_title", "gone_link")


def _message(status: int, language: Language, title: str, paragraph: str) -> HTMLResponse:
    t = TEXT[language]
    return _page(status, language, t[title], t[paragraph])


def _page(status: int, language: Language, title: str, *paragraphs: str) -> HTMLResponse:
    html = _pages.get_template("message.html").render(
        language=language, page_title=title, paragraphs=paragraphs
    )
    return HTMLResponse(html, status, headers=_NO_STORE)
