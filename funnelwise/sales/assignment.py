"""Giving unowned contacts an owner: their company's owner, else the first assignment rule that matches.

A rule's condition is any condition (territory, industry, company size, a form answer are contact
or company properties); it names a salesperson, or a team whose members take turns. A contact
that gets an owner this way also gives its ownerless company that owner, so the rest of the
company's people follow to the same person.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.auth.users import Role
from funnelwise.conditions import compile_condition, dump_condition
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, one_of
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.sales.conditions import name_warnings, parse_rule_condition, stored_tree
from funnelwise.sales.log import OWNER_ASSIGNED
from funnelwise.sales.models import AssignmentRule, SalesTeam
from funnelwise.sales.schemas import Assignment, AssignmentRuleIn, AssignmentRuleOut, AssignmentRuleSaved
from funnelwise.sales.tasks import give_open_tasks
from funnelwise.sales.teams import take_turn
from funnelwise.tracking.log import SystemEvent, record_events

# How many unowned contacts one statement looks at in a pass over all of them.
_CHUNK = 1000
_contacts = Contact.__table__
_companies = Company.__table__


def create_assignment_rule(session: Session, ctx: Context, data: AssignmentRuleIn) -> AssignmentRuleSaved:
    tree = parse_rule_condition(data.condition)
    _check_target(session, data)
    position = data.position
    if position is None:
        position = (session.scalar(select(func.max(AssignmentRule.position))) or 0) + 1
    now = ctx.clock.now()
    rule = AssignmentRule(
        name=data.name,
        position=position,
        condition=dump_condition(tree),
        team_id=data.team_id,
        user_id=data.user_id,
        is_active=data.is_active,
        created_at=now,
        updated_at=now,
    )
    if not write_or_undo(session, lambda: session.add(rule)):
        raise Conflict("name", f"an assignment rule named {data.name!r} exists already")
    return AssignmentRuleSaved(
        rule=AssignmentRuleOut.model_validate(rule), warnings=name_warnings(session, tree)
    )


def list_assignment_rules(session: Session) -> list[AssignmentRuleOut]:
    rules = session.scalars(select(AssignmentRule).order_by(AssignmentRule.position, AssignmentRule.id))
    return [AssignmentRuleOut.model_validate(rule) for rule in rules]


def delete_assignment_rule(session: Session, rule_id: int) -> None:
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound("assignment rule", rule_id)
    session.delete(rule)
    session.flush()


def assign_contacts(session: Session, ctx: Context, contact_ids: Iterable[int]) -> list[Assignment]:
    """Gives each of these contacts that has no owner one (the worker's call after each batch).

    Contacts no rule matches stay unowned. Rows are locked while decided, so two workers never give
    one contact two owners, and each round-robin turn is taken once.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    query = (
        select(Contact.id, Contact.company_id, Company.owner_id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(one_of(session, Contact.id, ids), Contact.owner_id.is_(None))
        .order_by(Contact.id)
        .with_for_update(of=Contact)
    )
    if not session.scalar(select(exists().where(AssignmentRule.is_active.is_(True)))):
        # Without rules only a company's owner can be given; the rest are left unlocked, out of
        # the way of the resolver writing to the same contacts.
        query = query.where(Company.owner_id.is_not(None))
    unowned = session.execute(query).all()
    if not unowned:
        return []
    rules = _matching_rules(session, ctx, [row[0] for row in unowned if row[2] is None])
    company_owners: dict[int, int] = {}
    assignments: list[Assignment] = []
    now = ctx.clock.now()
    for contact_id, company_id, company_owner in unowned:
        if company_owner is None and company_id is not None:
            company_owner = company_owners.get(company_id)
        if company_owner is not None:
            assignments.append(
                Assignment(contact_id=contact_id, owner_id=company_owner, via="company", at=now)
            )
            continue
        rule = rules.get(contact_id)
        owner = _owner_by(session, rule) if rule is not None else None
        if rule is None or owner is None:
            continue
        via = "round_robin" if rule.team_id is not None else "rule"
        assignments.append(
            Assignment(
                contact_id=contact_id, owner_id=owner, via=via, rule_id=rule.id, team_id=rule.team_id, at=now
            )
        )
        if company_id is not None:
            company_owners[company_id] = owner
    _record(session, assignments, company_owners)
    return assignments


def give_owner(session: Session, ctx: Context, contact_id: int, owner_id: int, via: str) -> Assignment | None:
    """Makes the user the contact's owner, whoever owned it before; None when they own it already.

    The contact's unowned open tasks go to them too, and `Owner Assigned` is logged with `via`.
    """
    current = session.execute(
        select(Contact.owner_id).where(Contact.id == contact_id).with_for_update()
    ).one_or_none()
    if current is None:
        raise NotFound("contact", contact_id)
    if current[0] == owner_id:
        return None
    assignment = Assignment(contact_id=contact_id, owner_id=owner_id, via=via, at=ctx.clock.now())
    session.execute(
        update(_contacts)
        .where(_contacts.c.id == contact_id)
        .values(owner_id=owner_id, updated_at=assignment.at)
    )
    give_open_tasks(session, {contact_id: owner_id})
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Contact) and loaded.id == contact_id:
            session.expire(loaded)
    record_events(session, [_entry(assignment)])
    return assignment


def assign_all_unowned(session: Session, ctx: Context) -> list[Assignment]:
    """Gives every unowned contact an owner where a rule or its company says who."""
    assignments: list[Assignment] = []
    after = 0
    while True:
        chunk = list(
            session.scalars(
                select(Contact.id)
                .where(Contact.owner_id.is_(None), Contact.id > after)
                .order_by(Contact.id)
                .limit(_CHUNK)
            )
        )
        if not chunk:
            return assignments
        assignments += assign_contacts(session, ctx, chunk)
        after = chunk[-1]


def _matching_rules(session: Session, ctx: Context, ids: list[int]) -> dict[int, AssignmentRule]:
    """The first active rule (by position) each contact matches."""
    first: dict[int, AssignmentRule] = {}
    if not ids:
        return first
    rules = session.scalars(
        select(AssignmentRule)
        .where(AssignmentRule.is_active.is_(True))
        .order_by(AssignmentRule.position, AssignmentRule.id)
    )
    now, tz, dialect = ctx.clock.now(), ctx.settings.tz, dialect_name(session)
    for rule in rules:
        remaining = [contact_id for contact_id in ids if contact_id not in first]
        if not remaining:
            break
        matches = compile_condition(stored_tree(rule.condition), now, tz, dialect)
        for contact_id in session.scalars(
            select(Contact.id).where(one_of(session, Contact.id, remaining), matches)
        ):
            first[contact_id] = rule
    return first


def _owner_by(session: Session, rule: AssignmentRule) -> int | None:
    if rule.user_id is not None:
        return rule.user_id
    assert rule.team_id is not None
    return take_turn(session, rule.team_id)


def _record(session: Session, assignments: list[Assignment], company_owners: dict[int, int]) -> None:
    if not assignments:
        return
    at = assignments[0].at
    session.execute(
        update(_contacts)
        .where(_contacts.c.id == bindparam("c"), _contacts.c.owner_id.is_(None))
        .values(owner_id=bindparam("o"), updated_at=at),
        [{"c": a.contact_id, "o": a.owner_id} for a in assignments],
    )
    if company_owners:
        session.execute(
            update(_companies)
            .where(_companies.c.id == bindparam("c"), _companies.c.owner_id.is_(None))
            .values(owner_id=bindparam("o"), updated_at=at),
            [{"c": company, "o": owner} for company, owner in company_owners.items()],
        )
    give_open_tasks(session, {a.contact_id: a.owner_id for a in assignments})
    changed = {a.contact_id for a in assignments} | set(company_owners)
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Contact | Company) and loaded.id in changed:
            session.expire(loaded)
    record_events(session, [_entry(a) for a in assignments])


