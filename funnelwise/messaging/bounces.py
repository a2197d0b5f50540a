"""Bounces, complaints and deliveries of email, from provider webhooks and from DSN mail.

Each report names an address and, when it can, the message: by our outbox id, or by the
Message-ID we gave it (`<fw.<outbox id>.<random>@…>`, quoted back by DSNs and by Amazon SES). A
hard bounce or a complaint puts the address on the suppression list; every report about a
message we know logs `Email Bounced / Complained / Delivered` and stamps the message's time.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.email_events import BOUNCED, COMPLAINED, DELIVERED, record_outcome
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.messaging.suppression import SuppressionKind, SuppressionReason, suppress

# Our Message-ID: the outbox id follows "fw.".
_OUR_MESSAGE_ID = re.compile(r"<?fw\.(\d{1,19})\.[0-9a-f]+@[^>\s]+>?")
_STATUS = re.compile(r"([245])\.\d{1,3}\.\d{1,3}")
REASON_LIMIT = 1000


class ReportKind(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    DELIVERED = "delivered"


_KINDS = frozenset(kind.value for kind in ReportKind)


@dataclass(frozen=True)
class EmailReport:
    """One provider's word on one recipient of one message.

    `message` is our outbox id, our Message-ID header or the provider's id for the message.
    """

    kind: ReportKind
    email: str
    message: int | str | None = None
    reason: str | None = None
    permanent: bool = True


@dataclass(frozen=True)
class ReportOutcome:
    recorded: int  # reports that logged an event on a message of ours
    suppressed: int  # addresses newly put on the suppression list
    unmatched: int  # reports naming no message we keep (the suppression still applies)


@dataclass(frozen=True)
class SubscriptionConfirmation:
    """Amazon SNS asks to confirm a topic subscription: someone opens `subscribe_url` once."""

    topic_arn: str | None
    subscribe_url: str


def record_reports(
    session: Session, ctx: Context, reports: Iterable[EmailReport], source: str
) -> ReportOutcome:
    """Applies each report; the caller commits."""
    recorded = suppressed = unmatched = 0
    for report in reports:
        if report.kind is not ReportKind.DELIVERED and (
            report.permanent or report.kind is ReportKind.COMPLAINT
        ):
            reason = (
                SuppressionReason.COMPLAINT
                if report.kind is ReportKind.COMPLAINT
                else SuppressionReason.HARD_BOUNCE
            )
            if _suppress(session, ctx, report.email, reason, source, report.reason):
                suppressed += 1
        message_id = _message_id(session, report.message)
        if message_id is not None and record_outcome(session, ctx, message_id, *_event(report)):
            recorded += 1
        else:
            unmatched += 1
    return ReportOutcome(recorded=recorded, suppressed=suppressed, unmatched=unmatched)


# --- Amazon SES (through SNS) --------------------------------------------------------------------


def ses_reports(payload: Any) -> list[EmailReport] | SubscriptionConfirmation:
    """The reports in an SNS notification from SES (or an SES event delivered raw).

    Bounce (Permanent is hard; Transient and Undetermined are soft), Complaint and Delivery
    notifications are read; SNS subscription confirmations are returned for someone to confirm.
    """
    if not isinstance(payload, dict):
        raise InvalidInput.single("body", "an SNS notification is a JSON object")
    if payload.get("Type") == "SubscriptionConfirmation":
        url = payload.get("SubscribeURL")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise InvalidInput.single(
                "SubscribeURL", "a subscription confirmation needs its https SubscribeURL"
            )
        return SubscriptionConfirmation(topic_arn=payload.get("TopicArn"), subscribe_url=url)
    event = payload
    if payload.get("Type") == "Notification":
        try:
            event = json.loads(payload.get("Message") or "")
        except json.JSONDecodeError as exc:
            raise InvalidInput.single("Message", f"the SNS Message is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise InvalidInput.single("Message", "the SES event is a JSON object")
    kind = event.get("notificationType") or event.get("eventType")
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    message = _ses_message(mail)
    if kind == "Bounce":
        bounce = _object(event, "bounce")
        permanent = bounce.get("bounceType") == "Permanent"
        kind_reason = f"{bounce.get('bounceType', 'Bounce')}/{bounce.get('bounceSubType', 'General')}"
        return [
            EmailReport(
                ReportKind.BOUNCE,
                _address(recipient, "bounce.bouncedRecipients.emailAddress"),
                message,
                _clip(recipient.get("diagnosticCode") or recipient.get("status") or kind_reason),
                permanent,
            )
            for recipient in _recipients(bounce, "bouncedRecipients")
        ]
    if kind == "Complaint":
        complaint = _object(event, "complaint")
        reason = _clip(complaint.get("complaintFeedbackType") or "complaint")
        return [
            EmailReport(
                ReportKind.COMPLAINT,
                _address(recipient, "complaint.complainedRecipients.emailAddress"),
                message,
                reason,
            )
            for recipient in _recipients(complaint, "complainedRecipients")
        ]
    if kind == "Delivery":
        delivery = _object(event, "delivery")
        recipients = delivery.get("recipients")
        if not isinstance(recipients, list):
            raise InvalidInput.single("delivery.recipients", "a delivery names its recipients")
        reason = _clip(delivery.get("smtpResponse"))
        return [EmailReport(ReportKind.DELIVERED, str(address), message, reason) for address in recipients]
    # Sends, opens, rejects and other SES events are ours to record already, or not email outcomes.
    return []


def _ses_message(mail: dict[str, Any]) -> str | None:
    headers = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    ours = headers.get("messageId")
    if isinstance(ours, str) and _OUR_MESSAGE_ID.fullmatch(ours.strip()):
        return ours.strip()
    return mail.get("messageId") if isinstance(mail.get("messageId"), str) else None


def _object(event: dict[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    if not isinstance(value, dict):
        raise InvalidInput.single(name, f"a {name} notification holds a '{name}' object")
    return value


def _recipients(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    recipients = section.get(name)
    if not isinstance(recipients, list) or not all(isinstance(r, dict) for r in recipients):
        raise InvalidInput.single(name, "a list of recipient objects")
    return recipients


def _address(recipient: dict[str, Any], field: str) -> str:
    address = recipient.get("emailAddress")
    if not isinstance(address, str) or "@" not in address:
        raise InvalidInput.single(field, "each recipient needs its email address")
    return parseaddr(address)[1] or address


# --- The generic JSON format -----------------------------------------------------------------------


def generic_reports(payload: Any) -> list[EmailReport]:
    """Reports in Funnelwise's own shape, one object or an array of them.

    `{"type": "bounce" | "complaint" | "delivered", "email": "…", "message_id": <outbox id or our
    Message-ID>, "reason": "…", "permanent": true}`; `permanent` (bounces only) defaults to true.
    """
    items = payload if isinstance(payload, list) else [payload]
    errors: list[FieldError] = []
    reports = []
    for index, item in enumerate(items):
        where = f"{index}." if isinstance(payload, list) else ""
        if not isinstance(item, dict):
            errors.append(FieldError(where.rstrip(".") or "body", "a report is a JSON object"))
            continue
        kind, email, message = item.get("type"), item.get("email"), item.get("message_id")
        permanent, reason = item.get("permanent", True), item.get("reason")
        found = len(errors)
        if kind not in _KINDS:
            errors.append(FieldError(f"{where}type", "must be 'bounce', 'complaint' or 'delivered'"))
        if not isinstance(email, str) or "@" not in email:
            errors.append(FieldError(f"{where}email", "the recipient's email address is required"))
        if message is not None and (isinstance(message, bool) or not isinstance(message, int | str)):
            errors.append(FieldError(f"{where}message_id", "an outbox id or a Message-ID"))
        if not isinstance(permanent, bool):
            errors.append(FieldError(f"{where}permanent", "must be true or false"))
        if reason is not None and not isinstance(reason, str):
            errors.append(FieldError(f"{where}reason", "must be text"))
        if len(errors) == found:
            reports.append(EmailReport(ReportKind(kind), email, message, _clip(reason), permanent))
    if errors:
        raise InvalidInput(errors)
    return reports


# --- DSN mail (RFC 3464) and feedback reports (ARF, RFC 5965) ---------------------------------------


def dsn_reports(raw: bytes) -> list[EmailReport]:
    """The per-recipient outcomes of a delivery status notification, or of an abuse feedback report.

    Action "failed" with a 5.x.x status is a hard bounce; "failed" with 4.x.x and "delayed" are
    soft; "delivered" and "relayed" are deliveries. A mail that is neither report gives nothing.
    """
    mail = message_from_bytes(raw, policy=policy.compat32)
    if mail.get_content_type() != "multipart/report":
        return []
    original = _original_message_id(mail)
    for part in mail.walk():
        if part.get_content_type() == "message/delivery-status":
            return _delivery_status(part, original)
        if part.get_content_type() == "message/feedback-report":
            return _feedback_report(part, mail, original)
    return []


def _delivery_status(part: Message, original: str | None) -> list[EmailReport]:
    # The parser reads message/delivery-status as one header block per entry: the message's
    # fields first, then one block per recipient.
    blocks = [block for block in part.get_payload() if isinstance(block, Message)]
    reports = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        recipient = _typed_address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        action = (block.get("Action") or "").strip().lower()
        if recipient is None or not action:
            continue
        status = _STATUS.search(block.get("Status") or "")
        reason = _clip(_unfold(block.get("Diagnostic-Code")) or (status and f"status {status[0]}") or action)
        if action in ("delivered", "relayed", "expanded"):
            reports.append(EmailReport(ReportKind.DELIVERED, recipient, original, reason))
        elif action in ("failed", "delayed"):
            permanent = action == "failed" and status is not None and status[1] == "5"
            reports.append(EmailReport(ReportKind.BOUNCE, recipient, original, reason, permanent))
    return reports


def _feedback_report(part: Message, mail: Message, original: str | None) -> list[EmailReport]:
    fields = _header_block(part)
    recipient = (
        _typed_address(fields.get("Original-Rcpt-To"))
        or parseaddr(fields.get("Original-Rcpt-To") or "")[1]
        or _original_header(mail, "To")
    )
    if not recipient or "@" not in recipient:
        return []
    reason = _clip(fields.get("Feedback-Type") or "abuse")
    return [EmailReport(ReportKind.COMPLAINT, recipient, original, reason)]


def _original_message_id(mail: Message) -> str | None:
    message_id = _original_header(mail, "Message-ID")
    return message_id.strip() if message_id else None


def _original_header(mail: Message, name: str) -> str | None:
    """A header of the message the report is about (the returned message or its headers)."""
    for part in mail.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get(name):
                value = inner.get(name)
                return parseaddr(value)[1] if name == "To" else str(value)
        elif content_type == "text/rfc822-headers":
            headers = _header_block(part)
            if headers.get(name):
                value = headers.get(name)
                return parseaddr(value)[1] if name == "To" else str(value)
    return None


def _header_block(part: Message) -> Message:
    payload = part.get_payload(decode=True)
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(part.get_payload())
    return HeaderParser().parsestr(text.lstrip())


def _typed_address(value: str | None) -> str | None:
    """`rfc822; someone@example.org` → `someone@example.org`."""
    if not value:
        return None
    address_type, _, address = value.partition(";")
    if not address:
        address, address_type = address_type, "rfc822"
    address = address.strip().strip("<>")
    return address if address_type.strip().lower() == "rfc822" and "@" in address else None


def _unfold(value: str | None) -> str | None:
    return " ".join(value.split()) if value else None


# --- Applying ----------------------------------------------------------------------------------------


def _event(report: EmailReport) -> tuple[str, dict[str, Any]]:
    match report.kind:
        case ReportKind.BOUNCE:
            return BOUNCED, {"email": report.email, "reason": report.reason, "permanent": report.permanent}
        case ReportKind.COMPLAINT:
            return COMPLAINED, {"email": report.email, "reason": report.reason}
        case ReportKind.DELIVERED:
            return DELIVERED, {"email": report.email, "reason": report.reason}


def _message_id(session: Session, message: int | str | None) -> int | None:
    """The outbox id a report names: given outright, in our Message-ID, or as the provider's id."""
    if isinstance(message, int):
        return message
    if not message:
        return None
    text = message.strip()
    if text.isdigit() and len(text) <= 19:
        return int(text)
    ours = _OUR_MESSAGE_ID.fullmatch(text)
    if ours is not None:
        # Ours only if the row was sent under this Message-ID (not another install's same id).
        found = session.execute(
            select(OutboxMessage.provider_message_id).where(OutboxMessage.id == int(ours[1]))
        ).first()
        if found is None or found.provider_message_id not in (
            None,
            text if text.startswith("<") else f"<{text}>",
        ):
            return None
        return int(ours[1])
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.provider_message_id == text).limit(1))


def _suppress(
    session: Session, ctx: Context, email: str, reason: str, source: str, detail: str | None
) -> bool:
    try:
        return suppress(session, ctx, SuppressionKind.EMAIL, email, reason, source, detail)
    except InvalidInput:
        # A provider reporting an address we could never have sent to: nothing to suppress.
        return False


def _clip(text: Any) -> str | None:
    return str(text)[:REASON_LIMIT] if text else None
