"""Segments: define, change, look up, preview and count; membership itself is kept by `upkeep`."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.conditions import (
    Condition,
    check_names,
    compile_condition,
    dump_condition,
    parse_condition,
    without_jit,
)
from funnelwise.contacts.models import Contact
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.segments.models import Segment, SegmentMembership
from funnelwise.segments.schemas import (
    MemberOut,
    NameWarningOut,
    PreviewIn,
    PreviewOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SegmentSaved,
)
from funnelwise.segments.upkeep import refresh_segment


def parse_definition(data: Any) -> Condition:
    """A condition tree from a segment's `condition`; errors name the bad node as `condition.<path>`."""
    try:
        return parse_condition(data)
    except InvalidInput as exc:
        raise InvalidInput([_under_condition(error) for error in exc.errors]) from None


def create_segment(session: Session, ctx: Context, data: SegmentIn) -> SegmentSaved:
    """Stores the segment and finds its first members (each one logs `Segment Entered`)."""
    tree = parse_definition(data.condition)
    now = ctx.clock.now()
    segment = Segment(
        name=data.name,
        description=data.description,
        condition=dump_condition(tree),
        created_at=now,
        updated_at=now,
    )
    _write(session, data.name, lambda: session.add(segment))
    refresh_segment(session, ctx, segment.id)
    return SegmentSaved(segment=_out(session, segment), warnings=_warnings(session, tree))


def update_segment(session: Session, ctx: Context, segment_id: int, data: SegmentPatch) -> SegmentSaved:
    """Changes what the input names; a new condition re-decides every member at once."""
    segment = _load(session, segment_id)
    tree = parse_definition(data.condition if data.condition is not None else segment.condition)
    changes = data.model_dump(exclude_none=True) | {"updated_at": ctx.clock.now()}
    if data.condition is not None:
        changes["condition"] = dump_condition(tree)
    _write(
        session,
        segment.name if data.name is None else data.name,
        lambda: [setattr(segment, name, value) for name, value in changes.items()],
    )
    if data.condition is not None:
        refresh_segment(session, ctx, segment.id)
    return SegmentSaved(segment=_out(session, segment), warnings=_warnings(session, tree))


def delete_segment(session: Session, segment_id: int) -> None:
    """Forgets the segment and its membership history; the events it logged stay in the log."""
    session.delete(_load(session, segment_id))
    session.flush()


def get_segment(session: Session, segment_id: int) -> SegmentOut:
    return _out(session, _load(session, segment_id))


def list_segments(session: Session) -> list[SegmentOut]:
    counts = dict(
        session.execute(
            select(SegmentMembership.segment_id, func.count())
            .where(SegmentMembership.exited_at.is_(None))
            .group_by(SegmentMembership.segment_id)
        ).all()
    )
    segments = session.scalars(select(Segment).order_by(Segment.id))
    return [_out(session, segment, counts.get(segment.id, 0)) for segment in segments]


def segment_id_named(session: Session, name: str) -> int:
    """The id of the segment with this name, or with this id when it is a number no name matches."""
    found = session.scalar(select(Segment.id).where(Segment.name == name))
    if found is None and name.isdigit():
        found = session.scalar(select(Segment.id).where(Segment.id == int(name)))
    if found is None:
        raise NotFound("segment", name)
    return found


def segment_members(
    session: Session, segment_id: int, *, cursor: str | None = None, limit: int = 100
) -> Page[MemberOut]:
    """The contacts in the segment now, by id, a page at a time."""
    _load(session, segment_id)
    query = (
        select(Contact)
        .join(SegmentMembership, SegmentMembership.contact_id == Contact.id)
        .where(SegmentMembership.segment_id == segment_id, SegmentMembership.exited_at.is_(None))
        .order_by(Contact.id)
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(Contact.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[MemberOut.model_validate(row) for row in rows[:limit]], next_cursor=next_cursor)


def preview(session: Session, ctx: Context, data: PreviewIn) -> PreviewOut:
    """How many contacts an unsaved condition matches now, and the first few of them."""
    tree = parse_definition(data.condition)
    matches = compile_condition(tree, ctx.clock.now(), ctx.settings.tz, dialect_name(session))
    with without_jit(session):
        count = session.scalar(select(func.count()).select_from(Contact).where(matches)) or 0
        sample = list(
            session.scalars(select(Contact).where(matches).order_by(Contact.id).limit(data.sample_size))
        )
    return PreviewOut(
        count=count,
        sample=[MemberOut.model_validate(contact) for contact in sample],
        warnings=_warnings(session, tree),
    )


def load_segment(session: Session, segment_id: int) -> Segment:
    return _load(session, segment_id)


def _load(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("segment", segment_id)
    return segment


def _write(session: Session, name: str, write: Callable[[], object]) -> None:
    if not write_or_undo(session, write):
        raise Conflict("name", f"a segment named {name!r} exists already")


def _out(session: Session, segment: Segment, member_count: int | None = None) -> SegmentOut:
    if member_count is None:
        member_count = (
            session.scalar(
                select(func.count()).where(
                    SegmentMembership.segment_id == segment.id, SegmentMembership.exited_at.is_(None)
                )
            )
            or 0
        )
    return SegmentOut(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        condition=segment.condition,
        member_count=member_count,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
        refreshed_at=segment.refreshed_at,
    )


def _warnings(session: Session, tree: Condition) -> list[NameWarningOut]:
    return [NameWarningOut(path=w.path, message=w.message) for w in check_names(session, tree)]


def _under_condition(error: FieldError) -> FieldError:
    field = error.field if error.field == "condition" else f"condition.{error.field}"
    return FieldError(field, error.message)
