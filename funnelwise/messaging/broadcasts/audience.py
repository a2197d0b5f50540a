"""Who a broadcast goes to: the current members of its segment or list, walked in chunks by id."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from funnelwise.errors import InvalidInput
from funnelwise.messaging.models import Broadcast
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember


@dataclass(frozen=True)
class AudienceSource:
    """A segment or a list, by id; exactly one is set."""

    segment_id: int | None
    list_id: int | None

    @classmethod
    def of(cls, broadcast: Broadcast) -> "AudienceSource":
        return cls(broadcast.segment_id, broadcast.list_id)


def resolve_source(
    session: Session, segment: str | int | None, static_list: str | int | None
) -> AudienceSource:
    """The segment or list a definition names (by name, or by id when no name matches)."""
    if segment is None and static_list is None:
        raise InvalidInput.single("segment", "a broadcast needs a segment or a list to send to")
    if segment is not None and static_list is not None:
        raise InvalidInput.single("list", "name a segment or a list, not both")
    if segment is not None:
        return AudienceSource(_named(session, Segment, segment, "segment"), None)
    return AudienceSource(None, _named(session, StaticList, static_list, "list"))


def members(source: AudienceSource) -> Select[tuple[int]]:
    """The contact ids in the audience now, one row each, as a `contact_id` column."""
    if source.segment_id is not None:
        return select(SegmentMembership.contact_id.label("contact_id")).where(
            SegmentMembership.segment_id == source.segment_id, SegmentMembership.exited_at.is_(None)
        )
    if source.list_id is None:
        # Its segment or list was deleted after the broadcast was made: nobody is in it.
        return select(StaticListMember.contact_id.label("contact_id")).where(false())
    return select(StaticListMember.contact_id.label("contact_id")).where(
        StaticListMember.list_id == source.list_id
    )


def count(session: Session, audience: Select[tuple[int]]) -> int:
    return session.scalar(select(func.count()).select_from(audience.subquery())) or 0


def chunk_end(session: Session, audience: Select[tuple[int]], after: int, size: int) -> int | None:
    """The last contact id of the chunk of `size` that starts after `after`; None for the final one."""
    ids = audience.subquery()
    return session.scalar(
        select(ids.c.contact_id)
        .where(ids.c.contact_id > after)
        .order_by(ids.c.contact_id)
        .offset(size - 1)
        .limit(1)
    )


def _named(session: Session, model: Any, key: str | int, field: str) -> int:
    text = str(key)
    found = session.scalar(select(model.id).where(model.name == text))
    if found is None and text.isdigit() and len(text) < 19:
        found = session.scalar(select(model.id).where(model.id == int(text)))
    if found is None:
        raise InvalidInput.single(field, f"no {field} named {text!r}")
    return found
