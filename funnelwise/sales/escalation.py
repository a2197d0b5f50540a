"""Escalating overdue tasks to a manager by email or a signed webhook, exactly once.

An open task past its due time is found once (its `escalated_at` is set in the same transaction
that queues its messages); each message is a `sales_escalations` row, unique on its idempotency key.
A message is claimed (`sending`, committed) before it is sent and settled after. A crash between
the two leaves it `sending`: an email is then marked `unknown` and never retried (never twice);
a webhook is retried with the same `Idempotency-Key`, which its receiver uses to drop repeats.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.auth.models import User
from funnelwise.config import SettingsError
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.messaging.mail import Mail, send_mail
from funnelwise.sales.log import TASK_OVERDUE
from funnelwise.sales.models import Escalation, SalesTask, SlaPolicy
from funnelwise.sales.schemas import EscalationOut, EscalationReport
from funnelwise.sales.tasks import OPEN
from funnelwise.sales.teams import manager_of
from funnelwise.sales.webhooks import RefusedAddress, post_signed
from funnelwise.tracking.log import SystemEvent, record_events

EMAIL, WEBHOOK = "email", "webhook"
PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"
MAX_ATTEMPTS = 5
# A message claimed longer ago than this belongs to a worker that died while sending it.
STALE_AFTER = timedelta(minutes=10)
_BATCH = 100
_escalations = Escalation.__table__


@dataclass(frozen=True)
class _Outcome:
    status: str
    error: str = ""


@dataclass(frozen=True)
class _Send:
    """A claimed message, ready to go: a mail, or a webhook's payload and secret."""

    escalation_id: int
    channel: str
    target: str
    key: str
    mail: Mail | None = None
    payload: dict[str, Any] | None = None
    secret: str | None = None
    problem: str | None = None


def escalate_overdue(session: Session, ctx: Context) -> EscalationReport:
    """Queues and sends the escalations of every overdue open task (the worker's call, each tick).

    Commits the session, so pass one that is not inside `sessions.begin()`: the queued and claimed
    messages commit before any is sent, and each outcome commits on its own, so a message that may
    have left is never sent again. No transaction is open while a message is in flight.
    """
    now = ctx.clock.now()
    unknown = _settle_stale(session, now)
    overdue, queued = _queue(session, ctx, now)
    sends = _claim(session, ctx, now)
    session.commit()
    counts = {SENT: 0, PENDING: 0, FAILED: 0, UNKNOWN: unknown}
    for send in sends:
        outcome = _send(ctx, send)
        counts[_settle(session, ctx, send.escalation_id, outcome)] += 1
        session.commit()
    return EscalationReport(
        overdue_tasks=overdue,
        queued=queued,
        sent=counts[SENT],
        retrying=counts[PENDING],
        failed=counts[FAILED],
        unknown=counts[UNKNOWN],
    )


def escalate_due(sessions: sessionmaker[Session], ctx: Context) -> EscalationReport:
    """`escalate_overdue` in a session of its own: what a worker tick calls."""
    with sessions() as session:
        return escalate_overdue(session, ctx)


def task_escalations(session: Session, task_id: int) -> list[EscalationOut]:
    rows = session.scalars(select(Escalation).where(Escalation.task_id == task_id).order_by(Escalation.id))
    return [EscalationOut.model_validate(row) for row in rows]


def _settle_stale(session: Session, now: datetime) -> int:
    stale = (_escalations.c.status == SENDING, _escalations.c.claimed_at < now - STALE_AFTER)
    unknown = session.execute(
        update(_escalations)
        .where(*stale, _escalations.c.channel == EMAIL)
        .values(status=UNKNOWN, error="the worker stopped while sending; not retried, it may have arrived")
    ).rowcount
    session.execute(
        update(_escalations).where(*stale, _escalations.c.channel == WEBHOOK).values(status=PENDING)
    )
    return unknown


