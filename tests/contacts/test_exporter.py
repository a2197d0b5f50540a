"""A marketer exports contacts to a spreadsheet: chosen columns, Korean headers, filtered, any number."""

import csv
import io

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts import exporter
from funnelwise.contacts.exporter import DEFAULT_COLUMNS, check_columns, export_rows
from funnelwise.contacts.importer import ImportOptions, import_contacts
from funnelwise.contacts.service import ContactFilter
from funnelwise.context import Context
from funnelwise.csvfile import RowError
from funnelwise.errors import FieldError, InvalidInput
from tests.factories import make_company, make_contact, make_property


def export_text(
    engine: Engine,
    ctx: Context,
    columns: list[str],
    filters: ContactFilter = ContactFilter(),
    *,
    korean_headers: bool = False,
) -> str:
    return "".join(export_rows(engine, ctx, columns, filters, korean_headers=korean_headers))


def chosen(sessions: sessionmaker[Session], ctx: Context, columns: list[str] | None) -> list[str]:
    """Checks the columns in a short transaction of its own, as the CLI and the API do."""
    with sessions() as session:
        return check_columns(session, ctx, columns)


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_chosen_columns_hold_fields_company_and_typed_properties(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "grade", "enum", options={"vip": "VIP 고객", "normal": "일반"})
    make_property(session, ctx, "interests", "multi_enum", options=["crm", "ads", "email"])
    make_property(session, ctx, "newsletter", "boolean")
    make_property(session, ctx, "score", "number")
    kim = make_contact(
        session,
        ctx,
        email="kim@acme.co.kr",
        phone="010-1234-5678",
        first_name="민수",
        last_name="김",
        properties={"grade": "vip", "interests": ["crm", "ads"], "newsletter": True, "score": 42},
    )
    lee = make_contact(
        session, ctx, email="lee@gmail.com", first_name='Seoyeon, "Sy"', properties={"newsletter": False}
    )
    columns = [
        "id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "company_name",
        "company_domain",
        "grade",
        "interests",
        "newsletter",
        "score",
        "created_at",
    ]

    rows = table(export_text(engine, ctx, chosen(sessions, ctx, columns)))

    assert rows == [
        columns,
        [
            str(kim.id),
            "kim@acme.co.kr",
            "+821012345678",
            "민수",
            "김",
            "acme.co.kr",  # a company made from an email domain is named after it
            "acme.co.kr",
            "vip",
            "crm;ads",
            "true",
            "42",
            "2026-11-22T01:00:00+00:00",
        ],
        [
            str(lee.id),
            "lee@gmail.com",
            "",
            'Seoyeon, "Sy"',
            "",
            "",
            "",
            "",
            "",
            "false",
            "",
            "2026-11-22T01:00:00+00:00",
        ],
    ]


