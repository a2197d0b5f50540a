"""Dependencies the routers declare: a database session, the context, and a scoped API key."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from funnelwise.auth.api_keys import allows, authenticate
from funnelwise.auth.schemas import ApiKeyOut
from funnelwise.context import Context


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session
        session.commit()


def _context(request: Request) -> Context:
    return request.app.state.context


# scope="function": the transaction commits before the response leaves, so a 2xx means stored.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
ContextDep = Annotated[Context, Depends(_context)]
# Ids are 64-bit integers in both databases; a larger number names no record, and the drivers
# refuse to bind it (SQLite: OverflowError, PostgreSQL: bigint out of range), so stop it here.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
_bearer = HTTPBearer(auto_error=False, description="An API key from `funnelwise apikey create`")


def require(*scopes: str) -> Callable[..., ApiKeyOut]:
    """A dependency that admits requests whose API key grants one of `scopes`."""

    def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKeyOut:
        if credentials is None:
            raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", _challenge())
        with request.app.state.sessionmaker() as session:
            key = authenticate(session, credentials.credentials)
        if key is None:
            raise HTTPException(401, "invalid or revoked API key", _challenge())
        if not any(allows(key.scopes, scope) for scope in scopes):
            raise HTTPException(403, f"this API key lacks the scope {' or '.join(repr(s) for s in scopes)}")
        return key

    return check


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": "Bearer"}
