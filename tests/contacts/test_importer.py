"""A marketer imports a spreadsheet of contacts: Korean or English headers, any encoding, any size."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts import importer
from funnelwise.contacts.bulk import DedupeKey, UpdatePolicy
from funnelwise.contacts.importer import ImportOptions, ImportSummary, import_contacts
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.csvfile import RowError
from funnelwise.errors import FieldError, InvalidInput
from tests.factories import make_contact, make_property, make_user


def run_import(
    sessions: sessionmaker[Session],
    ctx: Context,
    data: str | bytes,
    options: ImportOptions | None = None,
    progress: list[int] | None = None,
) -> tuple[ImportSummary, list[RowError]]:
    """Imports the file; returns the summary and the bad rows in the order they were reported."""
    bad_rows: list[RowError] = []
    raw = data.encode() if isinstance(data, str) else data
    summary = import_contacts(
        sessions,
        ctx,
        io.BytesIO(raw),
        options or ImportOptions(),
        on_error=bad_rows.append,
        on_progress=progress.append if progress is not None else None,
    )
    return summary, bad_rows


def stored_contacts(sessions: sessionmaker[Session]) -> list[Contact]:
    """Every contact, oldest first (rows of one batch are written in the order of their keys)."""
    with sessions() as session:
        return list(session.scalars(select(Contact).order_by(Contact.id)))


def contact_by_email(sessions: sessionmaker[Session], email: str) -> Contact:
    with sessions() as session:
        return session.scalars(select(Contact).where(Contact.email == email)).one()


def company_of(sessions: sessionmaker[Session], contact: Contact) -> Company:
    with sessions() as session:
        company = session.get(Company, contact.company_id)
        assert company is not None
        return company


def counts(summary: ImportSummary) -> tuple[int, int, int, int, int]:
    """(rows, created, updated, unchanged, failed)."""
    return summary.rows, summary.created, summary.updated, summary.unchanged, summary.failed


# Columns -------------------------------------------------------------------------------------------


def test_korean_headers_fill_email_split_name_phone_company_and_job_title(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = (
        "이메일,성명,휴대폰,회사,직함\n"
        "Minsu.Kim@ACME.co.kr,김민수,010-1234-5678,에이크미,마케팅팀 과장\n"
        "jiho@gmail.com,남궁지호,+82 10 9876 5432,지호상사,대표\n"
    )

    summary, bad_rows = run_import(sessions, ctx, data)

    assert bad_rows == []
    assert counts(summary) == (2, 2, 0, 0, 0)
    assert summary.columns == {
        "이메일": "email",
        "성명": "name",
        "휴대폰": "phone",
        "회사": "company",
        "직함": "job_title",
    }
    assert summary.ignored_columns == []
    minsu = contact_by_email(sessions, "minsu.kim@acme.co.kr")
    jiho = contact_by_email(sessions, "jiho@gmail.com")
    assert (minsu.email, minsu.first_name, minsu.last_name, minsu.phone, minsu.job_title) == (
        "minsu.kim@acme.co.kr",
        "민수",
        "김",
        "+821012345678",
        "마케팅팀 과장",
    )
    assert minsu.job_level == "manager"
    assert (jiho.email, jiho.first_name, jiho.last_name, jiho.phone, jiho.job_title) == (
        "jiho@gmail.com",
        "지호",
        "남궁",
        "+821098765432",
        "대표",
    )
    # A business address links the company of its domain; a free-mail one links by the name.
    acme = company_of(sessions, minsu)
    assert (acme.name, acme.domain) == ("에이크미", "acme.co.kr")
    jiho_company = company_of(sessions, jiho)
    assert (jiho_company.name, jiho_company.domain) == ("지호상사", None)


def test_english_headers_match_ignoring_case_spaces_and_punctuation(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = (
        "E-mail,First Name,last_name,Mobile Phone,Job Title,Lifecycle Stage,User ID,Notes\n"
        "jane@globex.com,Jane,Doe,010-2222-3333,VP Marketing,MQL,u-17,met at a fair\n"
    )

    summary, bad_rows = run_import(sessions, ctx, data)

    assert bad_rows == []
    assert counts(summary) == (1, 1, 0, 0, 0)
    assert summary.ignored_columns == ["Notes"]
    assert summary.columns["Notes"] is None
    [jane] = stored_contacts(sessions)
    assert (jane.email, jane.first_name, jane.last_name, jane.phone) == (
        "jane@globex.com",
        "Jane",
        "Doe",
        "+821022223333",
    )
    assert (jane.job_title, jane.lifecycle_stage, jane.user_id) == ("VP Marketing", "mql", "u-17")


def test_beside_a_surname_column_이름_is_the_given_name(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = "이메일,성,이름\nminsu@acme.co.kr,남궁,민수\n"

    summary, _ = run_import(sessions, ctx, data)

    assert summary.columns == {"이메일": "email", "성": "last_name", "이름": "first_name"}
    [contact] = stored_contacts(sessions)
    assert (contact.first_name, contact.last_name) == ("민수", "남궁")


def test_이름_alone_is_a_full_name_split_in_two(sessions: sessionmaker[Session], ctx: Context) -> None:
    summary, _ = run_import(sessions, ctx, "이메일,이름\nminsu@acme.co.kr,남궁민수\n")

    assert summary.columns == {"이메일": "email", "이름": "name"}
    [contact] = stored_contacts(sessions)
    assert (contact.first_name, contact.last_name) == ("민수", "남궁")


def test_an_explicit_mapping_names_fields_ignores_columns_and_fills_properties(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    make_property(session, ctx, "grade", "enum", options={"vip": "VIP 고객", "normal": "일반"})
    data = (
        "Contact,Mobile No,Memo,고객 등급,Phone\n"
        "kim@acme.co.kr,010-1234-5678,call back,VIP 고객,02-000-0000\n"
    )
    mapping = {"Contact": "email", "Mobile No": "phone", "Memo": "-", "고객 등급": "grade", "Phone": "-"}

    summary, bad_rows = run_import(sessions, ctx, data, ImportOptions(mapping=mapping))

    assert bad_rows == []
    assert summary.columns == {
        "Contact": "email",
        "Mobile No": "phone",
        "Memo": None,
        "고객 등급": "properties.grade",
        "Phone": None,
    }
    assert summary.ignored_columns == ["Memo", "Phone"]
    [contact] = stored_contacts(sessions)
    assert (contact.email, contact.phone, contact.properties) == (
        "kim@acme.co.kr",
        "+821012345678",
        {"grade": "vip"},
    )


def test_a_mapping_to_an_unknown_target_or_a_missing_header_stops_the_import(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = "email,Memo\nkim@acme.co.kr,hello\n"
    mapping = {"Memo": "nonsense", "Grade": "-"}

    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, data, ImportOptions(mapping=mapping))

    assert caught.value.errors == [
        FieldError("mapping.Memo", "'nonsense' is neither a contact field nor a defined property"),
        FieldError("mapping.Grade", "no column with this header in the file"),
    ]
    assert stored_contacts(sessions) == []


def test_two_columns_filling_one_field_stop_the_import(sessions: sessionmaker[Session], ctx: Context) -> None:
    data = "email,이메일\nkim@acme.co.kr,lee@acme.co.kr\n"

    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, data)

    assert caught.value.errors == [FieldError("columns.이메일", "fills 'email', as column 'email' does")]
    assert stored_contacts(sessions) == []


def test_a_custom_property_column_is_found_by_its_name_or_its_label(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    make_property(session, ctx, "grade", "enum", options={"vip": "VIP 고객", "normal": "일반"})
    make_property(session, ctx, "newsletter_opt_in", "boolean")  # labelled "Newsletter Opt In"
    make_property(session, ctx, "interests", "multi_enum", options=["crm", "ads", "email"])
    data = "email,grade,Newsletter opt-in,interests\nkim@acme.co.kr,일반,예,crm;ads\nlee@acme.co.kr,vip,no,\n"

    summary, bad_rows = run_import(sessions, ctx, data)

    assert bad_rows == []
    assert summary.columns == {
        "email": "email",
        "grade": "properties.grade",
        "Newsletter opt-in": "properties.newsletter_opt_in",
        "interests": "properties.interests",
    }
    kim = contact_by_email(sessions, "kim@acme.co.kr")
    lee = contact_by_email(sessions, "lee@acme.co.kr")
    assert kim.properties == {"grade": "normal", "newsletter_opt_in": True, "interests": ["crm", "ads"]}
    assert lee.properties == {"grade": "vip", "newsletter_opt_in": False}


# Encodings and separators --------------------------------------------------------------------------

KOREAN_FILE = "이메일,성명,회사\nminsu@acme.co.kr,김민수,에이크미\nseoyeon@gmail.com,이서연,서연상회\n"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(KOREAN_FILE.encode("cp949"), id="cp949"),
        pytest.param(KOREAN_FILE.encode("utf-8-sig"), id="utf-8-with-bom"),
        pytest.param(KOREAN_FILE.encode("utf-8"), id="utf-8"),
        pytest.param(KOREAN_FILE.replace(",", "\t").encode("utf-8"), id="tab-separated"),
        pytest.param(KOREAN_FILE.replace("\n", "\r\n").encode("cp949"), id="cp949-crlf"),
    ],
)
def test_korean_files_in_every_encoding_excel_writes_import_the_same(
    sessions: sessionmaker[Session], ctx: Context, raw: bytes
) -> None:
    summary, bad_rows = run_import(sessions, ctx, raw)

    assert bad_rows == []
    assert list(summary.columns) == ["이메일", "성명", "회사"]
    assert counts(summary) == (2, 2, 0, 0, 0)
    minsu = contact_by_email(sessions, "minsu@acme.co.kr")
    seoyeon = contact_by_email(sessions, "seoyeon@gmail.com")
    assert (minsu.email, minsu.first_name, minsu.last_name) == ("minsu@acme.co.kr", "민수", "김")
    assert (seoyeon.email, seoyeon.first_name, seoyeon.last_name) == ("seoyeon@gmail.com", "서연", "이")
    assert company_of(sessions, seoyeon).name == "서연상회"


def test_an_explicit_encoding_overrides_detection(sessions: sessionmaker[Session], ctx: Context) -> None:
    # Latin-1 bytes are not UTF-8, so detection alone would read them as CP949.
    data = "email,first name\nzoe@acme.co.kr,Zoë\n".encode("latin-1")

    run_import(sessions, ctx, data, ImportOptions(encoding="latin-1"))

    [zoe] = stored_contacts(sessions)
    assert zoe.first_name == "Zoë"


def test_a_utf_8_file_with_a_byte_order_mark_imports_when_utf_8_is_named(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    summary, _ = run_import(sessions, ctx, KOREAN_FILE.encode("utf-8-sig"), ImportOptions(encoding="utf-8"))

    assert list(summary.columns) == ["이메일", "성명", "회사"]
    assert counts(summary) == (2, 2, 0, 0, 0)


def test_an_unknown_encoding_is_refused(sessions: sessionmaker[Session], ctx: Context) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, KOREAN_FILE.encode(), ImportOptions(encoding="klingon"))

    assert caught.value.errors == [FieldError("encoding", "unknown encoding 'klingon'; try utf-8 or cp949")]


NOT_UTF_8 = FieldError(
    "file",
    "the file is not utf-8 text (invalid start byte); name its encoding, such as cp949 or utf-8 "
    "(rows before this point may have been stored; importing the file again is safe)",
)


def test_a_file_that_is_not_in_the_named_encoding_is_refused(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, KOREAN_FILE.encode("cp949"), ImportOptions(encoding="utf-8"))

    assert caught.value.errors == [NOT_UTF_8]
    assert stored_contacts(sessions) == []


def test_korean_text_first_met_after_the_sniffed_start_stops_the_import_and_can_be_resumed(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    # 3,000 plain ASCII rows (more than the 64 KiB sniffed) read as UTF-8; then comes CP949.
    rows = "".join(f"person{n:04d}@late.co.kr,Person {n:04d}\n" for n in range(3_000))
    raw = ("email,name\n" + rows + "kim@late.co.kr,김민수\n").encode("cp949")

    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, raw)

    assert caught.value.errors == [NOT_UTF_8]
    assert len(stored_contacts(sessions)) == importer.BATCH_ROWS  # the first batch was stored

    summary, bad_rows = run_import(sessions, ctx, raw, ImportOptions(encoding="cp949"))

    assert bad_rows == []
    assert counts(summary) == (3_001, 1_001, 0, 2_000, 0)
    assert contact_by_email(sessions, "kim@late.co.kr").first_name == "민수"


# Bad rows ------------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_with_its_line_and_reason_while_good_rows_import(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    taken = make_contact(session, ctx, email="taken@acme.co.kr", phone="010-5555-6666")
    lines = [
        "email,name,phone,owner,notes",  # 1
        "good1@acme.co.kr,Jane Doe,,,",  # 2
        "not-an-email,Bad Email,,,",  # 3
        'good2@acme.co.kr,Kim Two,,,"a note',  # 4
        'over two lines"',  # 5
        "bad-phone@acme.co.kr,Bad Phone,12,,",  # 6
        ",No Email,010-7777-8888,,",  # 7
        "ghost-owner@acme.co.kr,Ghost,,ghost@acme.co.kr,",  # 8
        "",  # 9
        "dup-phone@acme.co.kr,Dup Phone,010-5555-6666,,",  # 10
        "good3@acme.co.kr,Last Good,,,",  # 11
    ]
    data = "\n".join(lines) + "\n"

    summary, bad_rows = run_import(sessions, ctx, data)

    assert [(row.line, row.errors[0].field) for row in bad_rows] == [
        (3, "email"),
        (6, "phone"),
        (7, "email"),
        (8, "owner"),
        (10, "phone"),
    ]
    assert bad_rows[0].reason.startswith("email: invalid email 'not-an-email': ")
    assert bad_rows[1].reason.startswith("phone: invalid phone number '12': ")
    assert bad_rows[2].reason == "email: no email to match on (contacts are matched on email)"
    assert bad_rows[3].reason == "owner: no user with email 'ghost@acme.co.kr'"
    assert bad_rows[4].reason == f"phone: '+821055556666' belongs to contact {taken.id} already"
    assert all(len(row.errors) == 1 for row in bad_rows)
    # The row as it was in the file, under the file's own headers, so it can be fixed and re-imported.
    assert bad_rows[0].cells == ["not-an-email", "Bad Email", "", "", ""]
    assert list(bad_rows[0].headers) == ["email", "name", "phone", "owner", "notes"]
    assert counts(summary) == (8, 3, 0, 0, 5)
    assert sorted(c.email for c in stored_contacts(sessions)) == [
        "good1@acme.co.kr",
        "good2@acme.co.kr",
        "good3@acme.co.kr",
        "taken@acme.co.kr",
    ]


def test_a_quoted_header_over_two_lines_shifts_the_line_numbers_of_rows(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = 'email,"Notes\n(free text)"\nnope,x\n'

    summary, bad_rows = run_import(sessions, ctx, data)

    assert [row.line for row in bad_rows] == [3]
    assert summary.ignored_columns == ["Notes\n(free text)"]


def test_one_row_with_several_problems_lists_them_all(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    make_property(session, ctx, "grade", "enum", options=["vip", "normal"])
    data = "email,phone,grade,stage\nkim@acme.co.kr,12,gold,nowhere\n"

    _, [bad_row] = run_import(sessions, ctx, data)

    assert bad_row.line == 2
    assert [error.field for error in bad_row.errors] == ["phone", "lifecycle_stage", "properties.grade"]
    assert bad_row.reason.endswith("; properties.grade: 'gold' is not one of 'vip', 'normal'")
    assert stored_contacts(sessions) == []


def test_blank_lines_are_skipped_and_not_counted(sessions: sessionmaker[Session], ctx: Context) -> None:
    data = "email,name\n\nkim@acme.co.kr,김민수\n\n , \n\nbroken,x\n\n"

    summary, bad_rows = run_import(sessions, ctx, data)

    assert counts(summary) == (2, 1, 0, 0, 1)
    assert [row.line for row in bad_rows] == [7]


# Files that cannot be imported at all ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"\n\n", "\ufeff".encode()], ids=["empty", "blank-lines", "bom-only"])
def test_an_empty_file_is_refused(sessions: sessionmaker[Session], ctx: Context, raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, raw)

    assert [error.field for error in caught.value.errors] == ["file"]
    assert caught.value.errors[0].message == "the file is empty; expected a header row first"


@pytest.mark.parametrize(
    ("key", "data"),
    [
        (DedupeKey.EMAIL, "이름,휴대폰\n김민수,010-1234-5678\n"),
        (DedupeKey.PHONE, "email,name\nkim@acme.co.kr,Kim\n"),
        (DedupeKey.USER_ID, "email,name\nkim@acme.co.kr,Kim\n"),
    ],
)
def test_a_file_without_a_column_for_the_key_is_refused(
    sessions: sessionmaker[Session], ctx: Context, key: DedupeKey, data: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, ctx, data, ImportOptions(key=key))

    assert caught.value.errors == [
        FieldError("key", f"contacts are matched on {key}, but no column holds it")
    ]
    assert stored_contacts(sessions) == []


# Existing contacts -----------------------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock, session: Session
) -> None:
    make_property(session, ctx, "interests", "multi_enum", options=["crm", "ads"])
    make_user(session, ctx, "rep@acme.co.kr")
    data = (
        "이메일,성명,휴대폰,회사,직함,담당영업,interests\n"
        "minsu@acme.co.kr,김민수,010-1234-5678,에이크미,과장,rep@acme.co.kr,crm;ads\n"
        "jiho@gmail.com,박지호,,지호상사,,,\n"
        "jane@globex.com,Jane Doe,,,,,ads\n"
    )
    first, _ = run_import(sessions, ctx, data)
    before = [(c.id, c.updated_at, c.company_id, c.properties) for c in stored_contacts(sessions)]
    clock.advance(timedelta(hours=1))

    again, bad_rows = run_import(sessions, ctx, data)

    assert counts(first) == (3, 3, 0, 0, 0)
    assert bad_rows == []
    assert counts(again) == (3, 0, 0, 3, 0)
    assert [(c.id, c.updated_at, c.company_id, c.properties) for c in stored_contacts(sessions)] == before
    with sessions() as check:
        assert len(check.scalars(select(Company)).all()) == 3


def test_a_changed_row_updates_its_contact_and_moves_updated_at(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    run_import(sessions, ctx, "email,first name\nkim@acme.co.kr,Minsu\nlee@acme.co.kr,Seoyeon\n")
    clock.advance(timedelta(hours=1))

    summary, _ = run_import(
        sessions, ctx, "email,first name\nkim@acme.co.kr,Min-su\nlee@acme.co.kr,Seoyeon\n"
    )

    assert counts(summary) == (2, 0, 1, 1, 0)
    kim = contact_by_email(sessions, "kim@acme.co.kr")
    lee = contact_by_email(sessions, "lee@acme.co.kr")
    assert (kim.first_name, kim.updated_at, kim.created_at) == (
        "Min-su",
        clock.now(),
        clock.now() - timedelta(hours=1),
    )
    assert lee.updated_at == clock.now() - timedelta(hours=1)


def test_rows_naming_one_email_twice_end_as_one_contact_with_the_later_values(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    data = "email,first name,last name\nkim@acme.co.kr,Minsu,\nKIM@acme.co.kr,Min-su,Kim\n"

    summary, bad_rows = run_import(sessions, ctx, data)

    assert bad_rows == []
    assert (summary.rows, summary.failed) == (2, 0)
    [kim] = stored_contacts(sessions)
    assert (kim.first_name, kim.last_name) == ("Min-su", "Kim")


def test_dedupe_by_user_id_updates_the_contact_holding_it(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    existing = make_contact(session, ctx, email="old@acme.co.kr", user_id="M-100")
    data = (
        "회원ID,이메일,이름\nM-100,new@acme.co.kr,김민수\nM-200,other@acme.co.kr,이서연\n,x@acme.co.kr,박\n"
    )

    summary, bad_rows = run_import(sessions, ctx, data, ImportOptions(key=DedupeKey.USER_ID))

    assert counts(summary) == (3, 1, 1, 0, 1)
    assert [(row.line, row.reason) for row in bad_rows] == [
        (4, "user_id: no user_id to match on (contacts are matched on user_id)")
    ]
    first, second = stored_contacts(sessions)
    assert (first.id, first.user_id, first.email, first.first_name) == (
        existing.id,
        "M-100",
        "new@acme.co.kr",
        "민수",
    )
    assert (second.user_id, second.email) == ("M-200", "other@acme.co.kr")


def test_dedupe_by_phone_matches_however_the_number_is_written(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    existing = make_contact(session, ctx, email="kim@acme.co.kr", phone="010-1111-2222")
    data = "휴대폰,성명\n+82 10 1111 2222,김민수\n01033334444,이서연\n"

    summary, bad_rows = run_import(sessions, ctx, data, ImportOptions(key=DedupeKey.PHONE))

    assert bad_rows == []
    assert counts(summary) == (2, 1, 1, 0, 0)
    kim, lee = stored_contacts(sessions)
    assert (kim.id, kim.email, kim.phone, kim.first_name, kim.last_name) == (
        existing.id,
        "kim@acme.co.kr",
        "+821011112222",
        "민수",
        "김",
    )
    assert (lee.email, lee.phone) == (None, "+821033334444")


@pytest.mark.parametrize(
    ("policy", "expected", "outcome"),
    [
        (UpdatePolicy.OVERWRITE, ("New", "Kim", "CEO", {"grade": "vip", "tier": "gold"}), "updated"),
        (UpdatePolicy.FILL_EMPTY, ("Old", "Kim", "CEO", {"grade": "normal", "tier": "gold"}), "updated"),
        (UpdatePolicy.SKIP, ("Old", None, "CEO", {"grade": "normal"}), "unchanged"),
    ],
)
def test_the_update_policy_decides_what_happens_to_an_existing_contact(
    sessions: sessionmaker[Session],
    ctx: Context,
    session: Session,
    policy: UpdatePolicy,
    expected: tuple[str, str | None, str, dict[str, str]],
    outcome: str,
) -> None:
    make_property(session, ctx, "grade", "enum", options=["vip", "normal"])
    make_property(session, ctx, "tier")
    make_contact(
        session,
        ctx,
        email="kim@acme.co.kr",
        first_name="Old",
        job_title="CEO",
        properties={"grade": "normal"},
    )
    # The empty job title cell leaves the stored one alone under every policy.
    data = "email,first name,last name,job title,grade,tier\nkim@acme.co.kr,New,Kim,,vip,gold\n"

    summary, _ = run_import(sessions, ctx, data, ImportOptions(policy=policy))

    assert getattr(summary, outcome) == 1
    assert (summary.created, summary.failed) == (0, 0)
    [kim] = stored_contacts(sessions)
    assert (kim.first_name, kim.last_name, kim.job_title, kim.properties) == expected


# Owners and companies --------------------------------------------------------------------------------


def test_an_owner_column_links_the_user_with_that_email(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    rep = make_user(session, ctx, "Rep@Acme.co.kr")
    data = "email,영업담당자\nkim@globex.com, REP@acme.co.kr \nlee@globex.com,\n"

    summary, bad_rows = run_import(sessions, ctx, data)

    assert bad_rows == []
    assert counts(summary) == (2, 2, 0, 0, 0)
    kim = contact_by_email(sessions, "kim@globex.com")
    lee = contact_by_email(sessions, "lee@globex.com")
    assert (kim.owner_id, lee.owner_id) == (rep.id, None)


def test_a_company_column_beside_a_free_mail_address_reuses_the_company_of_that_name(
    sessions: sessionmaker[Session], ctx: Context, session: Session
) -> None:
    with sessions.begin() as setup:
        setup.add(
            Company(name="지호상사", properties={}, created_at=ctx.clock.now(), updated_at=ctx.clock.now())
        )
    data = "email,company\njiho@naver.com,지호상사\nmina@daum.net,지호상사\nlee@gmail.com,새회사\n"

    run_import(sessions, ctx, data)

    jiho, mina, lee = (
        contact_by_email(sessions, e) for e in ("jiho@naver.com", "mina@daum.net", "lee@gmail.com")
    )
    with sessions() as check:
        companies = {c.id: c.name for c in check.scalars(select(Company))}
    assert companies[jiho.company_id] == "지호상사"
    assert mina.company_id == jiho.company_id
    assert companies[lee.company_id] == "새회사"
    assert len(companies) == 2


# Size --------------------------------------------------------------------------------------------------


def test_a_large_file_imports_in_batches_telling_progress_in_bytes(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    rows = [f"person{n}@bulk.co.kr,고객{n},010-{n // 10_000:04d}-{n % 10_000:04d}" for n in range(1, 5_001)]
    raw = ("이메일,성명,휴대폰\n" + "\n".join(rows) + "\n").encode()
    progress: list[int] = []

    summary, bad_rows = run_import(sessions, ctx, raw, progress=progress)

    assert bad_rows == []
    assert counts(summary) == (5_000, 5_000, 0, 0, 0)
    assert len(progress) == -(-5_000 // importer.BATCH_ROWS)
    assert progress == sorted(set(progress))
    assert progress[-1] == len(raw)
    with sessions() as check:
        assert check.scalar(select(Contact.phone).where(Contact.email == "person4321@bulk.co.kr")) == (
            "+821000004321"
        )
