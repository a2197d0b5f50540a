"""The notice of an opt-in's or opt-out's result, which the law asks the sender to send (within 14 days).

When a consent to advertising becomes granted or revoked, one informational `system:consent-result`
message goes to the contact on that channel, naming the sender, the date and the result. Changes
of one contact, channel and result made together (unsubscribing from everything) share one notice.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.messaging.consent import ConsentOut, ConsentStatus
from funnelwise.messaging.consent_labels import NOTICE_CHANNEL, is_advertising_topic
from funnelwise.messaging.message import Purpose
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus

RESULT_TEMPLATE = "system:consent-result"
SOURCE = "compliance"
_KEY_LIMIT = 255


def queue_consent_results(session: Session, ctx: Context, consents: Sequence[ConsentOut]) -> int:
    """Queues the result notices of these consents' new statuses; how many were queued.

    Consents of informational topics, pending ones, and all of them when the setting
    `consent_result_notices` is off, get none.
    """
    if not ctx.settings.consent_result_notices:
        return 0
    groups: dict[tuple[int, str, str], list[ConsentOut]] = defaultdict(list)
    for consent in consents:
        if consent.status is ConsentStatus.PENDING or not is_advertising_topic(ctx.settings, consent.topic):
            continue
        groups[(consent.contact_id, consent.channel, consent.status.value)].append(consent)
    if not groups:
        return 0
    now = ctx.clock.now()
    rows: list[dict[str, Any]] = []
    for (contact_id, channel, status), group in groups.items():
        topics = sorted(consent.topic for consent in group)
        ids = ".".join(str(consent.id) for consent in sorted(group, key=lambda c: c.id))
        rows.append(
            {
                "idempotency_key": f"consent-result-{ids}-{status}-{now:%Y%m%dT%H%M%S.%fZ}"[:_KEY_LIMIT],
                "contact_id": contact_id,
                "channel": NOTICE_CHANNEL[channel].value,
                "template": RESULT_TEMPLATE,
                "status": OutboxStatus.QUEUED.value,
                "source": SOURCE,
                "variables": {
                    "consent_ids": [consent.id for consent in group],
                    "consent_channel": channel,
                    "topics": topics,
                    "status": status,
                    "at": now.isoformat(),
                },
                "purpose": Purpose.INFORMATIONAL.value,
                # One topic: unsubscribing from the notice itself is about that topic.
                "topic": topics[0] if len(topics) == 1 else None,
                "due_at": now,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    table = OutboxMessage.__table__
    session.execute(insert(session, table).on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
    return len(rows)
