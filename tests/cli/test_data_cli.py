"""An operator imports and exports contacts, defines properties and hands out API keys from the shell."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.auth.api_keys import authenticate
from funnelwise.auth.models import User
from funnelwise.contacts.models import Contact
from tests.cli.support import Funnelwise, write

BOM = "\ufeff".encode()


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    """Runs the `funnelwise` command on the test database, in an empty working directory."""
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def stored(sessions: sessionmaker[Session]) -> dict[str, Contact]:
    with sessions() as session:
        return {c.email or "": c for c in session.scalars(select(Contact))}


# Import ------------------------------------------------------------------------------------------------


def test_importing_a_file_with_a_bad_row_stores_the_rest_and_writes_an_error_report(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    leads = write(
        tmp_path / "leads.csv",
        "이메일,성명,휴대폰\n"
        "minsu@acme.co.kr,김민수,010-1234-5678\n"
        "seoyeon@acme.co.kr,이서연,12\n"
        "jiho@gmail.com,박지호,\n",
        "cp949",
    )

    result = funnelwise("import", "contacts", leads)

    assert result.exit_code == 1, result.output
    report = tmp_path / "leads.csv.errors.csv"
    assert "3 rows: 2 created, 0 updated, 0 unchanged, 1 failed" in result.stderr
    assert f"1 bad rows, with line numbers and reasons, in {report}" in result.stderr
    assert result.stdout == ""
    assert report.read_bytes().startswith(BOM)
    [header, bad_row] = list(csv.reader(io.StringIO(report.read_text("utf-8-sig"))))
    assert header == ["line", "reason", "이메일", "성명", "휴대폰"]
    assert bad_row[0] == "3"
    assert bad_row[1].startswith("phone: invalid phone number '12': ")
    assert bad_row[2:] == ["seoyeon@acme.co.kr", "이서연", "12"]
    assert sorted(stored(sessions)) == ["jiho@gmail.com", "minsu@acme.co.kr"]


def test_a_clean_file_imports_with_exit_code_0_and_no_report(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    leads = write(tmp_path / "leads.csv", "Email,First Name,Notes [internal]\nkim@acme.co.kr,Minsu,VIP\n")

    first = funnelwise("import", "contacts", leads)
    again = funnelwise("import", "contacts", leads)

    assert first.exit_code == 0, first.output
    assert "1 rows: 1 created, 0 updated, 0 unchanged, 0 failed" in first.stderr
    assert "ignored columns (no field or property by that name): Notes [internal]\n" in first.stderr
    assert again.exit_code == 0, again.output
    assert "1 rows: 0 created, 0 updated, 1 unchanged, 0 failed" in again.stderr
    assert not (tmp_path / "leads.csv.errors.csv").exists()
    assert stored(sessions)["kim@acme.co.kr"].first_name == "Minsu"


def test_the_error_report_goes_where_errors_says(funnelwise: Funnelwise, tmp_path: Path) -> None:
    leads = write(tmp_path / "leads.csv", "email\nnot-an-email\nkim@acme.co.kr\n")
    report = tmp_path / "reports" / "bad.csv"
    report.parent.mkdir()

    result = funnelwise("import", "contacts", leads, "--errors", report)

    assert result.exit_code == 1, result.output
    assert not (tmp_path / "leads.csv.errors.csv").exists()
    rows = list(csv.reader(io.StringIO(report.read_text("utf-8-sig"))))
    assert [row[:1] + row[2:] for row in rows] == [["line", "email"], ["2", "not-an-email"]]
    assert rows[1][1].startswith("email: invalid email 'not-an-email': ")


def test_map_names_the_field_of_a_column_and_ignores_another(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    leads = write(tmp_path / "crm.csv", "Contact,Mobile No,Phone\nkim@acme.co.kr,010-1234-5678,02-000-0000\n")

    result = funnelwise(
        "import", "contacts", leads, "--map", "Contact=email", "--map", "Mobile No=phone", "--map", "Phone=-"
    )

    assert result.exit_code == 0, result.output
    assert "ignored columns (no field or property by that name): Phone" in result.stderr
    assert stored(sessions)["kim@acme.co.kr"].phone == "+821012345678"


def test_key_and_policy_options_choose_how_rows_meet_existing_contacts(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    funnelwise(
        "import",
        "contacts",
        write(tmp_path / "a.csv", "email,phone,first name\nkim@acme.co.kr,01011112222,Old\n"),
    )
    update = write(tmp_path / "b.csv", "휴대폰,이름,직함\n010-1111-2222,New,과장\n")

    result = funnelwise("import", "contacts", update, "--key", "phone", "--policy", "fill_empty")

    assert result.exit_code == 0, result.output
    assert "1 rows: 0 created, 1 updated, 0 unchanged, 0 failed" in result.stderr
    kim = stored(sessions)["kim@acme.co.kr"]
    assert (kim.first_name, kim.last_name, kim.job_title) == ("Old", None, "과장")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("Contact", "error: --map takes 'Column header=field', got 'Contact'"),
        ("=email", "error: --map takes 'Column header=field', got '=email'"),
        (
            "Contact=nonsense",
            "error: mapping.Contact: 'nonsense' is neither a contact field nor a defined property",
        ),
        ("Missing=email", "error: mapping.Missing: no column with this header in the file"),
        # Brackets in what users typed are printed as they are, not read as rich markup.
        (
            "Contact=[/vip]",
            "error: mapping.Contact: '[/vip]' is neither a contact field nor a defined property",
        ),
    ],
)
def test_a_bad_map_stops_with_exit_code_2_before_anything_is_stored(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path, mapping: str, message: str
) -> None:
    leads = write(tmp_path / "crm.csv", "Contact,email\nkim@acme.co.kr,lee@acme.co.kr\n")

    result = funnelwise("import", "contacts", leads, "--map", mapping)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert stored(sessions) == {}
    assert not (tmp_path / "crm.csv.errors.csv").exists()


def test_an_unreadable_encoding_stops_with_exit_code_2(funnelwise: Funnelwise, tmp_path: Path) -> None:
    leads = write(tmp_path / "leads.csv", "이메일\nkim@acme.co.kr\n", "cp949")

    result = funnelwise("import", "contacts", leads, "--encoding", "utf-8")

    assert result.exit_code == 2, result.output
    assert "error: file: the file is not utf-8 text (invalid start byte)" in result.stderr


# Export ------------------------------------------------------------------------------------------------


@pytest.fixture
def two_contacts(funnelwise: Funnelwise, tmp_path: Path) -> None:
    leads = write(
        tmp_path / "seed.csv",
        "이메일,성명,휴대폰,회사,고객단계\n"
        "minsu@acme.co.kr,김민수,010-1234-5678,에이크미,mql\n"
        "jiho@gmail.com,박지호,,지호상사,lead\n",
    )
    assert funnelwise("import", "contacts", leads).exit_code == 0


@pytest.mark.usefixtures("two_contacts")
def test_export_writes_the_chosen_columns_as_utf_8_with_a_byte_order_mark(
    funnelwise: Funnelwise, tmp_path: Path
) -> None:
    result = funnelwise(
        "export", "contacts", "-o", "out.csv", "--columns", "email,phone,first_name,company_name"
    )

    assert result.exit_code == 0, result.output
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(BOM)
    assert sorted(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [
        ["email", "phone", "first_name", "company_name"],
        ["jiho@gmail.com", "", "지호", "지호상사"],
        ["minsu@acme.co.kr", "+821012345678", "민수", "에이크미"],
    ]


@pytest.mark.usefixtures("two_contacts")
def test_export_with_korean_headers_and_a_filter_to_standard_output(funnelwise: Funnelwise) -> None:
    result = funnelwise(
        "export",
        "contacts",
        "--korean-headers",
        "--lifecycle-stage",
        "mql",
        "--columns",
        "email,last_name,company_name",
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "이메일,성,회사\nminsu@acme.co.kr,김,에이크미\n"


@pytest.mark.usefixtures("sessions")
def test_export_of_an_unknown_column_stops_with_exit_code_2(funnelwise: Funnelwise, tmp_path: Path) -> None:
    result = funnelwise("export", "contacts", "-o", "out.csv", "--columns", "email,shoe_size")

    assert result.exit_code == 2, result.output
    assert "error: columns: unknown column(s) shoe_size;" in result.stderr
    assert not (tmp_path / "out.csv").exists()


# Properties and users ----------------------------------------------------------------------------------


def test_a_property_defined_on_the_command_line_is_listed_and_fills_from_imports(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    created = funnelwise(
        "property",
        "create",
        "contact",
        "plan",
        "--type",
        "enum",
        "--option",
        "basic=베이직",
        "--option",
        "pro",
    )
    listed = funnelwise("property", "list", "contact")
    imported = funnelwise(
        "import", "contacts", write(tmp_path / "p.csv", "email,plan\nkim@acme.co.kr,베이직\n")
    )

    assert created.exit_code == 0, created.output
    assert "Defined contact property plan (enum)." in created.stderr
    assert listed.exit_code == 0, listed.output
    assert listed.stdout == "plan\tenum\tplan\tbasic, pro\n"
    assert imported.exit_code == 0, imported.output
    assert stored(sessions)["kim@acme.co.kr"].properties == {"plan": "basic"}


@pytest.mark.usefixtures("sessions")
def test_a_property_with_a_bad_name_is_refused(funnelwise: Funnelwise) -> None:
    result = funnelwise("property", "create", "contact", "Plan Name", "--type", "string")

    assert result.exit_code == 2, result.output
    assert "String should match pattern '^[a-z][a-z0-9_]{0,63}$'" in result.stderr
    assert funnelwise("property", "list", "contact").stdout == ""


def test_a_salesperson_created_on_the_command_line_owns_imported_contacts(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    result = funnelwise("user", "create", "--email", "Rep@Acme.co.kr", "--role", "sales")
    imported = funnelwise(
        "import", "contacts", write(tmp_path / "o.csv", "email,owner\nkim@globex.com,rep@acme.co.kr\n")
    )

    assert result.exit_code == 0, result.output
    with sessions() as session:
        rep = session.scalars(select(User)).one()
    assert (rep.email, rep.role) == ("rep@acme.co.kr", "sales")
    assert f"Created user {rep.id} rep@acme.co.kr (sales)." in result.stderr
    assert imported.exit_code == 0, imported.output
    assert stored(sessions)["kim@globex.com"].owner_id == rep.id


# API keys ----------------------------------------------------------------------------------------------


def test_an_api_key_is_shown_once_authenticates_and_stops_when_revoked(
    funnelwise: Funnelwise, sessions: sessionmaker[Session]
) -> None:
    created = funnelwise("apikey", "create", "--name", "website backend", "--scopes", "contacts:read")

    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert created.stdout == f"{token}\n"
    assert "with scopes contacts:read" in created.stderr
    with sessions() as session:
        key = authenticate(session, token)
    assert key is not None
    assert (key.name, key.scopes) == ("website backend", ["contacts:read"])

    listed = funnelwise("apikey", "list")

    assert listed.exit_code == 0, listed.output
    assert listed.stdout == f"{key.id}\tfw_{key.prefix}_…\twebsite backend\tcontacts:read\tactive\n"
    assert token.split("_", 2)[2] not in listed.output

    revoked = funnelwise("apikey", "revoke", key.prefix)

    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked API key {key.id} 'website backend'." in revoked.stderr
    with sessions() as session:
        assert authenticate(session, token) is None
    assert funnelwise("apikey", "list").stdout.rstrip("\n").split("\t")[-1].startswith("revoked ")


@pytest.mark.usefixtures("sessions")
def test_an_unknown_scope_is_refused_naming_it(funnelwise: Funnelwise) -> None:
    result = funnelwise("apikey", "create", "--name", "x", "--scopes", "contacts:read,contacts:admin")

    assert result.exit_code == 2, result.output
    assert "error: scopes: unknown scope 'contacts:admin'" in result.stderr
    assert result.stdout == ""
    assert funnelwise("apikey", "list").stdout == ""


@pytest.mark.usefixtures("sessions")
def test_revoking_an_unknown_key_fails(funnelwise: Funnelwise) -> None:
    result = funnelwise("apikey", "revoke", "nosuchkey")

    assert result.exit_code == 2, result.output
    assert "error: API key 'nosuchkey' not found" in result.stderr