def test_no_columns_chosen_means_the_default_ones(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    company = make_company(session, ctx, name="에이크미", domain="acme.co.kr")
    kim = make_contact(
        session,
        ctx,
        email="kim@acme.co.kr",
        first_name="민수",
        job_title="과장",
        company_id=company.id,
        lifecycle_stage="lead",
    )

    columns = chosen(sessions, ctx, None)
    rows = table(export_text(engine, ctx, columns))

    assert columns == list(DEFAULT_COLUMNS)
    assert rows == [
        ["id", "email", "phone", "first_name", "last_name", "job_title", "company_name", "lifecycle_stage"],
        [str(kim.id), "kim@acme.co.kr", "", "민수", "", "과장", "에이크미", "lead"],
    ]


def test_korean_headers_name_known_columns_and_keep_the_others(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "grade", "enum", options=["vip"])
    columns = ["id", "email", "phone", "first_name", "last_name", "company_name", "lifecycle_stage", "grade"]

    rows = table(export_text(engine, ctx, chosen(sessions, ctx, columns), korean_headers=True))

    assert rows == [["id", "이메일", "휴대폰", "이름", "성", "회사", "고객단계", "grade"]]


def test_an_export_with_korean_headers_imports_back_unchanged(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "interests", "multi_enum", options=["crm", "ads"])
    company = make_company(session, ctx, name="지호상사", domain=None)
    make_contact(
        session,
        ctx,
        email="kim@acme.co.kr",
        phone="010-1234-5678",
        first_name="민수",
        last_name="남궁",
        job_title="마케팅팀 과장",
        lifecycle_stage="mql",
        user_id="M-1",
        timezone="Asia/Seoul",
        locale="ko-KR",
        properties={"interests": ["ads", "crm"]},
    )
    make_contact(session, ctx, email="jiho@gmail.com", first_name="지호", company_id=company.id)
    columns = [*exporter.KOREAN_HEADERS, "interests"]
    text = export_text(engine, ctx, chosen(sessions, ctx, columns), korean_headers=True)
    bad_rows: list[RowError] = []

    summary = import_contacts(
        sessions, ctx, io.BytesIO(text.encode("utf-8-sig")), ImportOptions(), on_error=bad_rows.append
    )

    assert bad_rows == []
    assert summary.ignored_columns == []
    assert (summary.rows, summary.unchanged) == (2, 2)


def test_a_value_a_spreadsheet_would_run_is_exported_as_text_and_imports_back(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "memo")
    make_contact(
        session,
        ctx,
        email="kim@acme.co.kr",
        phone="010-1234-5678",
        job_title="@마케팅",
        properties={"memo": '=HYPERLINK("http://evil.example","클릭")'},
    )
    columns = ["email", "phone", "job_title", "memo"]

    text = export_text(engine, ctx, chosen(sessions, ctx, columns))

    assert table(text)[1] == [
        "kim@acme.co.kr",
        "+821012345678",
        "'@마케팅",
        '\'=HYPERLINK("http://evil.example","클릭")',
    ]
    bad_rows: list[RowError] = []
    summary = import_contacts(
        sessions, ctx, io.BytesIO(text.encode()), ImportOptions(), on_error=bad_rows.append
    )
    assert (bad_rows, summary.unchanged) == ([], 1)


def test_filters_choose_the_contacts_exported(
    engine: Engine, sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "grade", "enum", options=["vip", "normal"])
    acme = make_company(session, ctx, name="에이크미", domain="acme.co.kr")
    make_contact(session, ctx, email="a@acme.co.kr", lifecycle_stage="mql", properties={"grade": "vip"})
    make_contact(session, ctx, email="b@acme.co.kr", lifecycle_stage="lead", properties={"grade": "vip"})
    make_contact(session, ctx, email="c@gmail.com", lifecycle_stage="mql", properties={"grade": "normal"})

    def emails(filters: ContactFilter) -> list[str]:
        return [row[0] for row in table(export_text(engine, ctx, ["email"], filters))[1:]]

    assert emails(ContactFilter()) == ["a@acme.co.kr", "b@acme.co.kr", "c@gmail.com"]
    assert emails(ContactFilter(lifecycle_stage="mql")) == ["a@acme.co.kr", "c@gmail.com"]
    assert emails(ContactFilter(company_id=acme.id)) == ["a@acme.co.kr", "b@acme.co.kr"]
    assert emails(ContactFilter(lifecycle_stage="mql", company_id=acme.id)) == ["a@acme.co.kr"]
    assert emails(ContactFilter(properties=(("grade", "vip"),))) == ["a@acme.co.kr", "b@acme.co.kr"]
    assert emails(ContactFilter(lifecycle_stage="customer")) == []


def test_unknown_columns_are_refused_naming_them(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "grade", "enum", options=["vip"])

    with pytest.raises(InvalidInput) as caught:
        check_columns(session, ctx, ["email", "nope", "grade", "Email"])

    assert caught.value.errors == [
        FieldError(
            "columns",
            "unknown column(s) nope, Email; expected fields, id, company_name, company_domain, "
            "created_at, updated_at or properties",
        )
    ]


@pytest.mark.parametrize("count", [10, 9, 2, 0])
def test_every_contact_is_exported_exactly_once_page_by_page(
    engine: Engine,
    sessions: sessionmaker[Session],
    session: Session,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
) -> None:
    monkeypatch.setattr(exporter, "PAGE_ROWS", 3)
    made = [make_contact(session, ctx, email=f"p{n:02d}@example.org").email for n in range(count)]

    chunks = list(export_rows(engine, ctx, ["email"]))

    assert chunks[0] == "email\r\n"
    assert len(chunks) == 1 + -(-count // 3)  # the header, then one chunk per page with rows
    assert [row[0] for row in table("".join(chunks))[1:]] == made
