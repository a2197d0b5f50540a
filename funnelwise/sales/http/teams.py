"""/api/v1/sales/teams and /api/v1/sales/assignment-rules: who shares leads, and who gets which."""

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.sales.assignment import (
    assign_all_unowned,
    assign_contacts,
    create_assignment_rule,
    delete_assignment_rule,
    list_assignment_rules,
)
from funnelwise.sales.schemas import (
    AssignIn,
    Assignment,
    AssignmentRuleIn,
    AssignmentRuleOut,
    AssignmentRuleSaved,
    TeamIn,
    TeamMembersIn,
    TeamOut,
    TeamPatch,
)
from funnelwise.sales.teams import (
    add_team_members,
    create_team,
    delete_team,
    get_team,
    list_teams,
    remove_team_members,
    update_team,
)

router = APIRouter(prefix="/sales", tags=["sales"])
Read = Depends(require("sales:read"))
Write = Depends(require("sales:write"))


@router.get("/teams", dependencies=[Read])
def teams(session: SessionDep) -> list[TeamOut]:
    return list_teams(session)


@router.post("/teams", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def team_create(session: SessionDep, ctx: ContextDep, body: TeamIn) -> TeamOut:
    """A team of salespeople (users with the sales role) and the manager overdue tasks escalate to."""
    return create_team(session, ctx, body)


@router.get("/teams/{team_id}", dependencies=[Read])
def team_read(session: SessionDep, team_id: IdPath) -> TeamOut:
    return get_team(session, team_id)


@router.patch("/teams/{team_id}", dependencies=[Write])
def team_update(session: SessionDep, ctx: ContextDep, team_id: IdPath, body: TeamPatch) -> TeamOut:
    return update_team(session, ctx, team_id, body)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def team_delete(session: SessionDep, team_id: IdPath) -> Response:
    delete_team(session, team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/teams/{team_id}/members", dependencies=[Write])
def team_add(session: SessionDep, ctx: ContextDep, team_id: IdPath, body: TeamMembersIn) -> TeamOut:
    return add_team_members(session, ctx, team_id, body.user_ids)


@router.post("/teams/{team_id}/members/remove", dependencies=[Write])
def team_remove(session: SessionDep, team_id: IdPath, body: TeamMembersIn) -> TeamOut:
    return remove_team_members(session, team_id, body.user_ids)


@router.get("/assignment-rules", dependencies=[Read])
def rules(session: SessionDep) -> list[AssignmentRuleOut]:
    """The rules in the order they are tried."""
    return list_assignment_rules(session)


@router.post("/assignment-rules", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def rule_create(session: SessionDep, ctx: ContextDep, body: AssignmentRuleIn) -> AssignmentRuleSaved:
    return create_assignment_rule(session, ctx, body)


@router.delete("/assignment-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def rule_delete(session: SessionDep, rule_id: IdPath) -> Response:
    delete_assignment_rule(session, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/assign", dependencies=[Write])
def assign(session: SessionDep, ctx: ContextDep, body: AssignIn) -> list[Assignment]:
    """Gives these contacts an owner now, if they have none and a rule or their company says who."""
    return assign_contacts(session, ctx, body.contact_ids)


@router.post("/assign/all", dependencies=[Write])
def assign_all(session: SessionDep, ctx: ContextDep) -> list[Assignment]:
    """Gives every unowned contact an owner where a rule or its company says who."""
    return assign_all_unowned(session, ctx)
