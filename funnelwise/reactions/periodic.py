"""Work that falls due as time passes, with no event to set it off."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.db.writes import write_retrying
from funnelwise.messaging.broadcasts import advance_broadcasts
from funnelwise.messaging.reconfirmation import send_reconfirmations
from funnelwise.sales.escalation import escalate_due
from funnelwise.sales.lifecycle import apply_all_stage_rules
from funnelwise.segments.models import Segment
from funnelwise.segments.upkeep import refresh_segment
from funnelwise.workflows.schedule import fire_due_schedules

logger = logging.getLogger(__name__)


def run_periodic(sessions: sessionmaker[Session], ctx: Context, *, full_pass: bool) -> None:
    """Escalates overdue follow-ups and refreshes stale segments; with `full_pass`, the stage rules too.

    The stage rules' full pass catches contacts whose stage rules hold by time alone (a score that
    decayed, a day window that closed); it is cheap but needless every minute.
    """
    escalate_due(sessions, ctx)
    every = timedelta(minutes=ctx.settings.segment_refresh_minutes)
    refreshed = refresh_stale_segments(sessions, ctx, every)
    # After the refresh, so a schedule enrolls the segment's members as of now.
    fire_due_schedules(sessions, ctx)
    # Also after the refresh: a broadcast starting now sends to its segment as of now.
    advance_broadcasts(sessions, ctx)
    if full_pass:
        write_retrying(sessions, lambda session: send_reconfirmations(session, ctx))
        stages = write_retrying(sessions, lambda session: apply_all_stage_rules(session, ctx))
        logger.info("periodic pass: %s segments refreshed, %s stages changed", refreshed, stages.changed)


def refresh_stale_segments(sessions: sessionmaker[Session], ctx: Context, every: timedelta) -> int:
    """Refreshes each segment not refreshed for `every`, one transaction each; how many it refreshed.

    On PostgreSQL a segment is claimed with `SKIP LOCKED`, so workers running this together
    refresh each stale segment once between them.
    """
    cutoff = ctx.clock.now() - every
    with sessions() as session:
        stale = list(session.scalars(_stale(cutoff).order_by(Segment.refreshed_at.nulls_first(), Segment.id)))
    return sum(
        write_retrying(sessions, lambda session, i=segment_id: _refresh_if_stale(session, ctx, i, cutoff))
        for segment_id in stale
    )


def _stale(cutoff: datetime) -> Select[tuple[int]]:
    return select(Segment.id).where(or_(Segment.refreshed_at.is_(None), Segment.refreshed_at < cutoff))


def _refresh_if_stale(session: Session, ctx: Context, segment_id: int, cutoff: datetime) -> int:
    claim = _stale(cutoff).where(Segment.id == segment_id)
    if dialect_name(session) == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    if session.scalar(claim) is None:
        return 0  # Another worker has it, or refreshed it meanwhile.
    refresh_segment(session, ctx, segment_id)
    return 1
