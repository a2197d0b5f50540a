"""/api/v1/score-models: define score models, follow their rescores, read and explain scores."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.context import Context
from funnelwise.scoring.rescore import run_rescore
from funnelwise.scoring.rules import read_definition
from funnelwise.scoring.schemas import (
    ContactScoreOut,
    ExplanationOut,
    ScoreModelOut,
    ScoreModelSaved,
    VersionOut,
)
from funnelwise.scoring.service import (
    create_model,
    delete_model,
    explain,
    get_model,
    list_models,
    new_version,
    score_of_contact,
    scores_of_contact,
    update_model,
)

router = APIRouter(prefix="/score-models", tags=["scoring"])
Read = Depends(require("scoring:read"))
Write = Depends(require("scoring:write"))
Definition = Annotated[
    dict[str, Any],
    Body(
        description="name, description, rules, and optionally half_life_days, cap, grades (docs/scoring.md)"
    ),
]
AllowUnknown = Annotated[
    bool,
    Query(description="Accept properties nobody defined and events never recorded (returned as warnings)"),
]


@router.get("", dependencies=[Read])
def index(session: SessionDep) -> list[ScoreModelOut]:
    return list_models(session)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    ctx: ContextDep,
    body: Definition,
    allow_unknown: AllowUnknown = False,
) -> ScoreModelSaved:
    """Stores a model; its scores are computed in the background (see `building.progress_done`)."""
    saved = create_model(session, ctx, read_definition(body), allow_unknown=allow_unknown)
    _rescore_later(request, background, ctx, saved.model)
    return saved


@router.get("/scores/{contact_id}", dependencies=[Read])
def contact_scores(session: SessionDep, ctx: ContextDep, contact_id: IdPath) -> list[ContactScoreOut]:
    """The contact's score and grade in every model, now."""
    return scores_of_contact(session, ctx, contact_id)


@router.get("/{model_id}", dependencies=[Read])
def read(session: SessionDep, model_id: IdPath) -> ScoreModelOut:
    return get_model(session, model_id)


@router.put("/{model_id}", dependencies=[Write])
def replace(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    ctx: ContextDep,
    model_id: IdPath,
    body: Definition,
    allow_unknown: AllowUnknown = False,
) -> ScoreModelSaved:
    """New rules build a new version in the background; readers see the old scores until it is done."""
    saved = update_model(session, ctx, model_id, read_definition(body), allow_unknown=allow_unknown)
    _rescore_later(request, background, ctx, saved.model)
    return saved


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, model_id: IdPath) -> Response:
    delete_model(session, model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{model_id}/rescore", status_code=status.HTTP_202_ACCEPTED, dependencies=[Write])
def rescore(
    request: Request, background: BackgroundTasks, session: SessionDep, ctx: ContextDep, model_id: IdPath
) -> VersionOut:
    """Recomputes every score from the log in the background; poll the model for its progress."""
    version = new_version(session, ctx, model_id)
    background.add_task(run_rescore, request.app.state.sessionmaker, ctx, version.id)
    return version


@router.get("/{model_id}/contacts/{contact_id}", dependencies=[Read])
def contact_score(
    session: SessionDep, ctx: ContextDep, model_id: IdPath, contact_id: IdPath
) -> ContactScoreOut:
    return score_of_contact(session, ctx, model_id, contact_id)


@router.get("/{model_id}/contacts/{contact_id}/explanation", dependencies=[Read])
def explanation(session: SessionDep, ctx: ContextDep, model_id: IdPath, contact_id: IdPath) -> ExplanationOut:
    """Every contribution to the contact's current score: the property rules that hold, each scored event."""
    return explain(session, ctx, model_id, contact_id)


def _rescore_later(request: Request, background: BackgroundTasks, ctx: Context, model: ScoreModelOut) -> None:
    # Runs after the response, so after the transaction that stored the version has committed.
    if model.building is not None:
        background.add_task(run_rescore, request.app.state.sessionmaker, ctx, model.building.id)
