"""Domain errors: raised by services, translated to HTTP statuses and CLI messages at the edges."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Something a user asked for cannot be done; the message says why in their terms."""


class NotFound(DomainError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")


class InvalidInput(DomainError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    @classmethod
    def single(cls, field: str, message: str) -> "InvalidInput":
        return cls([FieldError(field, message)])


class Conflict(DomainError):
    def __init__(self, field: str, message: str, existing_id: int | None = None) -> None:
        self.field = field
        self.existing_id = existing_id
        super().__init__(f"{field}: {message}")
