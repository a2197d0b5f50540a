"""The steps that change something for the contact: properties, lists, stage, owner, tasks, deals, webhooks.

`run_effect` does one step's effect for one enrollment and returns a short outcome for the
contact's path. The engine calls it inside a SAVEPOINT, so a raised `StepRefused` (the step can
never succeed as written) or `StepFailed` (try again later) undoes only this step's writes. Every
write goes through the owning package's service, so history rows, timeline events and the
reactions queue (`mark_due`) follow as they do for any other change.

- `set_property` on `lifecycle_stage` moves the stage like `set_lifecycle_stage` does (forward
  only, with its history row and event) rather than writing the field bare.
- `set_lifecycle_stage` goes forward only: a move back, or out of `disqualified`, changes nothing
  and is reported as such; the history row names the workflow and step in its reason.
- `assign_owner` with an owner makes that user the owner even when the contact had another one.
- `create_task` without `due_in` is due at once.
- `upsert_deal` finds the contact's deal by name (within the pipeline, when one is named).
- `webhook` sends `Funnelwise-Signature` only when the step has a `secret`; without one the call
  is unsigned. The installation's secret key is never used: a receiver could only check a
  signature made with it by being given the key that protects everything else.
  `Idempotency-Key` is the step's key, the same on every retry, so a receiver can drop a call it
  has handled when the engine retries after a crash. A refused address, a URL that cannot be
  used, a redirect or a 4xx are refused; no answer, 408, 425, 429 and 5xx are retried.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic_core import to_jsonable_python
from sqlalchemy import Numeric, Text, bindparam, cast, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.identity import resolve_contact_id
from funnelwise.contacts.models import Contact
from funnelwise.contacts.normalize import normalize_email
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import load_coercer
from funnelwise.contacts.schemas import ContactIn
from funnelwise.contacts.service import check_references, make_cleaner, update_contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.reactions.queue import mark_due
from funnelwise.sales.assignment import assign_contacts, give_owner
from funnelwise.sales.deals import (
    contact_deal_named,
    create_deal,
    default_pipeline,
    list_pipelines,
    move_deal,
    update_deal,
)
from funnelwise.sales.lifecycle import change_stage
from funnelwise.sales.schemas import DealIn, DealMoveIn, DealPatch, TaskIn
from funnelwise.sales.tasks import create_task
from funnelwise.sales.webhooks import RefusedAddress, check_url_shape, post_json
from funnelwise.segments.lists import add_members, list_id_named, remove_members
from funnelwise.workflows.definition import (
    AssignOwnerStep,
    CreateTaskStep,
    IncrementPropertyStep,
    ListStep,
    SetPropertyStep,
    StageStep,
    UpsertDealStep,
    WebhookStep,
)
from funnelwise.workflows.durations import parse_duration
from funnelwise.workflows.runtime import StepContext, StepFailed, StepRefused

EffectStep = (
    SetPropertyStep
    | IncrementPropertyStep
    | ListStep
    | StageStep
    | AssignOwnerStep
    | CreateTaskStep
    | UpsertDealStep
    | WebhookStep
)
_CONTACT_PAYLOAD_FIELDS = (
    "email", "phone", "user_id", "first_name", "last_name", "job_title", "job_level",
    "lifecycle_stage", "owner_id", "company_id", "timezone", "locale",
)  # fmt: skip
# Answers worth asking again: the receiver timed out, was not ready, or asked us to slow down.
_RETRY_STATUSES = frozenset({408, 425, 429})


def run_effect(session: Session, ctx: Context, step: EffectStep, run: StepContext) -> str:
    """Does the step's effect for `run.contact_id`; returns what happened, for the contact's path."""
    contact_id = resolve_contact_id(session, run.contact_id)
    if contact_id is None:
        raise StepRefused(f"contact {run.contact_id} no longer exists")
    return _HANDLERS[step.type](session, ctx, step, run, contact_id)


def _set_property(session: Session, ctx: Context, step: SetPropertyStep, run: StepContext, cid: int) -> str:
    name = step.property
    if name == "lifecycle_stage":
        return _move_stage(session, ctx, str(step.value), run, cid)
    raw: dict[str, Any] = {name: step.value} if name in CONTACT_FIELDS else {"properties": {name: step.value}}
    draft, errors = make_cleaner(session, ctx).clean(raw)
    errors.extend(check_references(session, draft.fields))
    if errors:
        raise StepRefused(f"cannot set {name}: {InvalidInput(errors)}")
    value = draft.fields[name] if name in CONTACT_FIELDS else draft.properties[name]
    cleaned = {name: value} if name in CONTACT_FIELDS else {"properties": {name: value}}
    try:
        update_contact(session, ctx, cid, ContactIn.model_validate(cleaned))
    except (Conflict, InvalidInput) as exc:
        raise StepRefused(f"cannot set {name}: {exc}") from None
    return f"cleared {name}" if value is None else f"set {name} = {_shown(value)}"


def _increment_property(
    session: Session, ctx: Context, step: IncrementPropertyStep, _run: StepContext, cid: int
) -> str:
    name = step.property
    spec = load_coercer(session, ctx, ObjectType.CONTACT).specs.get(name)
    if spec is None or spec.type is not PropertyType.NUMBER:
        kind = "no custom property" if spec is None else f"a {spec.type} property"
        if name in CONTACT_FIELDS:
            kind = "a built-in field"
        raise StepRefused(f"cannot increment {name!r}: it is {kind}, not a number property")
    by = int(step.by) if float(step.by).is_integer() else step.by
    # One statement adds to whatever is stored when it runs: no read-modify-write race.
    properties = session.scalar(
        update(Contact)
        .where(Contact.id == cid)
        .values(properties=_json_added(session, name, by), updated_at=ctx.clock.now())
        .returning(Contact.properties)
        .execution_options(synchronize_session=False)
    )
    _forget_loaded(session, cid)
    mark_due(session, ctx, [cid])
    total = (properties or {}).get(name)
    return f"{'increased' if by > 0 else 'decreased'} {name} by {_shown(abs(by))} to {_shown(total)}"


def _json_added(session: Session, name: str, by: int | float) -> Any:
    """The properties document with `by` added to the number under `name` (0 when missing)."""
    if dialect_name(session) == "postgresql":
        path = bindparam(None, [name], type_=postgresql.ARRAY(Text))
        stored = Contact.properties.op("->>")(bindparam(None, name, type_=Text))
        total = func.coalesce(cast(stored, Numeric), 0) + bindparam(None, by)
        return func.jsonb_set(Contact.properties, path, func.to_jsonb(total))
    path = bindparam(None, f'$."{name}"', type_=Text)
    total = func.coalesce(func.json_extract(Contact.properties, path), 0) + bindparam(None, by)
    return func.json_set(Contact.properties, path, total)


def _list(session: Session, ctx: Context, step: ListStep, _run: StepContext, cid: int) -> str:
    try:
        list_id = list_id_named(session, step.list)
    except NotFound:
        raise StepRefused(f"no list named {step.list!r}") from None
    if step.type == "add_to_list":
        change = add_members(session, ctx, list_id, [cid])
        return f"added to list {step.list!r}" if change.changed else f"already on list {step.list!r}"
    change = remove_members(session, ctx, list_id, [cid])
    return f"removed from list {step.list!r}" if change.changed else f"not on list {step.list!r}"


def _stage(session: Session, ctx: Context, step: StageStep, run: StepContext, cid: int) -> str:
    return _move_stage(session, ctx, step.stage, run, cid)


def _move_stage(session: Session, ctx: Context, stage: str, run: StepContext, cid: int) -> str:
    """Forward only, as a rule moves contacts: a move back changes nothing and is no error."""
    reason = f"workflow {run.workflow_name!r} (version {run.version}), step {run.step_id!r}"
    try:
        moved = change_stage(session, ctx, cid, stage, reason=reason, source="workflow")
    except Conflict:  # a move back needs force, which only a person may use
        current = session.scalar(select(Contact.lifecycle_stage).where(Contact.id == cid))
        return f"stage unchanged (already {current}; a workflow moves contacts forward only)"
    except InvalidInput as exc:
        raise StepRefused(f"cannot set the lifecycle stage: {exc}") from None
    if not moved.changed:
        return f"stage unchanged (already {moved.stage})"
    assert moved.change is not None
    return f"stage {moved.change.from_stage or 'none'} → {moved.stage}"


def _assign_owner(session: Session, ctx: Context, step: AssignOwnerStep, _run: StepContext, cid: int) -> str:
    if step.owner is None:
        assignments = assign_contacts(session, ctx, [cid])
        if not assignments:
            owner_id = session.scalar(select(Contact.owner_id).where(Contact.id == cid))
            return f"owned by {_email(session, owner_id)} already" if owner_id else "no rule matched"
        mark_due(session, ctx, [cid])
        (assignment,) = assignments
        return f"assigned to {_email(session, assignment.owner_id)} ({assignment.via})"
    user = _user_by_email(session, step.owner)
    if give_owner(session, ctx, cid, user.id, "workflow") is None:
        return f"owned by {user.email} already"
    mark_due(session, ctx, [cid])
    return f"assigned to {user.email}"


def _user_by_email(session: Session, email: str) -> User:
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise StepRefused(f"owner {email!r} is not an email address: {exc}") from None
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        raise StepRefused(f"no user with email {address!r} to own the contact")
    if not user.is_active:
        raise StepRefused(f"user {address!r} is deactivated and cannot own contacts")
    return user


def _create_task(session: Session, ctx: Context, step: CreateTaskStep, run: StepContext, cid: int) -> str:
    due_at = run.now + parse_duration(step.due_in) if step.due_in else run.now
    notes = f"From workflow {run.workflow_name!r} (version {run.version}), step {run.step_id!r}"
    try:
        task = create_task(session, ctx, TaskIn(title=step.title, due_at=due_at, contact_id=cid, notes=notes))
    except InvalidInput as exc:
        raise StepRefused(f"cannot create the task: {exc}") from None
    owner = _email(session, task.owner_id) if task.owner_id is not None else "nobody"
    return f"task {step.title!r} for {owner}, due {task.due_at.isoformat()}"


def _upsert_deal(session: Session, ctx: Context, step: UpsertDealStep, _run: StepContext, cid: int) -> str:
    pipeline_id = _pipeline_id(session, step.pipeline) if step.pipeline else None
    # Two enrollments of one contact take turns here, so they find one deal rather than make two.
    session.execute(select(Contact.id).where(Contact.id == cid).with_for_update())
    found = contact_deal_named(session, cid, step.name, pipeline_id)
    try:
        if found is None:
            data = DealIn(
                name=step.name,
                amount=step.amount or 0,
                pipeline_id=pipeline_id or default_pipeline(session, ctx).id,
                stage=step.stage,
                contact_id=cid,
            )
            deal = create_deal(session, ctx, data)
            return f"created deal {step.name!r} at {deal.stage} ({deal.amount:,} {deal.currency})"
        changes: list[str] = []
        if step.amount is not None and step.amount != found.amount:
            update_deal(session, ctx, found.id, DealPatch(amount=step.amount))
            changes.append(f"amount {step.amount:,} {found.currency}")
        if step.stage is not None and step.stage != found.stage:
            move_deal(session, ctx, found.id, DealMoveIn(stage=step.stage))
            changes.append(f"stage {found.stage} → {step.stage}")
    except InvalidInput as exc:
        raise StepRefused(f"cannot upsert deal {step.name!r}: {exc}") from None
    return f"updated deal {step.name!r}: {', '.join(changes)}" if changes else f"deal {step.name!r} unchanged"


def _pipeline_id(session: Session, name: str) -> int:
    pipelines = list_pipelines(session)
    for pipeline in pipelines:
        if pipeline.name == name:
            return pipeline.id
    there = ", ".join(repr(p.name) for p in pipelines) or "none yet"
    raise StepRefused(f"no pipeline named {name!r}; there are {there}")


def _webhook(session: Session, ctx: Context, step: WebhookStep, run: StepContext, cid: int) -> str:
    url = _usable_url(step.url)
    host = urlsplit(url).hostname
    sent_at = ctx.clock.now()
    try:
        result = post_json(
            ctx, url, run.idempotency_key, _payload(session, run, cid, sent_at), sent_at, secret=step.secret
        )
    except RefusedAddress as exc:
        raise StepRefused(str(exc)) from None
    except httpx.HTTPError as exc:  # no answer: the retry carries the same Idempotency-Key
        raise StepFailed(f"webhook to {host} failed: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:  # a host name the resolver cannot take, as IDNA or otherwise
        raise StepRefused(f"webhook URL {url!r} cannot be used: {exc}") from None
    status = result.status
    if 200 <= status < 300:
        return f"webhook {status}"
    if status in _RETRY_STATUSES or status >= 500:
        raise StepFailed(f"webhook to {host} answered {status}")
    if 300 <= status < 400:
        raise StepRefused(f"webhook to {host} answered {status}, a redirect; redirects are not followed")
    raise StepRefused(f"webhook to {host} answered {status}")


def _usable_url(url: str) -> str:
    try:
        checked = check_url_shape(url)
        urlsplit(checked).port  # noqa: B018 -- reading it refuses a port out of range
    except ValueError as exc:
        raise StepRefused(f"webhook URL {url!r} cannot be used: {exc}") from None
    return checked


def _payload(session: Session, run: StepContext, cid: int, sent_at: datetime) -> dict[str, Any]:
    contact = session.get_one(Contact, cid)
    return {
        "workflow": run.workflow_name,
        "version": run.version,
        "step": run.step_id,
        "enrollment_id": run.enrollment_id,
        "contact": {"id": contact.id} | {name: getattr(contact, name) for name in _CONTACT_PAYLOAD_FIELDS},
        "trigger": to_jsonable_python(run.trigger),
        "sent_at": sent_at.isoformat(),
    }


def _email(session: Session, user_id: int | None) -> str:
    email = session.scalar(select(User.email).where(User.id == user_id)) if user_id is not None else None
    return email or f"user {user_id}"


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


def _forget_loaded(session: Session, cid: int) -> None:
    """Expires a loaded copy of the contact a bulk UPDATE changed, so the next read sees it."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Contact) and loaded.id == cid:
            session.expire(loaded)


_HANDLERS: dict[str, Callable[[Session, Context, Any, StepContext, int], str]] = {
    "set_property": _set_property,
    "increment_property": _increment_property,
    "add_to_list": _list,
    "remove_from_list": _list,
    "set_lifecycle_stage": _stage,
    "assign_owner": _assign_owner,
    "create_task": _create_task,
    "upsert_deal": _upsert_deal,
    "webhook": _webhook,
}
EFFECT_TYPES: frozenset[str] = frozenset(_HANDLERS)
