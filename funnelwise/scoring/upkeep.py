"""Keeping scores true for a few contacts as their events arrive: the hot path, in memory.

`update_scores` re-scores these contacts in every model's current version (and in a version a
rescore is building, so that the switch loses nothing), stores what changed and logs a
`Score Changed` event for every contact whose current score moved.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, delete, false, select
from sqlalchemy.orm import Session

from funnelwise.conditions import contact_facts
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
from funnelwise.scoring.compute import Totals, grade_of, same, score_at, score_contact
from funnelwise.scoring.log import log_changes
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.rules import Scoring, scoring_of
from funnelwise.scoring.schemas import ScoreChange, VersionState
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember

_scores = ContactScore.__table__


@dataclass(frozen=True)
class LiveVersion:
    """A version whose scores are kept: the current one, or one a rescore is building."""

    id: int
    number: int
    model_id: int
    model_name: str
    current: bool
    scoring: Scoring
    needs_lists: bool
    reads_consents: bool


def live_versions(
    session: Session, contact_ids: list[int] | None = None
) -> tuple[list[LiveVersion], dict[tuple[int, int], Totals]]:
    """The versions kept up to date, and these contacts' stored totals in them, in one statement."""
    scores = _scores.alias("stored")
    on = scores.c.version_id == ScoreModelVersion.id
    on = and_(on, one_of(session, scores.c.contact_id, contact_ids)) if contact_ids else and_(on, false())
    rows = session.execute(
        select(
            ScoreModelVersion.id,
            ScoreModelVersion.version,
            ScoreModel.id,
            ScoreModel.name,
            ScoreModel.current_version_id,
            # The definition as stored text: the parse cache's key, without decoding it per event.
            cast(ScoreModelVersion.definition, Text),
            ScoreModelVersion.reference_at,
            scores.c.contact_id,
            scores.c.fixed,
            scores.c.level,
            scores.c.by_rule,
        )
        .join(ScoreModel, ScoreModel.id == ScoreModelVersion.model_id)
        .outerjoin(scores, on)
        .where(ScoreModelVersion.state.in_([VersionState.BUILDING, VersionState.CURRENT]))
        .order_by(ScoreModelVersion.id)
    )
    versions: dict[int, LiveVersion] = {}
    stored: dict[tuple[int, int], Totals] = {}
    for version_id, number, model_id, name, current_id, text, reference_at, contact_id, *totals in rows:
        if version_id not in versions:
            versions[version_id] = LiveVersion(
                id=version_id,
                number=number,
                model_id=model_id,
                model_name=name,
                current=current_id == version_id,
                scoring=scoring_of(text, reference_at),
                needs_lists='"in_list"' in text or '"in_segment"' in text,
                reads_consents='"consent"' in text,
            )
        if contact_id is not None:
            fixed, level, by_rule = totals
            stored[(version_id, contact_id)] = Totals(fixed, level, by_rule or {})
    return list(versions.values()), stored


def scoring_of_version(version: ScoreModelVersion) -> Scoring:
    return scoring_of(version.definition, version.reference_at)


