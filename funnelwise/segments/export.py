"""Exporting an audience (a segment's members now, or a list's) to CSV, plain or hashed for ad platforms.

The plain export takes the contacts exporter's columns and cell rules (the spreadsheet-formula guard
included). The hashed export is what Google Customer Match and Meta custom audiences read: the
SHA-256 of the email trimmed and lower-cased, and of the phone number in the form each one wants.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from funnelwise.contacts.exporter import KOREAN_HEADERS, PAGE_ROWS, contact_cell
from funnelwise.contacts.models import Company, Contact
from funnelwise.db.engine import READONLY
from funnelwise.segments.models import SegmentMembership, StaticListMember


class HashFormat(StrEnum):
    GOOGLE = "google"
    META = "meta"


# Column headers each platform's customer-list upload recognises.
HASHED_HEADERS = {HashFormat.GOOGLE: ("Email", "Phone"), HashFormat.META: ("email", "phone")}
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Audience:
    """Whose rows to export: the members of a segment now, or of a static list."""

    kind: str  # "segment" or "list"
    id: int

    def contact_ids(self) -> Select[tuple[int]]:
        if self.kind == "segment":
            return select(SegmentMembership.contact_id).where(
                SegmentMembership.segment_id == self.id, SegmentMembership.exited_at.is_(None)
            )
        return select(StaticListMember.contact_id).where(StaticListMember.list_id == self.id)


def export_audience(
    engine: Engine, audience: Audience, columns: Sequence[str], *, korean_headers: bool = False
) -> Iterator[str]:
    """CSV text with the chosen columns (see `contacts.exporter.check_columns`), a page at a time."""
    line = io.StringIO()
    writer = csv.writer(line)
    writer.writerow([KOREAN_HEADERS.get(c, c) if korean_headers else c for c in columns])
    for page in _pages(engine, audience):
        for contact, company_name, company_domain in page:
            extras = {"company_name": company_name, "company_domain": company_domain}
            writer.writerow([contact_cell(contact, extras, column) for column in columns])
        yield _take(line)
    yield _take(line)


def export_hashed(engine: Engine, audience: Audience, format: HashFormat) -> Iterator[str]:
    """CSV text of hashed emails and phone numbers; members with neither are left out."""
    line = io.StringIO()
    writer = csv.writer(line)
    writer.writerow(HASHED_HEADERS[format])
    for page in _pages(engine, audience):
        for contact, _name, _domain in page:
            email, phone = hashed_email(contact.email), hashed_phone(contact.phone, format)
            if email or phone:
                writer.writerow([email, phone])
        yield _take(line)
    yield _take(line)


def hashed_email(email: str | None) -> str:
    """The SHA-256 (hex) of the address trimmed and lower-cased, as both platforms ask; '' for none."""
    return _sha256(email.strip().lower()) if email and email.strip() else ""


def hashed_phone(phone: str | None, format: HashFormat) -> str:
    """The SHA-256 (hex) of the number with its country code: `+821012345678` for Google (E.164),
    `821012345678` for Meta (digits only, no plus); '' for none."""
    digits = _NOT_DIGITS.sub("", phone or "")
    if not digits:
        return ""
    return _sha256(f"+{digits}" if format == HashFormat.GOOGLE else digits)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pages(engine: Engine, audience: Audience) -> Iterator[list[Any]]:
    """The audience's contacts with their company's name and domain, by id, each page read on its own."""
    last_id = 0
    while True:
        with Session(engine.execution_options(**{READONLY: True})) as session:
            query = (
                select(Contact, Company.name, Company.domain)
                .outerjoin(Company, Company.id == Contact.company_id)
                .where(Contact.id.in_(audience.contact_ids().scalar_subquery()), Contact.id > last_id)
                .order_by(Contact.id)
                .limit(PAGE_ROWS)
            )
            rows = list(session.execute(query))
        if rows:
            yield rows
        if len(rows) < PAGE_ROWS:
            return
        last_id = rows[-1][0].id


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
