"""Lifecycle stages: rules that move contacts forward, deliberate moves by people, and the history.

Every change writes a `lifecycle_stage_history` row (when the stage was entered, and how) and a
`Lifecycle Stage Changed` event, and opens the follow-up task an SLA policy asks for on that stage.
Rules only ever move a contact forward (see `stages.is_forward`); a person may move one back with
`force`. Setting `lifecycle_stage` through the contacts API or an import is a person's deliberate
move too, in any direction: `record_set_stages` writes its history (source `api` or `import`).
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.conditions import compile_condition, dump_condition, without_jit
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.reactions.queue import mark_due
from funnelwise.sales.conditions import name_warnings, parse_rule_condition, stored_tree
from funnelwise.sales.log import STAGE_CHANGED
from funnelwise.sales.models import StageHistory, StageRule
from funnelwise.sales.schemas import (
    StageChange,
    StageChangeOut,
    StageHistoryOut,
    StagePassOut,
    StageRuleIn,
    StageRuleOut,
    StageRulePatch,
    StageRuleSaved,
)
from funnelwise.sales.stages import earlier_stages, is_forward, parse_stage, precedence
from funnelwise.sales.tasks import open_sla_tasks
from funnelwise.tracking.log import SystemEvent, record_events

# A contact moves at most once per stage on the ladder, so this many rounds reach a fixed point.
_MAX_ROUNDS = 10
# SQLite refuses statements with more than 32,766 parameters.
_CHUNK = 10_000
_history = StageHistory.__table__


# Rules


def create_stage_rule(session: Session, ctx: Context, data: StageRuleIn) -> StageRuleSaved:
    tree = parse_rule_condition(data.condition)
    stage = _stage(data.stage)
    now = ctx.clock.now()
    rule = StageRule(
        name=data.name,
        stage=stage,
        condition=dump_condition(tree),
        is_active=data.is_active,
        created_at=now,
        updated_at=now,
    )
    _write(session, data.name, lambda: session.add(rule))
    return StageRuleSaved(rule=StageRuleOut.model_validate(rule), warnings=name_warnings(session, tree))


def update_stage_rule(session: Session, ctx: Context, rule_id: int, data: StageRulePatch) -> StageRuleSaved:
    """Changes what the input names; contacts move by the new rule at the next pass, never back."""
    rule = _load_rule(session, rule_id)
    tree = parse_rule_condition(data.condition if data.condition is not None else rule.condition)
    changes: dict[str, Any] = data.model_dump(exclude_none=True) | {"updated_at": ctx.clock.now()}
    if data.condition is not None:
        changes["condition"] = dump_condition(tree)
    if data.stage is not None:
        changes["stage"] = _stage(data.stage)
    _write(
        session,
        data.name or rule.name,
        lambda: [setattr(rule, name, value) for name, value in changes.items()],
    )
    return StageRuleSaved(rule=StageRuleOut.model_validate(rule), warnings=name_warnings(session, tree))


def delete_stage_rule(session: Session, rule_id: int) -> None:
    """Forgets the rule; the stages it set and their history stay."""
    session.delete(_load_rule(session, rule_id))
    session.flush()


def list_stage_rules(session: Session) -> list[StageRuleOut]:
    rules = session.scalars(select(StageRule).order_by(StageRule.id))
    return [StageRuleOut.model_validate(rule) for rule in rules]


def get_stage_rule(session: Session, rule_id: int) -> StageRuleOut:
    return StageRuleOut.model_validate(_load_rule(session, rule_id))


# Applying the rules


def apply_stage_rules(session: Session, ctx: Context, contact_ids: Iterable[int]) -> list[StageChange]:
    """Moves these contacts forward by the active rules (the worker's call after each batch).

    Decided in the database, so rules on any registered leaf (scores, segments) work alike. Ids of
    contacts that no longer exist are skipped.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    return _apply(session, ctx, ids)


def apply_all_stage_rules(session: Session, ctx: Context) -> StagePassOut:
    """Moves every contact forward by the active rules, a rule at a time (the periodic pass)."""
    changes = _apply(session, ctx, None)
    entered: dict[str, int] = {}
    for change in changes:
        entered[change.to_stage] = entered.get(change.to_stage, 0) + 1
    return StagePassOut(changed=len({c.contact_id for c in changes}), entered=entered)


def _apply(session: Session, ctx: Context, ids: list[int] | None) -> list[StageChange]:
    rules = sorted(
        session.scalars(select(StageRule).where(StageRule.is_active.is_(True))),
        key=lambda rule: (precedence(rule.stage), rule.id),
    )
    if not rules:
        return []
    now = ctx.clock.now()
    changes: list[StageChange] = []
    for _round in range(_MAX_ROUNDS):
        moved = [change for rule in rules for change in _apply_rule(session, ctx, rule, ids, now)]
        if not moved:
            break
        changes += moved
    _record(session, ctx, changes)
    return changes


def _apply_rule(
    session: Session, ctx: Context, rule: StageRule, ids: list[int] | None, now: datetime
) -> list[StageChange]:
    matches = compile_condition(stored_tree(rule.condition), now, ctx.settings.tz, dialect_name(session))
    query = select(Contact.id, Contact.lifecycle_stage).where(matches, _may_enter(rule.stage))
    if ids is not None:
        query = query.where(one_of(session, Contact.id, ids))
    # PostgreSQL: the rows stay as read until this transaction ends, so the history names the
    # stage each contact really left. SQLite's writer lock (BEGIN IMMEDIATE) does the same.
    with without_jit(session):
        rows = session.execute(query.order_by(Contact.id).with_for_update(of=Contact)).all()
    if not rows:
        return []
    _set_stage(session, [contact_id for contact_id, _stage in rows], rule.stage, now)
    return [
        StageChange(
            contact_id=contact_id,
            from_stage=stage,
            to_stage=rule.stage,
            at=now,
            source="rule",
            rule_id=rule.id,
            rule_name=rule.name,
        )
        for contact_id, stage in rows
    ]


def _may_enter(stage: str) -> ColumnElement[bool]:
    return or_(Contact.lifecycle_stage.is_(None), Contact.lifecycle_stage.in_(earlier_stages(stage)))


def _set_stage(session: Session, ids: Sequence[int], stage: str, now: datetime) -> None:
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        session.execute(
            update(Contact)
            .where(one_of(session, Contact.id, chunk))
            .values(lifecycle_stage=stage, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    _expire(session, Contact, ids)


def _expire(session: Session, model: type, ids: Sequence[int]) -> None:
    """Forgets loaded copies of rows a bulk UPDATE changed, so the next read sees the new values."""
    changed = set(ids)
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, model) and loaded.id in changed:
            session.expire(loaded)


# People moving contacts


def change_stage(
    session: Session,
    ctx: Context,
    contact_id: int,
    stage: str,
    *,
    force: bool = False,
    user_id: int | None = None,
    reason: str = "",
    source: str = "user",
) -> StageChangeOut:
    """Moves one contact to `stage`; a move back (or out of disqualified) needs `force`.

    `source` names who moved it in the stage history: a user, or a workflow step.
    """
    target = _stage(stage)
    if user_id is not None and session.get(User, user_id) is None:
        raise InvalidInput.single("user_id", f"no user with id {user_id}")
    contact = session.get(Contact, contact_id, with_for_update=True, populate_existing=True)
    if contact is None:
        raise NotFound("contact", contact_id)
    current = contact.lifecycle_stage
    if current == target:
        return StageChangeOut(contact_id=contact_id, stage=current, changed=False, change=None)
    backwards = not is_forward(current, target)
    if backwards and not force:
        raise Conflict(
            "stage",
            f"contact {contact_id} is at {current}; moving it back to {target} needs force "
            "(a deliberate move back)",
        )
    now = ctx.clock.now()
    contact.lifecycle_stage = target
    contact.updated_at = now
    session.flush()
    change = StageChange(
        contact_id=contact_id,
        from_stage=current,
        to_stage=target,
        at=now,
        source=source,
        user_id=user_id,
        forced=backwards,
        reason=reason,
    )
    _record(session, ctx, [change])
    # A person's move: the contact's segments (and anything else reading its stage) follow.
    mark_due(session, ctx, [contact_id])
    return StageChangeOut(contact_id=contact_id, stage=target, changed=True, change=change)


def record_set_stages(
    session: Session,
    ctx: Context,
    moves: Iterable[tuple[int, str | None, str | None]],
    source: str,
) -> list[StageChange]:
    """Records stages written straight onto contacts: `(contact_id, stage before, stage after)`.

    The contacts API (source `api`) and imports (source `import`) set `lifecycle_stage` as a
    person asked, forward or back, so nothing is refused here; a move back is marked `forced`, as a
    forced move by hand is. The caller holds the contacts' rows (locked, or SQLite's writer lock)
    from reading the stage before to writing the new one. Clearing the stage enters none: no row.
    """
    now = ctx.clock.now()
    changes = [
        StageChange(
            contact_id=contact_id,
            from_stage=before,
            to_stage=after,
            at=now,
            source=source,
            forced=not is_forward(before, after),
        )
        for contact_id, before, after in moves
        if after is not None and after != before
    ]
    _record(session, ctx, changes)
    return changes


def stage_history(session: Session, contact_id: int) -> list[StageHistoryOut]:
    """Every stage the contact entered, oldest first."""
    if session.get(Contact, contact_id) is None:
        raise NotFound("contact", contact_id)
    rows = session.scalars(
        select(StageHistory)
        .where(StageHistory.contact_id == contact_id)
        .order_by(StageHistory.entered_at, StageHistory.id)
    )
    return [StageHistoryOut.model_validate(row) for row in rows]


# Recording


def _record(session: Session, ctx: Context, changes: list[StageChange]) -> None:
    if not changes:
        return
    rows = [
        {
            "contact_id": c.contact_id,
            "from_stage": c.from_stage,
            "to_stage": c.to_stage,
            "entered_at": c.at,
            "source": c.source,
            "rule_id": c.rule_id,
            "user_id": c.user_id,
            "forced": c.forced,
            "reason": c.reason,
        }
        for c in changes
    ]
    session.execute(insert(session, _history), rows)
    record_events(session, [_entry(c) for c in changes])
    open_sla_tasks(session, ctx, changes)


def _entry(change: StageChange) -> SystemEvent:
    properties: dict[str, Any] = {
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "source": change.source,
    }
    if change.rule_id is not None:
        properties |= {"rule_id": change.rule_id, "rule_name": change.rule_name}
    if change.user_id is not None:
        properties["user_id"] = change.user_id
    if change.forced:
        properties["forced"] = True
    if change.reason:
        properties["reason"] = change.reason
    return SystemEvent(
        message_id=f"stage-{change.contact_id}-{change.to_stage}-{change.at.isoformat()}",
        contact_id=change.contact_id,
        name=STAGE_CHANGED,
        at=change.at,
        properties=properties,
    )


def _stage(value: str) -> str:
    try:
        return parse_stage(value)
    except ValueError as exc:
        raise InvalidInput.single("stage", str(exc)) from None


def _load_rule(session: Session, rule_id: int) -> StageRule:
    rule = session.get(StageRule, rule_id)
    if rule is None:
        raise NotFound("stage rule", rule_id)
    return rule


def _write(session: Session, name: str, write: Callable[[], object]) -> None:
    if not write_or_undo(session, write):
        raise Conflict("name", f"a stage rule named {name!r} exists already")
