"""Exporting contacts to CSV with chosen columns, streamed page by page."""

import csv
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.properties import ObjectType
from funnelwise.contacts.property_definitions import load_coercer
from funnelwise.contacts.service import ContactFilter, filtered_query
from funnelwise.context import Context
from funnelwise.db.engine import READONLY
from funnelwise.errors import InvalidInput

PAGE_ROWS = 5_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-][\d .,()-]*")
DEFAULT_COLUMNS = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "lifecycle_stage",
)
EXTRA_COLUMNS = ("id", "company_name", "company_domain", "created_at", "updated_at")
KOREAN_HEADERS = {
    "email": "이메일", "phone": "휴대폰", "first_name": "이름", "last_name": "성", "job_title": "직함",
    "job_level": "직급레벨", "lifecycle_stage": "고객단계", "user_id": "회원ID", "company_name": "회사",
    "timezone": "시간대", "locale": "언어",
}  # fmt: skip


class _Line:
    """A file-like that hands back what csv.writer wrote, so rows can be streamed."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def take(self) -> str:
        text, self.text = self.text, ""
        return text


def check_columns(session: Session, ctx: Context, columns: Sequence[str] | None) -> list[str]:
    """The columns to export, each a contact field, an extra such as `company_name`, or a property."""
    if not columns:
        return list(DEFAULT_COLUMNS)
    properties = load_coercer(session, ctx, ObjectType.CONTACT).specs
    known = {*CONTACT_FIELDS, *EXTRA_COLUMNS, *properties}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InvalidInput.single(
            "columns",
            f"unknown column(s) {', '.join(unknown)}; expected fields, {', '.join(EXTRA_COLUMNS)} or properties",
        )
    return list(columns)


def export_rows(
    engine: Engine,
    ctx: Context,
    columns: Sequence[str],
    filters: ContactFilter = ContactFilter(),
    *,
    korean_headers: bool = False,
) -> Iterator[str]:
    """CSV text, a page of rows at a time; each page reads in its own short transaction."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow([KOREAN_HEADERS.get(c, c) if korean_headers else c for c in columns])
    yield line.take()
    last_id = 0
    while True:
        with Session(engine.execution_options(**{READONLY: True})) as session:
            query = (
                filtered_query(session, ctx, filters)
                .add_columns(Company.name, Company.domain)
                .outerjoin(Company, Company.id == Contact.company_id)
                .where(Contact.id > last_id)
                .order_by(Contact.id)
                .limit(PAGE_ROWS)
            )
            rows = session.execute(query).all()
        for contact, company_name, company_domain in rows:
            extras = {"company_name": company_name, "company_domain": company_domain}
            writer.writerow([contact_cell(contact, extras, column) for column in columns])
        if rows:
            yield line.take()
        if len(rows) < PAGE_ROWS:
            return
        last_id = rows[-1][0].id


def contact_cell(contact: Contact, extras: dict[str, Any], column: str) -> str:
    if column in extras:
        value = extras[column]
    elif column in CONTACT_FIELDS or column in EXTRA_COLUMNS:
        value = getattr(contact, column)
    else:
        value = contact.properties.get(column)
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if isinstance(value, str) and _runs_as_formula(text) else text


def _runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet would run the cell; a leading apostrophe keeps it text.

    Imports strip that apostrophe again. A signed number such as an E.164 phone runs nothing.
    """
    return text.startswith(FORMULA_STARTS) and not _SIGNED_NUMBER.fullmatch(text)
