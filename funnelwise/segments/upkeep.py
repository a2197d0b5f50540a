"""Keeping segment membership true: for one contact as its events arrive, for a segment as time passes.

`update_memberships` re-decides every segment for a few contacts in memory (the hot path of an
incoming event); `refresh_segment` re-decides one segment for every contact at once in SQL, for
conditions that change with time alone (sliding windows, anniversaries). Both open a stay and log
`Segment Entered` when a contact enters, close it and log `Segment Exited` when it leaves, with
message ids that make a retry store nothing twice.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Text, bindparam, cast, exists, func, literal, null, select, union_all, update
from sqlalchemy.orm import Session

from funnelwise.conditions import (
    Condition,
    compile_condition,
    contact_facts,
    evaluate,
    event_names,
    parse_condition,
    reads_consents,
    without_jit,
)
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.types import UTCDateTime
from funnelwise.errors import NotFound
from funnelwise.scoring.reading import current_scores
from funnelwise.segments.log import SEGMENT_ENTERED, SEGMENT_EXITED, LogEntry, log_entries, log_stays
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember
from funnelwise.segments.schemas import Change, MembershipChange, RefreshOut

_contacts = Contact.__table__
_stays = SegmentMembership.__table__
_STAY_COLUMNS = ["segment_id", "contact_id", "entered_at"]


@dataclass(frozen=True)
class ActiveSegment:
    id: int
    name: str
    tree: Condition
    event_names: frozenset[str]
    reads_consents: bool


def active_segments(session: Session) -> list[ActiveSegment]:
    """Every stored segment with its parsed condition, in the order they were created."""
    # The condition as stored text: the parse cache's key, without decoding 50 documents per event.
    rows = session.execute(
        select(Segment.id, Segment.name, cast(Segment.condition, Text)).order_by(Segment.id)
    )
    return [ActiveSegment(id, name, *_parsed(condition)) for id, name, condition in rows]


def update_memberships(session: Session, ctx: Context, contact_ids: Iterable[int]) -> list[MembershipChange]:
    """Re-decides every segment for these contacts alone and records what changed.

    Ids of contacts that no longer exist are skipped. Segments are decided in the order they were
    created, so an `in_segment` leaf sees the membership decided just before it.
    """
    segments = active_segments(session)
    ids = sorted(set(contact_ids))
    if not segments or not ids:
        return []
    now, tz = ctx.clock.now(), ctx.settings.tz
    names = frozenset().union(*(segment.event_names for segment in segments))
    consents = any(segment.reads_consents for segment in segments)
    by_id = {segment.id: segment for segment in segments}
    stays, lists = _memberships(session, ids)
    # What the `score` and `grade` leaves read: the scores the worker decided just before.
    scores = current_scores(session, ids)
    changes: list[MembershipChange] = []
    for contact, company in session.execute(_with_companies(session, ids)):
        contact_id = contact.id
        inside = stays[contact_id]
        extra: dict[str, Any] = {
            "lists": lists[contact_id],
            "segments": _references(inside, by_id),
            "scores": scores.get(contact_id, {}),
        }
        facts = replace(contact_facts(session, contact, company, names, consents=consents), extra=extra)
        for segment in segments:
            matches = evaluate(segment.tree, facts, now, tz)
            if matches == (segment.id in inside):
                continue
            change = Change.ENTERED if matches else Change.EXITED
            changes.append(
                MembershipChange(
                    segment_id=segment.id,
                    segment_name=segment.name,
                    contact_id=contact_id,
                    change=change,
                    at=now,
                )
            )
            inside ^= {segment.id}
            extra["segments"] = _references(inside, by_id)
    _record(session, changes)
    return changes


def refresh_segment(session: Session, ctx: Context, segment_id: int) -> RefreshOut:
    """Re-decides one segment for every contact in two statements: exits first, then entries."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("segment", segment_id)
    now = ctx.clock.now()
    matches = compile_condition(
        parse_condition(segment.condition), now, ctx.settings.tz, dialect_name(session)
    )
    stamp = literal(now, UTCDateTime())
    still = select(1).select_from(_contacts).where(_contacts.c.id == _stays.c.contact_id, matches)
    leaving = (
        update(_stays)
        .where(_stays.c.segment_id == segment_id, _stays.c.exited_at.is_(None), ~exists(still))
        .values(exited_at=stamp)
    )
    open_stay = select(1).where(
        _stays.c.segment_id == segment_id, _stays.c.contact_id == _contacts.c.id, _stays.c.exited_at.is_(None)
    )
    newcomers = select(literal(segment_id), _contacts.c.id, stamp).where(matches, ~exists(open_stay))
    entering = insert(session, _stays).from_select(_STAY_COLUMNS, newcomers)
    with without_jit(session):
        exited = session.execute(leaving).rowcount
        # RETURNING counts them: psycopg reports no row count for INSERT … SELECT … ON CONFLICT.
        entered = len(session.scalars(_unless_open(entering).returning(_stays.c.contact_id)).all())
    if exited:
        log_stays(session, segment.id, segment.name, Change.EXITED, now)
    if entered:
        log_stays(session, segment.id, segment.name, Change.ENTERED, now)
    segment.refreshed_at = now
    session.flush()
    members = session.scalar(
        select(func.count()).where(_stays.c.segment_id == segment_id, _stays.c.exited_at.is_(None))
    )
    return RefreshOut(
        segment_id=segment.id, segment_name=segment.name, entered=entered, exited=exited, members=members or 0
    )