def _queue(session: Session, ctx: Context, now: datetime) -> tuple[int, int]:
    tasks = list(
        session.scalars(
            select(SalesTask)
            .where(SalesTask.status == OPEN, SalesTask.escalated_at.is_(None), SalesTask.due_at < now)
            .order_by(SalesTask.due_at, SalesTask.id)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    )
    rows: list[dict[str, Any]] = []
    entries: list[SystemEvent] = []
    for task in tasks:
        targets = _targets(session, task)
        rows += [
            {
                "task_id": task.id,
                "channel": channel,
                "target": target,
                "idempotency_key": _key(task.id, channel, target),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "error": "",
                "created_at": now,
            }
            for channel, target in targets
        ]
        task.escalated_at = now
        if task.contact_id is not None:
            entries.append(
                SystemEvent(
                    message_id=f"task-{task.id}-overdue",
                    contact_id=task.contact_id,
                    name=TASK_OVERDUE,
                    at=now,
                    properties={
                        "task_id": task.id,
                        "title": task.title,
                        "due_at": task.due_at.isoformat(),
                        "owner_id": task.owner_id,
                        "escalated_to": [target for _channel, target in targets],
                    },
                )
            )
    session.flush()
    queued = 0
    if rows:
        statement = insert(session, _escalations).on_conflict_do_nothing(index_elements=["idempotency_key"])
        queued = len(session.scalars(statement.returning(_escalations.c.id), rows).all())
    record_events(session, entries)
    return len(tasks), queued


def _targets(session: Session, task: SalesTask) -> list[tuple[str, str]]:
    """Where the escalation goes: the owner's team manager, the policy's address and its webhook."""
    policy = session.get(SlaPolicy, task.sla_policy_id) if task.sla_policy_id is not None else None
    targets: list[tuple[str, str]] = []
    if task.owner_id is not None and (policy is None or policy.escalate_to_manager):
        manager = manager_of(session, task.owner_id)
        if manager is not None:
            targets.append((EMAIL, manager.email))
    if policy is not None and policy.escalate_email:
        targets.append((EMAIL, policy.escalate_email))
    if policy is not None and policy.webhook_url:
        targets.append((WEBHOOK, policy.webhook_url))
    return list(dict.fromkeys(targets))


def _key(task_id: int, channel: str, target: str) -> str:
    return f"task-{task_id}-overdue-{channel}-{hashlib.sha256(target.encode()).hexdigest()[:16]}"


def _claim(session: Session, ctx: Context, now: datetime) -> list[_Send]:
    """Marks due messages `sending` and prepares each in full, so sending needs no database."""
    claimed = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.status == PENDING, Escalation.next_attempt_at <= now)
            .order_by(Escalation.id)
            .limit(_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    sends = []
    for escalation in claimed:
        escalation.status = SENDING
        escalation.claimed_at = now
        escalation.attempts += 1
        sends.append(_prepare(session, ctx, escalation))
    session.flush()
    return sends


def _prepare(session: Session, ctx: Context, escalation: Escalation) -> _Send:
    task = session.get_one(SalesTask, escalation.task_id)
    send = _Send(escalation.id, escalation.channel, escalation.target, escalation.idempotency_key)
    if escalation.channel == EMAIL:
        return replace(send, mail=_mail(session, ctx, task, escalation.target))
    policy = session.get(SlaPolicy, task.sla_policy_id) if task.sla_policy_id is not None else None
    if policy is None or not policy.webhook_secret:
        return replace(send, problem="the SLA policy that named this webhook is gone, and with it its secret")
    return replace(
        send, payload=_payload(session, ctx, task, escalation.idempotency_key), secret=policy.webhook_secret
    )


def _send(ctx: Context, send: _Send) -> _Outcome:
    if send.problem is not None:
        return _Outcome(FAILED, send.problem)
    if send.mail is not None:
        return _send_email(ctx, send.mail)
    assert send.payload is not None and send.secret is not None
    return _send_webhook(ctx, send.target, send.secret, send.key, send.payload)


def _settle(session: Session, ctx: Context, escalation_id: int, outcome: _Outcome) -> str:
    escalation = session.get_one(Escalation, escalation_id)
    now = ctx.clock.now()
    if outcome.status == PENDING and escalation.attempts >= MAX_ATTEMPTS:
        outcome = _Outcome(FAILED, f"gave up after {escalation.attempts} attempts: {outcome.error}")
    escalation.status = outcome.status
    escalation.error = outcome.error
    if outcome.status == SENT:
        escalation.sent_at = now
    if outcome.status == PENDING:
        escalation.next_attempt_at = now + timedelta(minutes=2**escalation.attempts)
    session.flush()
    return outcome.status


def _send_email(ctx: Context, mail: Mail) -> _Outcome:
    try:
        send_mail(ctx, mail)
    except SettingsError as exc:
        return _Outcome(FAILED, str(exc))
    except aiosmtplib.SMTPConnectError as exc:  # never reached the server: nothing was sent
        return _Outcome(PENDING, str(exc))
    except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
        return _Outcome(UNKNOWN, f"the server stopped answering; it may have arrived: {exc}")
    except aiosmtplib.SMTPException as exc:
        return _Outcome(FAILED, f"the server refused it: {exc}")
    except OSError as exc:
        return _Outcome(PENDING, str(exc))
    return _Outcome(SENT)


def _send_webhook(ctx: Context, url: str, secret: str, key: str, payload: dict[str, Any]) -> _Outcome:
    try:
        result = post_signed(ctx, url, secret, key, payload, ctx.clock.now())
    except RefusedAddress as exc:
        return _Outcome(FAILED, str(exc))
    except httpx.HTTPError as exc:  # the receiver drops a repeat by its Idempotency-Key
        return _Outcome(PENDING, f"{type(exc).__name__}: {exc}")
    if 200 <= result.status < 300:
        return _Outcome(SENT)
    if result.status in (408, 425, 429) or result.status >= 500:
        return _Outcome(PENDING, f"HTTP {result.status}")
    return _Outcome(FAILED, f"HTTP {result.status}")


def _mail(session: Session, ctx: Context, task: SalesTask, to: str) -> Mail:
    contact = session.get(Contact, task.contact_id) if task.contact_id is not None else None
    owner = session.get(User, task.owner_id) if task.owner_id is not None else None
    who = _contact_label(contact)
    due = task.due_at.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f'The task "{task.title}"{f" for {who}" if who else ""} was due {due} and is still open.',
        f"Owner: {f'{owner.name} <{owner.email}>' if owner else 'nobody'}",
        f"Task: {ctx.settings.public_url.rstrip('/')}/api/v1/sales/tasks/{task.id}",
    ]
    return Mail(
        to=to, subject=f"Overdue: {task.title}{f' — {who}' if who else ''}", text="\n".join(lines) + "\n"
    )


def _payload(session: Session, ctx: Context, task: SalesTask, key: str) -> dict[str, Any]:
    contact = session.get(Contact, task.contact_id) if task.contact_id is not None else None
    owner = session.get(User, task.owner_id) if task.owner_id is not None else None
    return {
        "type": "sales.task.overdue",
        "id": key,
        "occurred_at": ctx.clock.now().isoformat(),
        "task": {
            "id": task.id,
            "title": task.title,
            "due_at": task.due_at.isoformat(),
            "status": task.status,
            "sla_policy_id": task.sla_policy_id,
        },
        "contact": None
        if contact is None
        else {
            "id": contact.id,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "lifecycle_stage": contact.lifecycle_stage,
        },
        "owner": None if owner is None else {"id": owner.id, "email": owner.email, "name": owner.name},
    }


def _contact_label(contact: Contact | None) -> str:
    if contact is None:
        return ""
    name = " ".join(part for part in (contact.last_name, contact.first_name) if part)
    return (
        f"{name} <{contact.email}>" if name and contact.email else name or contact.email or f"#{contact.id}"
    )
