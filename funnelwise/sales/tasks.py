"""Follow-up tasks and the SLA policies that open them when a contact enters a stage."""

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.normalize import normalize_email
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.sales.models import Deal, SalesTask, SlaPolicy
from funnelwise.sales.schemas import SlaPolicyCreated, SlaPolicyIn, SlaPolicyOut, StageChange, TaskIn, TaskOut
from funnelwise.sales.stages import parse_stage
from funnelwise.sales.webhooks import check_url_shape

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
_tasks = SalesTask.__table__


# SLA policies


def create_sla_policy(session: Session, ctx: Context, data: SlaPolicyIn) -> SlaPolicyCreated:
    """Stores the policy; a webhook gets a new signing secret, returned only now."""
    errors: list[FieldError] = []
    stage = _checked(errors, "stage", parse_stage, data.stage)
    email = _checked(errors, "escalate_email", normalize_email, data.escalate_email)
    url = _checked(errors, "webhook_url", check_url_shape, data.webhook_url)
    if errors:
        raise InvalidInput(errors)
    secret = f"whsec_{secrets.token_urlsafe(32)}" if url else None
    now = ctx.clock.now()
    policy = SlaPolicy(
        name=data.name,
        stage=stage,
        within_minutes=data.within_minutes,
        task_title=data.task_title,
        escalate_to_manager=data.escalate_to_manager,
        escalate_email=email,
        webhook_url=url,
        webhook_secret=secret,
        is_active=data.is_active,
        created_at=now,
        updated_at=now,
    )
    if not write_or_undo(session, lambda: session.add(policy)):
        raise Conflict("name", f"an SLA policy named {data.name!r} exists already")
    return SlaPolicyCreated(policy=SlaPolicyOut.model_validate(policy), webhook_secret=secret)


def list_sla_policies(session: Session) -> list[SlaPolicyOut]:
    policies = session.scalars(select(SlaPolicy).order_by(SlaPolicy.id))
    return [SlaPolicyOut.model_validate(policy) for policy in policies]


def delete_sla_policy(session: Session, policy_id: int) -> None:
    """Forgets the policy; the tasks it opened stay, and are still escalated when overdue."""
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("SLA policy", policy_id)
    session.delete(policy)
    session.flush()


def open_sla_tasks(session: Session, ctx: Context, changes: Sequence[StageChange]) -> int:
    """Opens the follow-up task each active policy asks for on a stage entered; never twice for one entry."""
    stages = {change.to_stage for change in changes}
    if not stages:
        return 0
    policies = list(
        session.scalars(
            select(SlaPolicy).where(SlaPolicy.is_active.is_(True), SlaPolicy.stage.in_(sorted(stages)))
        )
    )
    if not policies:
        return 0
    ids = sorted({change.contact_id for change in changes})
    people = {
        contact_id: (owner_id, company_id)
        for contact_id, owner_id, company_id in session.execute(
            select(Contact.id, Contact.owner_id, Contact.company_id).where(one_of(session, Contact.id, ids))
        )
    }
    now = ctx.clock.now()
    rows = [
        {
            "contact_id": change.contact_id,
            "company_id": people[change.contact_id][1],
            "deal_id": None,
            "owner_id": people[change.contact_id][0],
            "title": policy.task_title,
            "notes": f"SLA {policy.name}: within {policy.within_minutes} minutes of entering {policy.stage}",
            "due_at": change.at + timedelta(minutes=policy.within_minutes),
            "status": OPEN,
            "sla_policy_id": policy.id,
            "source_key": f"sla-{policy.id}-{change.contact_id}-{change.at.isoformat()}",
            "created_at": now,
            "updated_at": now,
        }
        for change in changes
        for policy in policies
        if policy.stage == change.to_stage and change.contact_id in people
    ]
    if not rows:
        return 0
    statement = insert(session, _tasks).on_conflict_do_nothing(index_elements=["source_key"])
    return len(session.scalars(statement.returning(_tasks.c.id), rows).all())


