"""Writing one record so that a unique-key clash undoes that write alone."""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def write_or_undo(session: Session, write: Callable[[], None]) -> bool:
    """Applies `write` (ORM changes) and flushes it in a savepoint; False, and undone, on a clash.

    Earlier pending work is flushed first, outside the savepoint, so a clash undoes only what
    `write` did: the caller's other work in the transaction stays.
    """
    session.flush()
    try:
        with session.begin_nested():
            write()
            session.flush()
    except IntegrityError:
        return False
    return True
