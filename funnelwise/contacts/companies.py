"""Companies (accounts): keeping them, and finding the one a contact belongs to."""

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from funnelwise.contacts.models import Company
from funnelwise.contacts.normalize import normalize_domain
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.properties import ObjectType
from funnelwise.contacts.property_definitions import load_coercer
from funnelwise.contacts.schemas import CompanyIn, CompanyOut, Page
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound

SIZE_BANDS = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+")
_BAND_FLOORS = (1, 11, 51, 201, 501, 1001, 5001)


def size_band(value: Any) -> str:
    """A size band from a band name or a head count such as `120` or `120명`."""
    if isinstance(value, str) and value.strip() in SIZE_BANDS:
        return value.strip()
    text = str(value).strip().replace(",", "").removesuffix("명").strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise ValueError(f"expected a head count or one of {', '.join(SIZE_BANDS)}, got {value!r}")
    count = int(text)
    return next(
        band for band, floor in zip(SIZE_BANDS[::-1], _BAND_FLOORS[::-1], strict=True) if count >= floor
    )


def create_company(session: Session, ctx: Context, data: CompanyIn) -> CompanyOut:
    fields = _clean(session, ctx, data, creating=True)
    now = ctx.clock.now()
    company = Company(**fields, created_at=now, updated_at=now)
    _write_or_conflict(session, lambda: session.add(company), fields.get("domain"))
    return CompanyOut.model_validate(company)


def get_company(session: Session, company_id: int) -> CompanyOut:
    return CompanyOut.model_validate(_load(session, company_id))


def update_company(session: Session, ctx: Context, company_id: int, data: CompanyIn) -> CompanyOut:
    company = _load(session, company_id)
    fields = _clean(session, ctx, data, creating=False)
    properties = fields.pop("properties", None)

    def write() -> None:
        for name, value in fields.items():
            setattr(company, name, value)
        if properties:
            merged = {**company.properties, **properties}
            company.properties = {k: v for k, v in merged.items() if v is not None}
        company.updated_at = ctx.clock.now()

    _write_or_conflict(session, write, fields.get("domain"))
    return CompanyOut.model_validate(company)


def delete_company(session: Session, company_id: int) -> None:
    session.delete(_load(session, company_id))
    session.flush()


def list_companies(
    session: Session,
    *,
    name: str | None = None,
    domain: str | None = None,
    industry: str | None = None,
    owner_id: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[CompanyOut]:
    query = select(Company).order_by(Company.id).limit(limit + 1)
    if name:
        query = query.where(func.lower(Company.name).contains(name.lower(), autoescape=True))
    if domain:
        query = query.where(Company.domain == _filter_domain(domain))
    if industry:
        query = query.where(Company.industry == industry)
    if owner_id is not None:
        query = query.where(Company.owner_id == owner_id)
    if cursor:
        query = query.where(Company.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[CompanyOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


def company_ids_by_domain(
    session: Session, ctx: Context, names_by_domain: Mapping[str, str]
) -> dict[str, int]:
    """The company of each domain, created (named as given) where none exists yet."""
    found = _ids_by_domain(session, list(names_by_domain))
    now = ctx.clock.now()
    missing = [
        {"name": name, "domain": domain, "properties": {}, "created_at": now, "updated_at": now}
        for domain, name in sorted(names_by_domain.items())
        if domain not in found
    ]
    if missing:
        # A concurrent writer may create the same domain meanwhile: the database keeps one.
        statement = insert(session, Company.__table__).on_conflict_do_nothing(index_elements=["domain"])
        session.execute(statement, missing)
        found |= _ids_by_domain(session, [row["domain"] for row in missing])
    return found


def _ids_by_domain(session: Session, domains: list[str]) -> dict[str, int]:
    if not domains:
        return {}
    rows = session.execute(select(Company.domain, Company.id).where(one_of(session, Company.domain, domains)))
    return {domain: company_id for domain, company_id in rows if domain is not None}


def company_ids_by_name(session: Session, ctx: Context, names: Iterable[str]) -> dict[str, int]:
    """The company of each name (oldest first when several share it), created where none exists."""
    wanted = set(names)
    if not wanted:
        return {}
    found: dict[str, int] = {}
    for name, company_id in session.execute(
        select(Company.name, Company.id)
        .where(one_of(session, Company.name, sorted(wanted)))
        .order_by(Company.id.desc())
    ):
        found[name] = company_id
    now = ctx.clock.now()
    missing = [
        {"name": name, "properties": {}, "created_at": now, "updated_at": now}
        for name in sorted(wanted - found.keys())
    ]
    if missing:
        table = Company.__table__
        created = session.execute(sa_insert(table).returning(table.c.name, table.c.id), missing)
        found.update(created.all())
    return found


def _filter_domain(raw: str) -> str:
    """The domain a filter names, or InvalidInput saying what is wrong with it."""
    try:
        return normalize_domain(raw)
    except ValueError as exc:
        raise InvalidInput.single("domain", str(exc)) from None


def _clean(session: Session, ctx: Context, data: CompanyIn, *, creating: bool) -> dict[str, Any]:
    given = data.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    if creating and not given.get("name"):
        errors.append(FieldError("name", "a company needs a name"))
    for name, value in given.items():
        if name == "properties":
            continue
        try:
            fields[name] = _clean_field(name, value)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
    if "properties" in given:
        coercer = load_coercer(session, ctx, ObjectType.COMPANY)
        fields["properties"], property_errors = coercer.clean(given["properties"])
        errors.extend(property_errors)
        if creating:
            fields["properties"] = {k: v for k, v in fields["properties"].items() if v is not None}
    elif creating:
        fields["properties"] = {}
    if errors:
        raise InvalidInput(errors)
    return fields


def _clean_field(name: str, value: Any) -> Any:
    if value is None:
        if name == "name":
            raise ValueError("a company needs a name")
        return None
    if name == "domain":
        return normalize_domain(value)
    if name == "size_band":
        return size_band(value)
    return value


def _write_or_conflict(session: Session, write: Callable[[], None], domain: str | None) -> None:
    if not write_or_undo(session, write):
        existing = session.scalar(select(Company.id).where(Company.domain == domain)) if domain else None
        if existing is not None:
            raise Conflict("domain", f"{domain!r} belongs to company {existing} already", existing)
        raise InvalidInput.single("owner_id", "no such user")


def _load(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound("company", company_id)
    return company
