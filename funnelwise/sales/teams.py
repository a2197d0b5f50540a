"""Sales teams: salespeople who share leads in turn, and the manager overdue tasks escalate to."""

from collections.abc import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.auth.users import Role
from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.sales.models import SalesTeam, SalesTeamMember
from funnelwise.sales.schemas import TeamIn, TeamOut, TeamPatch

_members = SalesTeamMember.__table__


def create_team(session: Session, ctx: Context, data: TeamIn) -> TeamOut:
    errors = _user_errors(session, "manager_id", [data.manager_id] if data.manager_id else [], sales=False)
    errors += _user_errors(session, "member_ids", data.member_ids, sales=True)
    if errors:
        raise InvalidInput(errors)
    now = ctx.clock.now()
    team = SalesTeam(name=data.name, manager_id=data.manager_id, turns=0, created_at=now, updated_at=now)
    if not write_or_undo(session, lambda: session.add(team)):
        raise Conflict("name", f"a team named {data.name!r} exists already")
    _add(session, ctx, team.id, data.member_ids)
    return _out(session, team)


def update_team(session: Session, ctx: Context, team_id: int, data: TeamPatch) -> TeamOut:
    team = _load(session, team_id)
    if data.manager_id is not None and (errors := _user_errors(session, "manager_id", [data.manager_id])):
        raise InvalidInput(errors)
    changes = data.model_dump(exclude_none=True)

    def write() -> None:
        for name, value in changes.items():
            setattr(team, name, value)
        team.updated_at = ctx.clock.now()

    if not write_or_undo(session, write):
        raise Conflict("name", f"a team named {data.name!r} exists already")
    return _out(session, team)


def add_team_members(session: Session, ctx: Context, team_id: int, user_ids: list[int]) -> TeamOut:
    """Adds salespeople to the team; ones in it already stay as they are."""
    team = _load(session, team_id)
    if errors := _user_errors(session, "user_ids", user_ids, sales=True):
        raise InvalidInput(errors)
    _add(session, ctx, team_id, user_ids)
    return _out(session, team)


def remove_team_members(session: Session, team_id: int, user_ids: list[int]) -> TeamOut:
    """Takes people out of the team's turns; what they own stays theirs."""
    team = _load(session, team_id)
    session.execute(delete(_members).where(_members.c.team_id == team_id, _members.c.user_id.in_(user_ids)))
    return _out(session, team)


def delete_team(session: Session, team_id: int) -> None:
    """Forgets the team and its assignment rules; owners stay as they are."""
    session.delete(_load(session, team_id))
    session.flush()


def get_team(session: Session, team_id: int) -> TeamOut:
    return _out(session, _load(session, team_id))


def list_teams(session: Session) -> list[TeamOut]:
    return [_out(session, team) for team in session.scalars(select(SalesTeam).order_by(SalesTeam.id))]


def team_id_named(session: Session, name: str) -> int:
    """The id of the team with this name, or with this id when it is a number no name matches."""
    found = session.scalar(select(SalesTeam.id).where(SalesTeam.name == name))
    if found is None and name.isdigit():
        found = session.scalar(select(SalesTeam.id).where(SalesTeam.id == int(name)))
    if found is None:
        raise NotFound("team", name)
    return found


def take_turn(session: Session, team_id: int) -> int | None:
    """The member whose turn it is (None for a team without active salespeople).

    The turn counter is advanced in the database before the members are read: concurrent callers
    queue on the team's row, each gets its own turn, so turns go round fairly across processes.
    """
    members = select(SalesTeamMember.user_id).join(User, User.id == SalesTeamMember.user_id)
    members = members.where(
        SalesTeamMember.team_id == team_id, User.is_active.is_(True), User.role == Role.SALES
    )
    if not session.scalar(select(func.count()).select_from(members.subquery())):
        return None
    turn = session.execute(
        update(SalesTeam)
        .where(SalesTeam.id == team_id)
        .values(turns=SalesTeam.turns + 1)
        .returning(SalesTeam.turns)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    ordered = list(session.scalars(members.order_by(SalesTeamMember.user_id)))
    return ordered[(turn - 1) % len(ordered)]


def manager_of(session: Session, user_id: int) -> User | None:
    """The manager of the first team (by id) the user is a member of, other than the user."""
    return session.scalar(
        select(User)
        .join(SalesTeam, SalesTeam.manager_id == User.id)
        .join(SalesTeamMember, SalesTeamMember.team_id == SalesTeam.id)
        .where(SalesTeamMember.user_id == user_id, User.id != user_id, User.is_active.is_(True))
        .order_by(SalesTeam.id)
        .limit(1)
    )


def _add(session: Session, ctx: Context, team_id: int, user_ids: Iterable[int]) -> None:
    rows = [{"team_id": team_id, "user_id": u, "joined_at": ctx.clock.now()} for u in dict.fromkeys(user_ids)]
    if rows:
        session.execute(insert(session, _members).on_conflict_do_nothing(), rows)


def _user_errors(
    session: Session, field: str, user_ids: list[int], *, sales: bool = False
) -> list[FieldError]:
    if not user_ids:
        return []
    roles = dict(session.execute(select(User.id, User.role).where(User.id.in_(user_ids))).all())
    errors = [FieldError(field, f"no user with id {u}") for u in user_ids if u not in roles]
    if sales:
        errors += [
            FieldError(field, f"user {u} is a {roles[u]}, not a salesperson (role sales)")
            for u in user_ids
            if u in roles and roles[u] != Role.SALES
        ]
    return errors


def _load(session: Session, team_id: int) -> SalesTeam:
    team = session.get(SalesTeam, team_id)
    if team is None:
        raise NotFound("team", team_id)
    return team


def _out(session: Session, team: SalesTeam) -> TeamOut:
    members = session.scalars(
        select(_members.c.user_id).where(_members.c.team_id == team.id).order_by(_members.c.user_id)
    )
    return TeamOut(
        id=team.id,
        name=team.name,
        manager_id=team.manager_id,
        member_ids=list(members),
        created_at=team.created_at,
        updated_at=team.updated_at,
    )
