"""Recomputing a model in full, inside the database, into a new version that readers switch to at once.

A version is built in ranges of contact ids, one `INSERT … SELECT` and one commit per range, its
progress stored on the version row. Readers keep reading the current version meanwhile; when the
last range is in, one transaction logs a `Score Changed` event for every contact whose score
differs, makes the new version current and retires the old one. A crash leaves a version in
`building`: running the rescore again goes on from where it can (ranges already filled are kept),
since scores are a pure function of the log, the rules and the moment.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, literal, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert
from funnelwise.db.types import UTCDateTime
from funnelwise.errors import NotFound
from funnelwise.scoring.log import log_switch
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.rules import Scoring
from funnelwise.scoring.schemas import RescoreOut, VersionState
from funnelwise.scoring.setwise import scores_query
from funnelwise.scoring.upkeep import scoring_of_version

CHUNK = 100_000
Progress = Callable[[int, int], None]
_scores = ContactScore.__table__


def run_rescore(
    sessions: sessionmaker[Session],
    ctx: Context,
    version_id: int,
    *,
    chunk: int = CHUNK,
    on_progress: Progress | None = None,
) -> RescoreOut:
    """Fills a building version range by range, then switches readers to it."""
    with sessions.begin() as session:
        version = session.get(ScoreModelVersion, version_id)
        if version is None:
            raise NotFound("score model version", version_id)
        model = session.get_one(ScoreModel, version.model_id)
        model_key = (model.id, model.name)
        if version.state != VersionState.BUILDING:
            return _outcome(session, version, model_key, changed=0)
        scoring = scoring_of_version(version)
        now = ctx.clock.now()
        version.started_at = version.started_at or now
        low, high = session.execute(select(func.min(Contact.id), func.max(Contact.id))).one()
        total = session.scalar(select(func.count()).select_from(Contact)) or 0
        version.progress_total, version.progress_done = total, 0
    try:
        done = 0
        for start in range(low or 0, (high or -1) + 1, chunk):
            with sessions.begin() as session:
                if not _still_building(session, version_id):
                    break
                done += fill_version(session, ctx, version_id, scoring, now, (start, start + chunk))
                session.execute(
                    update(ScoreModelVersion)
                    .where(ScoreModelVersion.id == version_id)
                    .values(progress_done=done)
                )
            if on_progress is not None:
                on_progress(done, max(done, total))
        with sessions.begin() as session:
            return _switch(session, version_id, scoring, model_key, now)
    except SQLAlchemyError as exc:
        # Readers keep the current version; the failed one says why, and a new rescore starts over.
        with sessions.begin() as session:
            session.execute(
                update(ScoreModelVersion)
                .where(ScoreModelVersion.id == version_id, ScoreModelVersion.state == VersionState.BUILDING)
                .values(state=VersionState.FAILED, error=str(exc).splitlines()[0][:1000], finished_at=now)
            )
        raise


def run_pending_rescores(sessions: sessionmaker[Session], ctx: Context) -> list[RescoreOut]:
    """Runs every version still building, oldest first (after a crash, or from the API's queue)."""
    with sessions() as session:
        pending = list(
            session.scalars(
                select(ScoreModelVersion.id)
                .where(ScoreModelVersion.state == VersionState.BUILDING)
                .order_by(ScoreModelVersion.id)
            )
        )
    return [run_rescore(sessions, ctx, version_id) for version_id in pending]


def fill_version(
    session: Session,
    ctx: Context,
    version_id: int,
    scoring: Scoring,
    now: datetime,
    id_range: tuple[int, int] | None,
) -> int:
    """Scores the contacts with ids in `[low, high)`, or all, in one statement; returns how many there are."""
    dialect = dialect_name(session)
    if dialect == "postgresql":
        # The planner prices the JSON tests of event rules far above `jit_above_cost`; compiling
        # them took longer than running them (10.0 s against 6.0 s at 100,000 contacts). And it
        # reads half the events in contact order through events(contact_id, occurred_at), one heap
        # page per row once the table outgrows memory (49 s against 29 s by scan and hash at
        # 1,000,000 contacts); bitmap scans by name or id range stay allowed.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL enable_indexscan = off"))
    rows = scores_query(scoring, now, ctx.settings.tz, dialect, id_range).subquery()
    computed = select(
        literal(version_id),
        rows.c.contact_id,
        rows.c.fixed,
        rows.c.level,
        rows.c.by_rule,
        literal(now, UTCDateTime()),
    ).where(rows.c.contact_id.is_not(None))  # SQLite reads `ON CONFLICT` after a bare SELECT as a join's
    columns = ["version_id", "contact_id", "fixed", "level", "by_rule", "updated_at"]
    # A contact the upkeep scored meanwhile keeps that row: both come from the same log.
    statement = insert(session, _scores).from_select(columns, computed)
    session.execute(statement.on_conflict_do_nothing(index_elements=["version_id", "contact_id"]))
    contacts = select(func.count()).select_from(Contact)
    if id_range is not None:
        contacts = contacts.where(Contact.id >= id_range[0], Contact.id < id_range[1])
    return session.scalar(contacts) or 0


def _switch(
    session: Session, version_id: int, scoring: Scoring, model_key: tuple[int, str], now: datetime
) -> RescoreOut:
    # The model row is the lock: two rescores finishing at once switch one after the other.
    model = session.scalar(select(ScoreModel).where(ScoreModel.id == model_key[0]).with_for_update())
    version = session.get(ScoreModelVersion, version_id)
    if version is None:
        raise NotFound("score model version", version_id)  # the model was deleted meanwhile
    if model is None or version.state != VersionState.BUILDING:
        return _outcome(session, version, model_key, changed=0)
    old = session.get(ScoreModelVersion, model.current_version_id) if model.current_version_id else None
    previous = (old.id, scoring_of_version(old)) if old is not None else None
    changed = log_switch(session, model_key, previous, (version.id, version.version, scoring), now)
    model.current_version_id = version.id
    version.state = VersionState.CURRENT
    version.finished_at = now
    version.progress_done = version.progress_total
    if old is not None:
        old.state = VersionState.RETIRED
        session.execute(delete(ContactScore).where(ContactScore.version_id == old.id))
    session.flush()
    return _outcome(session, version, model_key, changed)


def _outcome(
    session: Session, version: ScoreModelVersion, model_key: tuple[int, str], changed: int
) -> RescoreOut:
    scored = session.scalar(select(func.count()).where(ContactScore.version_id == version.id)) or 0
    return RescoreOut(
        model_id=model_key[0],
        model_name=model_key[1],
        version=version.version,
        state=VersionState(version.state),
        contacts=version.progress_total,
        scored=scored,
        changed=changed,
    )


def _still_building(session: Session, version_id: int) -> bool:
    state = session.scalar(select(ScoreModelVersion.state).where(ScoreModelVersion.id == version_id))
    return state == VersionState.BUILDING
