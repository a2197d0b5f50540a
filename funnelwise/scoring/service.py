"""Score models: define them (YAML or API), change their rules, read and explain scores."""

from dataclasses import replace
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from funnelwise.conditions import load_facts
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.scoring.compute import decay_factor, grade_of, score_contact
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.reading import current_scores
from funnelwise.scoring.rules import parse_rules, unknown_names
from funnelwise.scoring.schemas import (
    ContactScoreOut,
    Contribution,
    ExplanationOut,
    NameWarningOut,
    ScoreModelIn,
    ScoreModelOut,
    ScoreModelSaved,
    VersionOut,
    VersionState,
)
from funnelwise.scoring.upkeep import extras_for, scoring_of_version


def apply_model(
    session: Session, ctx: Context, data: ScoreModelIn, *, allow_unknown: bool = False
) -> ScoreModelSaved:
    """Creates the model of this name, or gives the existing one these rules."""
    model_id = session.scalar(select(ScoreModel.id).where(ScoreModel.name == data.name))
    if model_id is None:
        return create_model(session, ctx, data, allow_unknown=allow_unknown)
    return update_model(session, ctx, model_id, data, allow_unknown=allow_unknown)


def create_model(
    session: Session, ctx: Context, data: ScoreModelIn, *, allow_unknown: bool = False
) -> ScoreModelSaved:
    """Stores a model and a first version for a rescore to fill; unknown names are refused."""
    warnings = _checked(session, data, allow_unknown)
    if session.scalar(select(ScoreModel.id).where(ScoreModel.name == data.name)) is not None:
        raise Conflict("name", f"a score model named {data.name!r} exists already")
    now = ctx.clock.now()
    model = ScoreModel(name=data.name, description=data.description, created_at=now, updated_at=now)
    session.add(model)
    session.flush()
    _new_version(session, ctx, model, data)
    return ScoreModelSaved(model=get_model(session, model.id), warnings=warnings)


def update_model(
    session: Session, ctx: Context, model_id: int, data: ScoreModelIn, *, allow_unknown: bool = False
) -> ScoreModelSaved:
    """Renames, redescribes and, when the rules differ, builds a new version to switch to."""
    model = _model(session, model_id)
    warnings = _checked(session, data, allow_unknown)
    clash = session.scalar(
        select(ScoreModel.id).where(ScoreModel.name == data.name, ScoreModel.id != model_id)
    )
    if clash is not None:
        raise Conflict("name", f"a score model named {data.name!r} exists already", clash)
    model.name, model.description, model.updated_at = data.name, data.description, ctx.clock.now()
    latest = session.scalar(
        select(ScoreModelVersion)
        .where(
            ScoreModelVersion.model_id == model_id,
            ScoreModelVersion.state.in_([VersionState.BUILDING, VersionState.CURRENT]),
        )
        .order_by(ScoreModelVersion.version.desc())
        .limit(1)
    )
    if latest is None or latest.definition != definition_of(data):
        _new_version(session, ctx, model, data)
    session.flush()
    return ScoreModelSaved(model=get_model(session, model_id), warnings=warnings)


def new_version(session: Session, ctx: Context, model_id: int) -> VersionOut:
    """A version with the current rules, for a rescore: time-bound property rules are decided anew."""
    model = _model(session, model_id)
    source = session.scalar(
        select(ScoreModelVersion)
        .where(ScoreModelVersion.model_id == model_id, ScoreModelVersion.state != VersionState.FAILED)
        .order_by(ScoreModelVersion.version.desc())
        .limit(1)
    )
    if source is None:
        raise NotFound("version of score model", model_id)
    data = ScoreModelIn.model_validate({"name": model.name, **source.definition})
    return _version_out(_new_version(session, ctx, model, data))


def delete_model(session: Session, model_id: int) -> None:
    model = _model(session, model_id)
    versions = select(ScoreModelVersion.id).where(ScoreModelVersion.model_id == model_id)
    session.execute(delete(ContactScore).where(ContactScore.version_id.in_(versions)))
    session.execute(delete(ScoreModelVersion).where(ScoreModelVersion.model_id == model_id))
    session.delete(model)
    session.flush()


def list_models(session: Session) -> list[ScoreModelOut]:
    return [
        get_model(session, model_id)
        for model_id in session.scalars(select(ScoreModel.id).order_by(ScoreModel.id))
    ]