def give_open_tasks(session: Session, owners: Mapping[int, int]) -> None:
    """Open tasks of these contacts that nobody owns go to the contact's new owner."""
    if not owners:
        return
    session.execute(
        update(_tasks)
        .where(
            _tasks.c.contact_id == bindparam("c"),
            _tasks.c.owner_id.is_(None),
            _tasks.c.status == OPEN,
        )
        .values(owner_id=bindparam("o")),
        [{"c": contact_id, "o": owner_id} for contact_id, owner_id in owners.items()],
    )


# Tasks


def create_task(session: Session, ctx: Context, data: TaskIn) -> TaskOut:
    """A task by hand; its owner defaults to the owner of its contact, company or deal."""
    if data.due_at.tzinfo is None:
        raise InvalidInput.single("due_at", "a due time needs its UTC offset, e.g. 2026-11-23T09:00:00+09:00")
    owner_id = data.owner_id if data.owner_id is not None else _default_owner(session, data)
    _check_refs(session, data, owner_id)
    now = ctx.clock.now()
    task = SalesTask(
        contact_id=data.contact_id,
        company_id=data.company_id,
        deal_id=data.deal_id,
        owner_id=owner_id,
        title=data.title,
        notes=data.notes,
        due_at=data.due_at.astimezone(UTC),
        status=OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    return TaskOut.model_validate(task)


def get_task(session: Session, task_id: int) -> TaskOut:
    return TaskOut.model_validate(_load(session, task_id))


def finish_task(session: Session, ctx: Context, task_id: int, status: str = DONE) -> TaskOut:
    """Marks an open task done (or cancelled); an overdue one is no longer escalated."""
    task = _load(session, task_id)
    if task.status != OPEN:
        raise Conflict("status", f"task {task_id} is {task.status} already")
    now = ctx.clock.now()
    task.status = status
    task.completed_at = now
    task.updated_at = now
    session.flush()
    return TaskOut.model_validate(task)


def list_tasks(
    session: Session,
    ctx: Context,
    *,
    owner_id: int | None = None,
    contact_id: int | None = None,
    status: str | None = None,
    overdue: bool = False,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[TaskOut]:
    """Tasks by id, a page at a time; `overdue` means open and past due now."""
    query = select(SalesTask).order_by(SalesTask.id).limit(limit + 1)
    if owner_id is not None:
        query = query.where(SalesTask.owner_id == owner_id)
    if contact_id is not None:
        query = query.where(SalesTask.contact_id == contact_id)
    if status is not None:
        query = query.where(SalesTask.status == status)
    if overdue:
        query = query.where(SalesTask.status == OPEN, SalesTask.due_at < ctx.clock.now())
    if cursor:
        query = query.where(SalesTask.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[TaskOut.model_validate(row) for row in rows[:limit]], next_cursor=next_cursor)


def _default_owner(session: Session, data: TaskIn) -> int | None:
    for model, key in ((Contact, data.contact_id), (Deal, data.deal_id), (Company, data.company_id)):
        if key is not None:
            found = session.get(model, key)
            if found is not None and found.owner_id is not None:
                return found.owner_id
    return None


def _check_refs(session: Session, data: TaskIn, owner_id: int | None) -> None:
    errors = [
        FieldError(field, f"no {what} with id {key}")
        for field, what, model, key in (
            ("contact_id", "contact", Contact, data.contact_id),
            ("company_id", "company", Company, data.company_id),
            ("deal_id", "deal", Deal, data.deal_id),
            ("owner_id", "user", User, owner_id),
        )
        if key is not None and session.get(model, key) is None
    ]
    if errors:
        raise InvalidInput(errors)


def _load(session: Session, task_id: int) -> SalesTask:
    task = session.get(SalesTask, task_id)
    if task is None:
        raise NotFound("task", task_id)
    return task


def _checked(errors: list[FieldError], field: str, clean: Callable[[Any], Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        return clean(value)
    except ValueError as exc:
        errors.append(FieldError(field, str(exc)))
        return None