def _entry(assignment: Assignment) -> SystemEvent:
    properties: dict[str, Any] = {"owner_id": assignment.owner_id, "via": assignment.via}
    if assignment.rule_id is not None:
        properties["rule_id"] = assignment.rule_id
    if assignment.team_id is not None:
        properties["team_id"] = assignment.team_id
    return SystemEvent(
        message_id=f"owner-{assignment.contact_id}-{assignment.owner_id}-{assignment.at.isoformat()}",
        contact_id=assignment.contact_id,
        name=OWNER_ASSIGNED,
        at=assignment.at,
        properties=properties,
    )


def _check_target(session: Session, data: AssignmentRuleIn) -> None:
    if (data.team_id is None) == (data.user_id is None):
        raise InvalidInput.single("team_id", "name exactly one of team_id (round-robin) or user_id")
    errors: list[FieldError] = []
    if data.team_id is not None and session.get(SalesTeam, data.team_id) is None:
        errors.append(FieldError("team_id", f"no team with id {data.team_id}"))
    if data.user_id is not None:
        user = session.get(User, data.user_id)
        if user is None:
            errors.append(FieldError("user_id", f"no user with id {data.user_id}"))
        elif user.role != Role.SALES:
            errors.append(
                FieldError("user_id", f"user {user.id} is a {user.role}, not a salesperson (role sales)")
            )
    if errors:
        raise InvalidInput(errors)
