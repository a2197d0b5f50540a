"""/api/v1/stage-rules and /api/v1/contacts/{id}/stage: lifecycle stage rules, moves and history."""

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.sales.lifecycle import (
    apply_all_stage_rules,
    change_stage,
    create_stage_rule,
    delete_stage_rule,
    get_stage_rule,
    list_stage_rules,
    stage_history,
    update_stage_rule,
)
from funnelwise.sales.schemas import (
    StageChangeIn,
    StageChangeOut,
    StageHistoryOut,
    StagePassOut,
    StageRuleIn,
    StageRuleOut,
    StageRulePatch,
    StageRuleSaved,
)

router = APIRouter(tags=["lifecycle"])
Read = Depends(require("sales:read"))
Write = Depends(require("sales:write"))


@router.get("/stage-rules", dependencies=[Read])
def index(session: SessionDep) -> list[StageRuleOut]:
    return list_stage_rules(session)


@router.post("/stage-rules", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: StageRuleIn) -> StageRuleSaved:
    """Stores a rule; contacts move by it at the next batch or pass. Unknown names are warnings."""
    return create_stage_rule(session, ctx, body)


@router.post("/stage-rules/apply", dependencies=[Write])
def apply(session: SessionDep, ctx: ContextDep) -> StagePassOut:
    """Moves every contact forward by the active rules now (what the periodic pass does)."""
    return apply_all_stage_rules(session, ctx)


@router.get("/stage-rules/{rule_id}", dependencies=[Read])
def read(session: SessionDep, rule_id: IdPath) -> StageRuleOut:
    return get_stage_rule(session, rule_id)


@router.patch("/stage-rules/{rule_id}", dependencies=[Write])
def update(session: SessionDep, ctx: ContextDep, rule_id: IdPath, body: StageRulePatch) -> StageRuleSaved:
    return update_stage_rule(session, ctx, rule_id, body)


@router.delete("/stage-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, rule_id: IdPath) -> Response:
    delete_stage_rule(session, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/contacts/{contact_id}/stage", dependencies=[Write])
def move(session: SessionDep, ctx: ContextDep, contact_id: IdPath, body: StageChangeIn) -> StageChangeOut:
    """Moves a contact to a stage; a move back needs `force: true` (409 without it)."""
    return change_stage(
        session, ctx, contact_id, body.stage, force=body.force, user_id=body.user_id, reason=body.reason
    )


@router.get("/contacts/{contact_id}/stage-history", dependencies=[Read])
def history(session: SessionDep, contact_id: IdPath) -> list[StageHistoryOut]:
    """Every stage the contact entered and when, oldest first."""
    return stage_history(session, contact_id)
