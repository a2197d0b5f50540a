"""Delivery reports from providers, back into the log: `<Channel> Delivered` and `<Channel> Failed`.

A report names a message by the provider's id (recorded when the provider took it) or by our
idempotency key (which the generic adapter sends as `id` and Solapi echoes in `customFields`).
The first report of an outcome sets the message's `delivered_at` (or marks it failed with the
reason) and logs one event; a provider repeating itself changes nothing. A failed Kakao AlimTalk
message is handed to the SMS fallback.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.channels.solapi import KEY_FIELD
from funnelwise.messaging.channels.solapi import NAME as SOLAPI
from funnelwise.messaging.message import MessageChannel, event_name, event_properties
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.log import record_event

# Solapi's status codes: 2000 taken, 3000 handed to the carrier (both still on the way), 4000
# received by the phone; every other code is a failure, explained by its statusMessage.
SOLAPI_DELIVERED = "4000"
SOLAPI_PENDING = frozenset({"2000", "3000"})
REASON_LIMIT = 1000
# A message may be reported on once the provider has it (or may have it: unknown after a crash).
_REPORTABLE = (OutboxStatus.SENT.value, OutboxStatus.UNKNOWN.value)


@dataclass(frozen=True)
class DeliveryReport:
    """One provider's word on one message; `delivered` False means it failed, with `reason`."""

    provider: str
    provider_message_id: str | None
    idempotency_key: str | None
    delivered: bool
    reason: str | None = None


@dataclass(frozen=True)
class ReportOutcome:
    recorded: int  # reports that changed a message and logged an event
    repeated: int  # reports of an outcome already recorded, or contradicting it
    unknown: int  # reports naming no message of ours


def record_reports(session: Session, ctx: Context, reports: Iterable[DeliveryReport]) -> ReportOutcome:
    """Applies each report to its message; the caller commits."""
    recorded = repeated = unknown = 0
    for report in reports:
        message = _find(session, report)
        if message is None:
            unknown += 1
        elif _apply(session, ctx, message, report):
            recorded += 1
        else:
            repeated += 1
    return ReportOutcome(recorded=recorded, repeated=repeated, unknown=unknown)


def solapi_reports(payload: Any) -> list[DeliveryReport]:
    """The final outcomes in a Solapi message-report webhook call (a JSON array).

    Each item is `{"eventDataId", "data": {messageId, statusCode, statusMessage, customFields, …},
    "retryCount"}`; older accounts send the message object itself, which is taken too. Reports
    of a message still on its way (2000, 3000) are left out.
    """
    if not isinstance(payload, list):
        raise InvalidInput.single("body", "a Solapi report is a JSON array of message reports")
    reports = []
    for index, item in enumerate(payload):
        data = item.get("data", item) if isinstance(item, dict) else None
        if not isinstance(data, dict) or not (data.get("messageId") or _solapi_key(data)):
            raise InvalidInput.single(f"{index}.data.messageId", "each report must name its message")
        status = str(data.get("statusCode", ""))
        if status in SOLAPI_PENDING:
            continue
        delivered = status == SOLAPI_DELIVERED
        reason = (
            None if delivered else f"{str(data.get('statusMessage') or 'failed').strip()} (status {status})"
        )
        reports.append(
            DeliveryReport(
                provider=SOLAPI,
                provider_message_id=data.get("messageId"),
                idempotency_key=_solapi_key(data),
                delivered=delivered,
                reason=reason,
            )
        )
    return reports


def generic_reports(payload: Any, provider: str) -> list[DeliveryReport]:
    """Reports in the generic adapter's documented shape, one object or an array of them.

    `{"id": <our idempotency key> | "provider_message_id": <the gateway's id>,
      "status": "delivered" | "failed", "reason": <why it failed>}`
    """
    items = payload if isinstance(payload, list) else [payload]
    errors: list[FieldError] = []
    reports = []
    for index, item in enumerate(items):
        where = f"{index}." if isinstance(payload, list) else ""
        if not isinstance(item, dict):
            errors.append(FieldError(where.rstrip(".") or "body", "a report is a JSON object"))
            continue
        key, gateway_id, status = item.get("id"), item.get("provider_message_id"), item.get("status")
        if not (isinstance(key, str) and key) and not (isinstance(gateway_id, str) and gateway_id):
            errors.append(FieldError(f"{where}id", "name the message by 'id' or 'provider_message_id'"))
        if status not in ("delivered", "failed"):
            errors.append(FieldError(f"{where}status", "must be 'delivered' or 'failed'"))
        if errors:
            continue
        reason = item.get("reason")
        reports.append(
            DeliveryReport(
                provider=provider,
                provider_message_id=gateway_id or None,
                idempotency_key=key or None,
                delivered=status == "delivered",
                reason=None if status == "delivered" else str(reason or "failed"),
            )
        )
    if errors:
        raise InvalidInput(errors)
    return reports


def _solapi_key(data: dict[str, Any]) -> str | None:
    fields = data.get("customFields")
    key = fields.get(KEY_FIELD) if isinstance(fields, dict) else None
    return key if isinstance(key, str) and key else None


def _find(session: Session, report: DeliveryReport) -> OutboxMessage | None:
    if report.provider_message_id:
        found = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.provider_message_id == report.provider_message_id,
                OutboxMessage.provider == report.provider,
            )
        ).first()
        if found is not None:
            return found
    if report.idempotency_key:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == report.idempotency_key)
        ).first()
    return None


def _apply(session: Session, ctx: Context, message: OutboxMessage, report: DeliveryReport) -> bool:
    """Records the report's outcome unless one is recorded already; whether it did."""
    now = ctx.clock.now()
    # One conditional UPDATE decides, so two copies of a report arriving at once log one event.
    if report.delivered:
        # A message a crash left `unknown` that the provider reports delivered was sent after all.
        changes = {"delivered_at": now, "status": OutboxStatus.SENT.value}
    else:
        changes = {"status": OutboxStatus.FAILED.value, "error": (report.reason or "failed")[:REASON_LIMIT]}
    changed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.status.in_(_REPORTABLE),
        )
        .values(updated_at=now, **changes)
    )
    if not changed.rowcount:
        return False
    what = "Delivered" if report.delivered else "Failed"
    properties = _properties(message) | ({} if report.delivered else {"reason": report.reason})
    record_event(
        session,
        ctx,
        message.contact_id,
        event_name(message.channel, what),
        properties,
        message_id=f"msg-{message.id}-report-{what.lower()}",
    )
    if not report.delivered and message.channel == MessageChannel.KAKAO:
        # Imported here: the fallback module queues through the sender's machinery.
        from funnelwise.messaging.fallback import fall_back_to_sms

        fall_back_to_sms(session, ctx, message.id, report.reason or "failed")
    return True


def _properties(message: OutboxMessage) -> dict[str, Any]:
    return event_properties(message.id, message) | {"provider": message.provider}
