"""A marketer validates and applies workflows; names the database does not know are refused."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict, FieldError, InvalidInput
from funnelwise.segments.lists import create_list
from funnelwise.segments.schemas import ListIn
from funnelwise.tracking.log import record_event
from funnelwise.workflows.schemas import ProblemOut, Status
from funnelwise.workflows.service import (
    apply_workflow,
    get_workflow,
    list_workflows,
    pause_workflow,
    resume_workflow,
    validate_workflow,
)
from tests.factories import make_contact, make_property, make_template
from tests.workflows.support import (
    CART,
    NURTURE,
    apply_example_templates,
    make_welcome_templates,
    template,
    welcome,
)


@pytest.fixture(autouse=True)
def _welcome_emails(session: Session, ctx: Context) -> None:
    """The emails of the `welcome` journey exist; the tests about unknown templates name others."""
    make_welcome_templates(session, ctx)


def errors_of(session: Session, data: dict, **options: bool) -> list[FieldError]:
    with pytest.raises(InvalidInput) as refused:
        validate_workflow(session, data, **options)
    return refused.value.errors


def test_the_templates_validate_once_their_events_and_property_are_known(
    session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, email="ada@example.com")
    for name in ("Form Submitted", "Signed Up", "Checkout Started", "Order Completed"):
        record_event(session, ctx, ada.id, name, {})
    make_property(session, ctx, "service_interest")
    apply_example_templates(session, ctx)

    nurture = validate_workflow(session, template(NURTURE))
    cart = validate_workflow(session, template(CART))

    assert (nurture.name, nurture.steps, nurture.warnings) == ("b2b-inquiry-nurture", 11, [])
    assert (cart.name, cart.steps, cart.warnings) == ("cart-abandonment", 6, [])


def test_on_a_fresh_installation_the_template_names_unknown_events_and_properties(session: Session) -> None:
    found = errors_of(session, template(NURTURE))
    allowed = validate_workflow(session, template(NURTURE), allow_unknown=True)

    assert [e.field for e in found] == [
        "trigger",
        "steps[1].branches[0].condition",
        "steps[1].branches[1].condition",
        "steps[6]",
        "settings.goal",
        "steps[0].template",
        "steps[2].template",
        "steps[3].template",
        "steps[4].template",
        "steps[5].template",
        "steps[7].template",
        "steps[9].template",
    ]
    assert found[0].message == "no event named 'Form Submitted' has been recorded yet"
    assert found[1].message == "no contact property is named 'service_interest' yet"
    assert found[5].message == "no template is named 'inquiry-introduction'"
    assert [w.path for w in allowed.warnings] == [e.field for e in found]


def test_lists_segments_and_other_workflows_must_exist(session: Session, ctx: Context) -> None:
    create_list(session, ctx, ListIn(name="newsletter"))
    steps = [
        {"id": "join", "type": "add_to_list", "list": "newsletter", "next": "leave"},
        {"id": "leave", "type": "remove_from_list", "list": "newsletter-old", "next": "onward"},
        {"id": "onward", "type": "enroll", "workflow": "onboarding"},
    ]
    data = welcome(steps=steps, settings={"suppression_segments": ["do-not-mail"]})

    assert errors_of(session, data) == [
        FieldError("steps[1].list", "no list is named 'newsletter-old'"),
        FieldError("settings.suppression_segments[0]", "no segment is named 'do-not-mail'"),
        FieldError("steps[2].workflow", "no workflow is named 'onboarding'"),
    ]


def test_applying_makes_a_draft_and_each_changed_definition_a_new_version(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    first = apply_workflow(session, ctx, welcome())
    again = apply_workflow(session, ctx, welcome())
    clock.advance(timedelta(hours=1))
    steps = welcome()["steps"]
    changed = apply_workflow(
        session, ctx, welcome(steps=[*steps[:1], {**steps[1], "duration": "2d"}, steps[2]])
    )

    assert (first.created, first.changed, first.workflow.version, first.workflow.status) == (
        True,
        True,
        1,
        Status.DRAFT,
    )
    assert (again.created, again.changed, again.workflow.version) == (False, False, 1)
    assert (changed.created, changed.changed, changed.workflow.version) == (False, True, 2)
    detail = get_workflow(session, first.workflow.id)
    assert [v.version for v in detail.versions] == [2, 1]
    assert detail.versions[0].definition["steps"][1]["duration"] == "2d"
    assert detail.versions[1].definition["steps"][1]["duration"] == "1d"
    assert detail.versions[0].created_at > detail.versions[1].created_at


def test_a_refused_definition_stores_nothing(session: Session, ctx: Context) -> None:
    apply_workflow(session, ctx, welcome())
    steps = welcome()["steps"]

    with pytest.raises(InvalidInput):
        apply_workflow(session, ctx, welcome(steps=[{**steps[0], "next": "nowhere"}, *steps[1:]]))

    assert [(w.name, w.version) for w in list_workflows(session)] == [("welcome", 1)]


def test_a_draft_is_resumed_to_start_then_paused_and_resumed(session: Session, ctx: Context) -> None:
    workflow_id = apply_workflow(session, ctx, welcome()).workflow.id

    with pytest.raises(Conflict, match="is a draft and has not started"):
        pause_workflow(session, ctx, workflow_id)
    statuses = [
        resume_workflow(session, ctx, workflow_id).status,
        pause_workflow(session, ctx, workflow_id).status,
        resume_workflow(session, ctx, workflow_id).status,
    ]

    assert statuses == [Status.ACTIVE, Status.PAUSED, Status.ACTIVE]


def test_a_step_nothing_reaches_is_a_warning_that_does_not_stop_the_apply(
    session: Session, ctx: Context
) -> None:
    steps = [*welcome()["steps"], {"id": "orphan", "type": "exit"}]

    saved = apply_workflow(session, ctx, welcome(steps=steps))

    assert saved.warnings == [
        ProblemOut(
            path="steps[3]", message="no step leads to step 'orphan', so no contact will ever reach it"
        )
    ]


def test_triggers_name_segments_score_models_and_lists_that_must_exist(
    session: Session, ctx: Context
) -> None:
    triggers = [
        {"type": "segment_entered", "segment": "vip"},
        {"type": "schedule", "cron": "0 10 * * mon", "segment": "vip"},
        {"type": "score_crossed", "model": "engagement", "threshold": 30},
        {"type": "list_added", "list": "webinar"},
    ]

    found = [errors_of(session, welcome(trigger=trigger)) for trigger in triggers]

    assert found == [
        [FieldError("trigger.segment", "no segment is named 'vip'")],
        [FieldError("trigger.segment", "no segment is named 'vip'")],
        [FieldError("trigger.model", "no score model is named 'engagement'")],
        [FieldError("trigger.list", "no list is named 'webinar'")],
    ]


def test_a_date_trigger_needs_a_date_property_and_an_increment_a_number(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "birthday", "date")
    make_property(session, ctx, "plan")
    make_property(session, ctx, "visits", "number")
    birthday = {"type": "date_property", "property": "birthday", "at": "10:00", "every_year": True}
    counting = [{"id": "count", "type": "increment_property", "property": "visits", "by": -1}]

    assert validate_workflow(session, welcome(trigger=birthday, steps=counting)).warnings == []
    assert errors_of(
        session,
        welcome(
            trigger=birthday | {"property": "plan"},
            steps=[counting[0] | {"property": "email"}],
        ),
    ) == [
        FieldError("trigger.property", "'plan' is a string property; this needs a date property"),
        FieldError(
            "steps[0].property", "'email' is a built-in text or id property; this needs a number property"
        ),
    ]


def test_an_unknown_property_in_a_step_or_the_exit_criteria_is_refused(session: Session) -> None:
    steps = [{"id": "mark", "type": "set_property", "property": "nurtured", "value": True}]
    settings = {"exit_when": [{"property": "lifecycle_stage", "operator": "equals", "value": "customer"},
                              {"property": "churned", "operator": "is_set"}]}  # fmt: skip

    assert errors_of(session, welcome(steps=steps, settings=settings)) == [
        FieldError("settings.exit_when[1]", "no contact property is named 'churned' yet"),
        FieldError("steps[0].property", "no contact property is named 'nurtured' yet"),
    ]


def test_a_send_step_names_a_template_that_exists_on_its_channel(session: Session, ctx: Context) -> None:
    make_template(session, ctx, "cart-sms", "sms")
    steps = [
        {"id": "text", "type": "send", "channel": "email", "template": "cart-sms", "next": "mail"},
        {"id": "mail", "type": "send", "channel": "email", "template": "cart-mail"},
    ]

    refused = errors_of(session, welcome(steps=steps))
    allowed = errors_of(session, welcome(steps=steps), allow_unknown=True)

    assert refused == [
        FieldError("steps[0].channel", "template 'cart-sms' is a sms template; this step sends email"),
        FieldError("steps[1].template", "no template is named 'cart-mail'"),
    ]
    # An unknown template may come later (a warning); a template on another channel never works.
    assert allowed == [refused[0]]
    make_template(session, ctx, "cart-mail")
    saved = apply_workflow(session, ctx, welcome(steps=[{**steps[0], "channel": "sms"}, steps[1]]))
    assert saved.warnings == []