def refresh_all(session: Session, ctx: Context) -> list[RefreshOut]:
    """Refreshes every segment, in the order they were created."""
    return [
        refresh_segment(session, ctx, segment_id)
        for segment_id in session.scalars(select(Segment.id).order_by(Segment.id))
    ]


@lru_cache(maxsize=1024)
def _parsed(condition_json: str) -> tuple[Condition, frozenset[str], bool]:
    """A stored condition, its event names and whether it reads consents, once per process per text."""
    tree = parse_condition(json.loads(condition_json))
    return tree, frozenset(event_names(tree)), reads_consents(tree)


def _with_companies(session: Session, ids: list[int]) -> Select[tuple[Contact, Company]]:
    """The contacts that still exist, each with its company, in one statement."""
    return (
        select(Contact, Company)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(one_of(session, Contact.id, ids))
        .order_by(Contact.id)
    )


def _memberships(
    session: Session, ids: list[int]
) -> tuple[defaultdict[int, set[int]], defaultdict[int, set[int | str]]]:
    """Each contact's open stays (segment ids), and its lists by id and name as `in_list` reads them.

    One statement for both: on the hot path every round trip counts.
    """
    stays_query = select(literal("segment"), _stays.c.contact_id, _stays.c.segment_id, null()).where(
        one_of(session, _stays.c.contact_id, ids), _stays.c.exited_at.is_(None)
    )
    lists_query = (
        select(literal("list"), StaticListMember.contact_id, StaticList.id, StaticList.name)
        .join(StaticList, StaticList.id == StaticListMember.list_id)
        .where(one_of(session, StaticListMember.contact_id, ids))
    )
    stays: defaultdict[int, set[int]] = defaultdict(set)
    lists: defaultdict[int, set[int | str]] = defaultdict(set)
    for kind, contact_id, owner_id, name in session.execute(union_all(stays_query, lists_query)):
        if kind == "segment":
            stays[contact_id].add(owner_id)
        else:
            lists[contact_id] |= {owner_id, name}
    return stays, lists


def _references(segment_ids: set[int], by_id: dict[int, ActiveSegment]) -> frozenset[int | str]:
    return frozenset(segment_ids) | {by_id[segment_id].name for segment_id in segment_ids}


def _unless_open(statement: Any) -> Any:
    """The stay insert, doing nothing for a contact with an open stay (a concurrent upkeep's)."""
    return statement.on_conflict_do_nothing(
        index_elements=["segment_id", "contact_id"], index_where=_stays.c.exited_at.is_(None)
    )


def _record(session: Session, changes: list[MembershipChange]) -> None:
    entries = [c for c in changes if c.change == Change.ENTERED]
    exits = [c for c in changes if c.change == Change.EXITED]
    if entries:
        rows = [{"segment_id": c.segment_id, "contact_id": c.contact_id, "entered_at": c.at} for c in entries]
        session.execute(_unless_open(insert(session, _stays)), rows)
    if exits:
        closing = (
            update(_stays)
            .where(
                _stays.c.segment_id == bindparam("s"),
                _stays.c.contact_id == bindparam("c"),
                _stays.c.exited_at.is_(None),
            )
            .values(exited_at=bindparam("at"))
        )
        session.execute(closing, [{"s": c.segment_id, "c": c.contact_id, "at": c.at} for c in exits])
    log_entries(
        session,
        [
            LogEntry(
                SEGMENT_ENTERED if c.change == Change.ENTERED else SEGMENT_EXITED,
                "segment",
                c.segment_id,
                c.contact_id,
                c.change,
                c.at,
                {"segment_id": c.segment_id, "segment_name": c.segment_name},
            )
            for c in changes
        ],
    )
