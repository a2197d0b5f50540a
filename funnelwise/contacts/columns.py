"""Which contact field a spreadsheet column holds, by its English or Korean header."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.properties import PropertySpec
from funnelwise.errors import FieldError

FULL_NAME = "name"  # a pseudo-field: split into first and last name
IGNORE = "-"
_FORMULA_STARTS = frozenset("=+-@\t\r")
TARGETS = (*CONTACT_FIELDS, "company", "owner", FULL_NAME)

_ALIASES = {
    "email": ("email", "e-mail", "emailaddress", "mail", "이메일", "이메일주소", "메일", "메일주소", "전자우편"),
    "phone": (
        "phone", "mobile", "phonenumber", "mobilephone", "cellphone", "cell", "tel", "telephone",
        "휴대폰", "휴대폰번호", "핸드폰", "핸드폰번호", "휴대전화", "휴대전화번호", "전화번호", "연락처",
        "전화", "모바일",
    ),
    "user_id": ("userid", "externalid", "customerid", "memberid", "회원id", "회원아이디", "아이디", "고객id", "고객번호"),
    "first_name": ("firstname", "givenname", "first"),
    "last_name": ("lastname", "surname", "familyname", "last", "성"),
    FULL_NAME: ("name", "fullname", "contactname", "성명", "이름", "고객명", "담당자", "담당자명", "성함"),
    "job_title": ("jobtitle", "title", "position", "직함", "직책", "직위", "직급"),
    "job_level": ("joblevel", "level", "seniority", "직급레벨", "레벨"),
    "lifecycle_stage": ("lifecyclestage", "stage", "lifecycle", "단계", "라이프사이클", "고객단계"),
    "owner": ("owner", "owneremail", "salesowner", "담당영업", "영업담당", "영업담당자", "소유자"),
    "owner_id": ("ownerid",),
    "company": ("company", "companyname", "organization", "organisation", "account", "회사", "회사명", "기업", "기업명", "소속", "상호"),
    "company_id": ("companyid",),
    "timezone": ("timezone", "tz", "시간대"),
    "locale": ("locale", "language", "lang", "언어"),
}  # fmt: skip
_BY_ALIAS = {alias: target for target, aliases in _ALIASES.items() for alias in aliases}


@dataclass
class ColumnMap:
    """For each column of the file: the field or property it fills, or None to ignore it."""

    targets: list[str | None]
    ignored: list[str] = field(default_factory=list)

    def row(self, cells: Sequence[str]) -> dict[str, object]:
        """One CSV row as raw contact input (properties nested), ready for the cleaner."""
        raw: dict[str, object] = {}
        properties: dict[str, str] = {}
        for target, cell in zip(self.targets, cells, strict=False):
            if target is None:
                continue
            if cell.startswith("'") and cell[1:2] in _FORMULA_STARTS:
                cell = cell[1:]  # an export's guard against spreadsheet formulas
            if target.startswith("properties."):
                properties[target.removeprefix("properties.")] = cell
            else:
                raw[target] = cell
        if properties:
            raw["properties"] = properties
        return raw


def map_columns(
    headers: Sequence[str], properties: Mapping[str, PropertySpec], explicit: Mapping[str, str]
) -> tuple[ColumnMap, list[FieldError]]:
    """Maps headers by the explicit mapping first, then by known names, then by property name or label."""
    errors: list[FieldError] = []
    by_label = {_key(spec.label): name for name, spec in properties.items() if spec.label}
    has_last_name = any(_BY_ALIAS.get(_key(h)) == "last_name" for h in headers)
    targets: list[str | None] = []
    ignored: list[str] = []
    for header in headers:
        target = _target(header, properties, explicit, by_label, has_last_name)
        if isinstance(target, FieldError):
            errors.append(target)
            target = None
        elif target is None:
            ignored.append(header)
        targets.append(target)
    for header in explicit:
        if header not in headers:
            errors.append(FieldError(f"mapping.{header}", "no column with this header in the file"))
    seen: dict[str, str] = {}
    for header, target in zip(headers, targets, strict=True):
        if target is None:
            continue
        if target in seen:
            errors.append(
                FieldError(f"columns.{header}", f"fills {target!r}, as column {seen[target]!r} does")
            )
        seen[target] = header
    return ColumnMap(targets, ignored), errors


def _target(
    header: str,
    properties: Mapping[str, PropertySpec],
    explicit: Mapping[str, str],
    by_label: Mapping[str, str],
    has_last_name: bool,
) -> str | FieldError | None:
    if header in explicit:
        wanted = explicit[header]
        if wanted == IGNORE:
            return None
        if wanted in TARGETS:
            return wanted
        if wanted in properties:
            return f"properties.{wanted}"
        return FieldError(
            f"mapping.{header}", f"{wanted!r} is neither a contact field nor a defined property"
        )
    key = _key(header)
    target = _BY_ALIAS.get(key)
    if target == FULL_NAME and header.strip() == "이름" and has_last_name:
        return "first_name"  # beside a 성 column, 이름 is the given name alone
    if target:
        return target
    if header.strip() in properties:
        return f"properties.{header.strip()}"
    if key in by_label:
        return f"properties.{by_label[key]}"
    return None


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.()]", "", header.strip().lower())
