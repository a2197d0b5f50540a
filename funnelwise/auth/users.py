"""The team: marketers, salespeople who own contacts, and admins."""

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.auth.schemas import UserOut
from funnelwise.contacts.normalize import normalize_email
from funnelwise.context import Context
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    SALES = "sales"


def create_user(session: Session, ctx: Context, email: str, name: str, role: str) -> UserOut:
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise InvalidInput.single("email", str(exc)) from None
    if role not in set(Role):
        raise InvalidInput.single("role", f"unknown role {role!r}; expected one of {', '.join(Role)}")
    user = User(
        email=address, name=name.strip() or address, role=role, is_active=True, created_at=ctx.clock.now()
    )
    if not write_or_undo(session, lambda: session.add(user)):
        raise Conflict("email", f"a user with email {address!r} exists already")
    return UserOut.model_validate(user)


def list_users(session: Session) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in session.scalars(select(User).order_by(User.id))]


def user_ids_by_email(session: Session) -> dict[str, int]:
    return dict(session.execute(select(User.email, User.id)).all())
