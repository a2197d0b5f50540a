"""Unknown property and event names are warnings, not errors: the tree is kept, the marketer is told."""

from sqlalchemy.orm import Session

from funnelwise.conditions import NameWarning, check_names, parse_condition
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.context import Context
from funnelwise.tracking.log import record_event
from tests.factories import make_contact, make_property


def test_names_nobody_defined_or_recorded_are_warned_about_by_path(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan", PropertyType.STRING)
    make_property(session, ctx, "tier", PropertyType.STRING, object_type=ObjectType.COMPANY)
    contact = make_contact(session, ctx)
    record_event(session, ctx, contact.id, "Order Completed", {})
    session.commit()
    tree = parse_condition(
        {
            "all": [
                {"property": "plan", "operator": "is_set"},
                {"property": "email", "operator": "is_set"},
                {"property": "ltv", "operator": "gt", "value": 1},
                {"company": "tier", "operator": "is_set"},
                {"company": "segment", "operator": "is_set"},
                {"event": "Order Completed"},
                {"not": {"last_time": "order completed", "operator": "within_last_days", "value": 3}},
                {"aggregate": "sum", "of": "revenue", "event": "Refund Issued", "operator": "gt", "value": 0},
            ]
        }
    )

    assert check_names(session, tree) == [
        NameWarning("all[2]", "no contact property is named 'ltv' yet"),
        NameWarning("all[4]", "no company property is named 'segment' yet"),
        NameWarning(
            "all[6].not",
            "no event named 'order completed' has been recorded yet; did you mean 'Order Completed'? "
            "Event names match exactly",
        ),
        NameWarning("all[7]", "no event named 'Refund Issued' has been recorded yet"),
    ]
