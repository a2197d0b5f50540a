"""The shipped B2B SaaS example scores the documented scheme and collects the hot leads."""

from pathlib import Path

import yaml
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.scoring.rescore import run_pending_rescores
from funnelwise.scoring.rules import read_definition
from funnelwise.scoring.service import apply_model, explain
from funnelwise.segments.schemas import SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.segments.upkeep import refresh_segment
from tests.conftest import START
from tests.factories import make_contact
from tests.scoring.support import track_at

EXAMPLES = Path(__file__).parents[2] / "examples" / "scoring"


def test_the_example_scores_job_level_visits_reading_downloads_mail_meetings_and_webinars(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    head = make_contact(session, ctx, job_level="head")
    staff = make_contact(session, ctx, job_level="staff")
    for name, properties in [
        ("Page Viewed", {"path": "/pricing"}),
        ("Page Engaged", {"seconds": 60}),
        ("File Downloaded", {"file_name": "acme-company-profile.pdf"}),
        ("Email Opened", {"campaign": "newsletter-2026-11"}),
        ("Meeting Booked", {}),
        ("Webinar Attended", {}),
    ]:
        track_at(session, ctx, clock, START, head.id, name, **properties)
    track_at(session, ctx, clock, START, staff.id, "Page Viewed", path="/")
    track_at(session, ctx, clock, START, staff.id, "Page Engaged", seconds=30)
    track_at(session, ctx, clock, START, staff.id, "Email Opened", campaign="black-friday")
    definition = read_definition(yaml.safe_load((EXAMPLES / "b2b_saas.yaml").read_text()))
    with sessions.begin() as writing:
        saved = apply_model(writing, ctx, definition)
    assert saved.warnings == []
    assert saved.model.building is not None
    run_pending_rescores(sessions, ctx)

    explained = explain(session, ctx, saved.model.id, head.id)
    segment = yaml.safe_load((EXAMPLES / "hot_leads_segment.yaml").read_text())
    hot = create_segment(session, ctx, SegmentIn(**segment))
    session.commit()

    assert [(c.rule, c.points) for c in explained.contributions] == [
        ("job level head", 3),
        ("page visit", 1),
        ("more than a minute on a page", 1),
        ("company profile download", 2),
        ("newsletter opened", 1),
        ("meeting", 2),
        ("webinar attended", 3),
    ]
    assert (explained.score, explained.grade) == (13, "3")
    assert explain(session, ctx, saved.model.id, staff.id).score == 2
    assert refresh_segment(session, ctx, hot.segment.id).members == 1