def get_model(session: Session, model_id: int) -> ScoreModelOut:
    model = _model(session, model_id)
    versions = session.scalars(
        select(ScoreModelVersion)
        .where(
            ScoreModelVersion.model_id == model_id,
            ScoreModelVersion.state.in_([VersionState.BUILDING, VersionState.CURRENT]),
        )
        .order_by(ScoreModelVersion.version)
    ).all()
    current = next((v for v in versions if v.id == model.current_version_id), None)
    building = next((v for v in reversed(versions) if v.state == VersionState.BUILDING), None)
    shown = building or current
    definition = {"name": model.name, "description": model.description, **(shown.definition if shown else {})}
    return ScoreModelOut(
        id=model.id,
        name=model.name,
        description=model.description,
        definition=definition,
        current=_version_out(current) if current else None,
        building=_version_out(building) if building else None,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


def model_id_named(session: Session, name_or_id: str) -> int:
    """The id of the model with this name, or of this id when the text is a number."""
    found = session.scalar(select(ScoreModel.id).where(ScoreModel.name == name_or_id))
    if found is None and name_or_id.isdigit():
        found = session.scalar(select(ScoreModel.id).where(ScoreModel.id == int(name_or_id)))
    if found is None:
        raise NotFound("score model", name_or_id)
    return found


def explain(session: Session, ctx: Context, model_id: int, contact_id: int) -> ExplanationOut:
    """Every contribution to the contact's current score in the model, computed from the log now."""
    model = _model(session, model_id)
    version = _current_version(session, model)
    if session.get(Contact, contact_id) is None:
        raise NotFound("contact", contact_id)
    scoring = scoring_of_version(version)
    now, tz = ctx.clock.now(), ctx.settings.tz
    facts = load_facts(session, contact_id, scoring.event_names())
    facts = replace(facts, extra=extras_for(session, [scoring], [contact_id])[contact_id])
    totals = score_contact(scoring, facts, now, tz)
    decay = decay_factor(scoring, now)
    contributions = [
        Contribution(
            rule=rule.name, kind="property", points=rule.points, counted=rule.points, now=rule.points
        )
        for rule in scoring.property_rules
        if rule.name in totals.by_rule
    ]
    contributions += [
        Contribution(
            rule=o.rule,
            kind="event",
            points=o.points,
            counted=o.counted,
            now=o.weighted * decay,
            event=o.event.name,
            occurred_at=o.event.occurred_at,
        )
        for o in totals.occurrences
    ]
    raw = totals.fixed + totals.level * decay
    score = raw if scoring.cap is None or raw <= scoring.cap else scoring.cap
    return ExplanationOut(
        model_id=model.id,
        model_name=model.name,
        version=version.version,
        contact_id=contact_id,
        at=now,
        total_before_cap=raw,
        cap=scoring.cap,
        score=score,
        grade=grade_of(scoring.grading, score),
        contributions=contributions,
    )


def scores_of_contact(session: Session, ctx: Context, contact_id: int) -> list[ContactScoreOut]:
    """The contact's score and grade in every model that has scores, now."""
    if session.get(Contact, contact_id) is None:
        raise NotFound("contact", contact_id)
    now = ctx.clock.now()
    stored = current_scores(session, [contact_id])[contact_id]
    return [
        ContactScoreOut(
            model_id=s.model_id,
            model_name=name,
            contact_id=contact_id,
            score=s.at(now),
            grade=s.grade_at(now),
            at=now,
        )
        for name, s in sorted(stored.items())
    ]


def score_of_contact(session: Session, ctx: Context, model_id: int, contact_id: int) -> ContactScoreOut:
    """The contact's score and grade in one model, now."""
    model = _model(session, model_id)
    _current_version(session, model)
    found = [score for score in scores_of_contact(session, ctx, contact_id) if score.model_id == model_id]
    return found[0]


def definition_of(data: ScoreModelIn) -> dict[str, Any]:
    """What a version stores: the rules and how to read them, not the name or the description."""
    return data.model_dump(mode="json", exclude={"name", "description"}, exclude_none=True)


def _checked(session: Session, data: ScoreModelIn, allow_unknown: bool) -> list[NameWarningOut]:
    rules = parse_rules(data)
    unknown = unknown_names(session, rules)
    if unknown and not allow_unknown:
        raise InvalidInput(unknown)
    return [NameWarningOut(path=e.field, message=e.message) for e in unknown]


def _new_version(session: Session, ctx: Context, model: ScoreModel, data: ScoreModelIn) -> ScoreModelVersion:
    now = ctx.clock.now()
    superseded = select(ScoreModelVersion.id).where(
        ScoreModelVersion.model_id == model.id, ScoreModelVersion.state == VersionState.BUILDING
    )
    session.execute(delete(ContactScore).where(ContactScore.version_id.in_(superseded)))
    session.execute(
        update(ScoreModelVersion)
        .where(ScoreModelVersion.model_id == model.id, ScoreModelVersion.state == VersionState.BUILDING)
        .values(state=VersionState.FAILED, error="superseded by newer rules", finished_at=now)
    )
    number = (
        session.scalar(
            select(func.max(ScoreModelVersion.version)).where(ScoreModelVersion.model_id == model.id)
        )
        or 0
    ) + 1
    grades = data.grades
    thresholds = grades.ordered() if grades else (None, None, None)
    version = ScoreModelVersion(
        model_id=model.id,
        version=number,
        definition=definition_of(data),
        state=VersionState.BUILDING,
        # Whole seconds: SQLite's date functions read milliseconds at most.
        reference_at=now.replace(microsecond=0),
        half_life_days=data.half_life_days,
        cap=data.cap,
        grade_scale=grades.scale.value if grades else None,
        threshold_1=thresholds[0],
        threshold_2=thresholds[1],
        threshold_3=thresholds[2],
        progress_done=0,
        progress_total=session.scalar(select(func.count()).select_from(Contact)) or 0,
        created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def _model(session: Session, model_id: int) -> ScoreModel:
    model = session.get(ScoreModel, model_id)
    if model is None:
        raise NotFound("score model", model_id)
    return model


def _current_version(session: Session, model: ScoreModel) -> ScoreModelVersion:
    version = session.get(ScoreModelVersion, model.current_version_id) if model.current_version_id else None
    if version is None:
        raise NotFound("scored version of score model", model.name)
    return version


def _version_out(version: ScoreModelVersion) -> VersionOut:
    return VersionOut(
        id=version.id,
        version=version.version,
        state=VersionState(version.state),
        progress_done=version.progress_done,
        progress_total=version.progress_total,
        error=version.error,
        created_at=version.created_at,
        started_at=version.started_at,
        finished_at=version.finished_at,
    )
