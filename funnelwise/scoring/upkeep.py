"""Keeping scores true for a few contacts as their events arrive: the hot path, in memory.

`update_scores` re-scores these contacts in every model's current version (and in a version a
rescore is building, so that the switch loses nothing), stores what changed and logs a
`Score Changed` event for every contact whose current score moved.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from funnelwise.conditions import (
    COMPANY_FACT_COLUMNS,
    CONTACT_FACT_COLUMNS,
    EventFact,
    consents_by_contact,
    events_by_contact,
    row_facts,
)
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, one_of
from funnelwise.scoring.compute import Totals, grade_of, same, score_at, score_contact
from funnelwise.scoring.log import change_logging, change_rows, log_changes
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.rules import Scoring, scoring_of
from funnelwise.scoring.schemas import ScoreChange, VersionState
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember
from funnelwise.tracking.models import Event

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


def scoring_of_version(version: ScoreModelVersion) -> Scoring:
    return scoring_of(version.definition, version.reference_at)


def update_scores(session: Session, ctx: Context, contact_ids: Iterable[int]) -> list[ScoreChange]:
    """Re-scores these contacts in every live version; returns the changes of current scores.

    Ids of contacts that no longer exist are skipped. One statement reads the live versions with
    the contacts, their companies and stored totals; one more the events of the names any rule
    uses (and one the consents, when a rule reads them). The writes are skipped when nothing moved.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    versions, stored, rows, fetched = _read(session, ids)
    if not versions:
        return []
    now, tz = ctx.clock.now(), ctx.settings.tz
    names = frozenset().union(*(version.scoring.event_names() for version in versions))
    found = [contact["id"] for contact, _company in rows]
    extras = extras_for(session, versions, found)
    events = _events(session, found, names, fetched)
    consents = consents_by_contact(session, found) if any(v.reads_consents for v in versions) else {}
    writes: list[dict[str, Any]] = []
    removals: list[dict[str, Any]] = []
    changes: list[ScoreChange] = []
    for contact, company in rows:
        contact_id = contact["id"]
        facts = row_facts(
            contact, company, events.get(contact_id, ()), consents.get(contact_id, ()), extras[contact_id]
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
    _write(session, writes, removals, changes)
    return changes


_Rows = list[tuple[dict[str, Any], dict[str, Any] | None]]


@dataclass
class _Fetched:
    """Events `_read` brought along (PostgreSQL): those of `names`, by contact id."""

    names: frozenset[str]
    events: dict[int, list[EventFact]]


# The event names the live rules used at this process's last call. On PostgreSQL `_read` fetches
# the events of these names with the contacts, saving a round trip; when the rules turn out to use
# a name outside them (they changed meanwhile), the events are read again. A guess, never trusted.
_last_names: frozenset[str] = frozenset()


def _read(
    session: Session, ids: list[int]
) -> tuple[list[LiveVersion], dict[tuple[int, int], Totals], _Rows, _Fetched | None]:
    """The live versions, these contacts with their companies, and their stored totals.

    One statement: each contact with its company beside every live version (or none, when there
    is no live version), and the contact's stored totals in that version. On PostgreSQL it also
    brings each contact's events of the names the rules used last time.
    """
    dialect = dialect_name(session)
    statement = _reading(dialect)
    # The statements run on the connection, past the ORM: what the session holds is flushed first.
    session.flush()
    versions: dict[int, LiveVersion] = {}
    stored: dict[tuple[int, int], Totals] = {}
    contacts: _Rows = []
    seen: set[int] = set()
    guessed = _last_names
    fetched = _Fetched(guessed, {}) if dialect == "postgresql" else None
    parameters = {"ids": ids, "names": sorted(guessed)} if fetched else {"ids": ids}
    for row in session.connection().execute(statement, parameters).mappings():
        version_id = row["v_id"]
        if version_id is not None and version_id not in versions:
            text = row["v_definition"]
            versions[version_id] = LiveVersion(
                id=version_id,
                number=row["v_number"],
                model_id=row["v_model_id"],
                model_name=row["v_model_name"],
                current=row["v_current_id"] == version_id,
                scoring=scoring_of(text, row["v_reference_at"]),
                needs_lists='"in_list"' in text or '"in_segment"' in text,
                reads_consents='"consent"' in text,
            )
        contact_id = row["s_contact_id"]
        if contact_id is not None:
            stored[(version_id, contact_id)] = Totals(row["s_fixed"], row["s_level"], row["s_by_rule"] or {})
        if row["c_id"] not in seen:
            seen.add(row["c_id"])
            company = _prefixed(row, "co_", COMPANY_FACT_COLUMNS) if row["co_id"] is not None else None
            contacts.append((_prefixed(row, "c_", CONTACT_FACT_COLUMNS), company))
            if fetched is not None:
                fetched.events[row["c_id"]] = [_event_fact(item) for item in row["e_events"] or ()]
    return sorted(versions.values(), key=lambda v: v.id), stored, contacts, fetched


def _events(
    session: Session, ids: list[int], names: frozenset[str], fetched: _Fetched | None
) -> dict[int, list[EventFact]]:
    """The contacts' events of these names: those `_read` brought when they cover them, else read."""
    global _last_names
    if fetched is None or not names <= fetched.names:
        _last_names = names
        return events_by_contact(session, ids, names)
    _last_names = names
    if names == fetched.names:
        return fetched.events
    return {c: [e for e in events if e.name in names] for c, events in fetched.events.items()}


def _event_fact(item: list[Any]) -> EventFact:
    """An event of `json_build_array(name, properties, occurred_at)`: the time comes as ISO text."""
    name, properties, occurred_at = item
    return EventFact(name, properties, datetime.fromisoformat(occurred_at).astimezone(UTC))


def _prefixed(row: Any, prefix: str, columns: Sequence[Any]) -> dict[str, Any]:
    return {column.name: row[prefix + column.name] for column in columns}


@lru_cache(maxsize=4)
def _reading(dialect: str) -> Select[Any]:
    """The statement of `_read`, built once per database: `:ids` are the contact ids."""
    versions, models = ScoreModelVersion.__table__, ScoreModel.__table__
    live = (
        select(
            versions.c.id.label("v_id"),
            versions.c.version.label("v_number"),
            models.c.id.label("v_model_id"),
            models.c.name.label("v_model_name"),
            models.c.current_version_id.label("v_current_id"),
            # The definition as stored text: the parse cache's key, without decoding it per event.
            cast(versions.c.definition, Text).label("v_definition"),
            versions.c.reference_at.label("v_reference_at"),
        )
        .join(models, models.c.id == versions.c.model_id)
        .where(versions.c.state.in_([VersionState.BUILDING, VersionState.CURRENT]))
        .subquery("live")
    )
    scores = _scores.alias("stored")
    totals = [
        scores.c.contact_id.label("s_contact_id"),
        scores.c.fixed.label("s_fixed"),
        scores.c.level.label("s_level"),
        scores.c.by_rule.label("s_by_rule"),
    ]
    contacts, companies = Contact.__table__, Company.__table__
    joined = contacts.outerjoin(companies, companies.c.id == contacts.c.company_id)
    extra: list[Any] = []
    if dialect == "postgresql":
        # The contact's events of the `:names` guessed (see `_last_names`), in the order they
        # happened, as one JSON array: [[name, properties, occurred_at], …].
        events = Event.__table__.alias("e")
        item = func.json_build_array(events.c.name, events.c.properties, events.c.occurred_at)
        aggregated = (
            select(
                func.json_agg(aggregate_order_by(item, events.c.occurred_at, events.c.id)).label("e_events")
            )
            .where(
                events.c.contact_id == contacts.c.id,
                events.c.name == any_(bindparam("names", type_=postgresql.ARRAY(String))),
            )
            .lateral("contact_events")
        )
        joined = joined.outerjoin(aggregated, true())
        extra.append(type_coerce(aggregated.c.e_events, JSON).label("e_events"))
    joined = joined.outerjoin(live, true()).outerjoin(
        scores, and_(scores.c.version_id == live.c.v_id, scores.c.contact_id == contacts.c.id)
    )
    return (
        select(
            *(column.label(f"c_{column.name}") for column in CONTACT_FACT_COLUMNS),
            *(column.label(f"co_{column.name}") for column in COMPANY_FACT_COLUMNS),
            *live.c,
            *totals,
            *extra,
        )
        .select_from(joined)
        .where(_any_id(contacts.c.id, dialect))
        .order_by(contacts.c.id, live.c.v_id)
    )


def _any_id(column: Any, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the ids bound as `:ids` (on PostgreSQL one array, as `one_of` binds it)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
    return column.in_(bindparam("ids", expanding=True))


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


def _write(
    session: Session,
    writes: list[dict[str, Any]],
    removals: list[dict[str, Any]],
    changes: list[ScoreChange],
) -> None:
    """Stores the totals that moved and logs the changes; nothing at all when nothing moved."""
    dialect = dialect_name(session)
    upsert, removal = _writing(dialect)
    connection = session.connection()
    if removals:
        connection.execute(removal, [{"v": r["version_id"], "c": r["contact_id"]} for r in removals])
    if writes and changes and dialect == "postgresql":
        # One round trip instead of two: the upsert rides along as a data-modifying WITH.
        scored = upsert.values(writes).cte("scored")
        connection.execute(change_logging(dialect).values(change_rows(changes)).add_cte(scored))
        return
    if writes:
        connection.execute(upsert, writes)
    log_changes(session, changes)


@lru_cache(maxsize=4)
def _writing(dialect: str) -> tuple[Any, Any]:
    """The upsert and the delete of `contact_scores` rows, built once per database."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_scores)
    upsert = statement.on_conflict_do_update(
        index_elements=["version_id", "contact_id"],
        set_={
            "fixed": statement.excluded.fixed,
            "level": statement.excluded.level,
            "by_rule": statement.excluded.by_rule,
            "updated_at": statement.excluded.updated_at,
        },
    )
    removal = delete(_scores).where(
        _scores.c.version_id == bindparam("v"), _scores.c.contact_id == bindparam("c")
    )
    return upsert, removal
