"""What the worker runs for sales after each batch of events: stage rules, then assignment."""

from collections.abc import Iterable

from pydantic import BaseModel
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.sales.assignment import assign_contacts
from funnelwise.sales.lifecycle import apply_stage_rules
from funnelwise.sales.schemas import Assignment, StageChange


class BatchOut(BaseModel):
    stage_changes: list[StageChange]
    assignments: list[Assignment]


def process_batch(session: Session, ctx: Context, contact_ids: Iterable[int]) -> BatchOut:
    """Moves these contacts forward by the stage rules, then gives the unowned ones an owner.

    In this order, so that a contact that just became an MQL is routed by rules that look for MQLs;
    the follow-up tasks its new stage opened go to the owner it gets.
    """
    ids = sorted(set(contact_ids))
    changes = apply_stage_rules(session, ctx, ids)
    return BatchOut(stage_changes=changes, assignments=assign_contacts(session, ctx, ids))