def update_scores(session: Session, ctx: Context, contact_ids: Iterable[int]) -> list[ScoreChange]:
    """Re-scores these contacts in every live version; returns the changes of current scores.

    Ids of contacts that no longer exist are skipped. Each contact's facts are loaded once, with
    the events of the names any rule uses.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    versions, stored = live_versions(session, ids)
    if not versions:
        return []
    now, tz = ctx.clock.now(), ctx.settings.tz
    names = set().union(*(version.scoring.event_names() for version in versions))
    extras = extras_for(session, versions, ids)
    writes: list[dict[str, Any]] = []
    removals: list[dict[str, Any]] = []
    changes: list[ScoreChange] = []
    consents = any(version.reads_consents for version in versions)
    contacts = (
        select(Contact, Company)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(one_of(session, Contact.id, ids))
        .order_by(Contact.id)
    )
    for contact, company in session.execute(contacts):
        contact_id = contact.id
        facts = replace(
            contact_facts(session, contact, company, names, consents=consents), extra=extras[contact_id]
        )
        for version in versions:
            totals = score_contact(version.scoring, facts, now, tz)
            before = stored.get((version.id, contact_id), Totals())
            if _same_totals(before, totals):
                continue
            key = {"version_id": version.id, "contact_id": contact_id}
            if totals.empty:
                removals.append(key)
            else:
                writes.append(
                    key
                    | {
                        "fixed": totals.fixed,
                        "level": totals.level,
                        "by_rule": dict(totals.by_rule),
                        "updated_at": now,
                    }
                )
            change = _change(version, contact_id, before, totals, now) if version.current else None
            if change is not None:
                changes.append(change)
    _write(session, writes, removals)
    log_changes(session, changes)
    return changes


def extras_for(session: Session, versions: Sequence[Any], ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the `in_list` and `in_segment` leaves read, for the rules that use them."""
    extras: dict[int, dict[str, Any]] = {contact_id: {} for contact_id in ids}
    if not any(getattr(version, "needs_lists", True) for version in versions):
        return extras
    lists: defaultdict[int, set[int | str]] = defaultdict(set)
    on_lists = (
        select(StaticListMember.contact_id, StaticList.id, StaticList.name)
        .join(StaticList, StaticList.id == StaticListMember.list_id)
        .where(one_of(session, StaticListMember.contact_id, ids))
    )
    for contact_id, list_id, name in session.execute(on_lists):
        lists[contact_id] |= {list_id, name}
    segments: defaultdict[int, set[int | str]] = defaultdict(set)
    in_segments = (
        select(SegmentMembership.contact_id, Segment.id, Segment.name)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(one_of(session, SegmentMembership.contact_id, ids), SegmentMembership.exited_at.is_(None))
    )
    for contact_id, segment_id, name in session.execute(in_segments):
        segments[contact_id] |= {segment_id, name}
    for contact_id in ids:
        extras[contact_id] = {
            "lists": frozenset(lists[contact_id]),
            "segments": frozenset(segments[contact_id]),
        }
    return extras


def _same_totals(a: Totals, b: Totals) -> bool:
    if set(a.by_rule) != set(b.by_rule):
        return False
    return all(same(a.by_rule[name], b.by_rule[name]) for name in a.by_rule)


def _change(
    version: LiveVersion, contact_id: int, before: Totals, after: Totals, now: datetime
) -> ScoreChange | None:
    scoring = version.scoring
    previous, score = (
        score_at(scoring, before.fixed, before.level, now),
        score_at(scoring, after.fixed, after.level, now),
    )
    if same(previous, score):
        return None
    return ScoreChange(
        model_id=version.model_id,
        model_name=version.model_name,
        version=version.number,
        contact_id=contact_id,
        previous_score=previous,
        score=score,
        previous_grade=grade_of(scoring.grading, previous),
        grade=grade_of(scoring.grading, score),
        rules=_moved(before.by_rule, after.by_rule),
        at=now,
    )


def _moved(before: Mapping[str, float], after: Mapping[str, float]) -> list[str]:
    names = sorted(set(before) | set(after))
    return [name for name in names if not same(before.get(name, 0.0), after.get(name, 0.0))]


def _write(session: Session, writes: list[dict[str, Any]], removals: list[dict[str, Any]]) -> None:
    if writes:
        statement = insert(session, _scores)
        statement = statement.on_conflict_do_update(
            index_elements=["version_id", "contact_id"],
            set_={
                "fixed": statement.excluded.fixed,
                "level": statement.excluded.level,
                "by_rule": statement.excluded.by_rule,
                "updated_at": statement.excluded.updated_at,
            },
        )
        session.execute(statement, writes)
    if removals:
        session.execute(
            delete(_scores).where(
                _scores.c.version_id == bindparam("v"), _scores.c.contact_id == bindparam("c")
            ),
            [{"v": r["version_id"], "c": r["contact_id"]} for r in removals],
        )
