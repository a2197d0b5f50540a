"""An operator defines segments from YAML files, keeps a static list and exports an audience."""

import csv
import hashlib
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.cli.support import Funnelwise, write
from tests.factories import make_contact

MQLS = """
name: MQLs
description: Ready for sales
condition:
  all:
    - property: lifecycle_stage
      operator: equals
      value: mql
    - not:
        in_list: Staff
"""


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def test_a_segment_from_yaml_is_counted_listed_refreshed_and_leaves_out_a_list(
    funnelwise: Funnelwise, session: Session, ctx: Context, tmp_path: Path
) -> None:
    ada = make_contact(
        session, ctx, email="ada@example.org", first_name="Ada", last_name="Kim", lifecycle_stage="mql"
    )
    bob = make_contact(session, ctx, email="bob@example.org", lifecycle_stage="mql")
    make_contact(session, ctx, email="cho@example.org", lifecycle_stage="lead")

    listed = funnelwise("list", "create", "Staff")
    added = funnelwise("list", "add", "Staff", "--email", "bob@example.org", "--email", "ghost@example.org")
    created = funnelwise("segment", "create", write(tmp_path / "mqls.yaml", MQLS))
    count = funnelwise("segment", "count", "MQLs")
    members = funnelwise("segment", "members", "MQLs")
    staff = funnelwise("list", "members", "Staff")
    removed = funnelwise("list", "remove", "Staff", "--contact-id", str(bob.id))
    refreshed = funnelwise("segment", "refresh")

    assert listed.exit_code == 0, listed.output
    assert "Created list Staff (id 1)." in listed.output
    assert added.exit_code == 0, added.output
    assert "1 added, 0 unchanged." in added.output
    assert "not found: ghost@example.org" in added.output
    assert created.exit_code == 0, created.output
    assert "Created segment MQLs (id 1): 1 members." in created.output
    assert count.stdout == "1\n"
    assert members.stdout == f"{ada.id}\tada@example.org\t\t\tKim Ada\n"
    assert staff.stdout == f"{bob.id}\tbob@example.org\t\t\t\n"
    assert "1 removed, 0 unchanged." in removed.output
    assert "MQLs: 1 entered, 0 exited, 2 members" in refreshed.output


def test_a_bad_yaml_tree_is_refused_by_path_and_an_unknown_event_is_a_warning(
    funnelwise: Funnelwise, tmp_path: Path
) -> None:
    bad = write(
        tmp_path / "bad.yaml", "name: Bad\ncondition:\n  any:\n    - event: Page Viewed\n      times: many\n"
    )
    typo = write(tmp_path / "typo.yaml", "name: Typo\ncondition:\n  event: Pricing Viewed\n")

    refused = funnelwise("segment", "create", bad)
    warned = funnelwise("segment", "create", typo)

    assert refused.exit_code == 2
    assert "error: condition.any[0].times: Input should be a valid integer" in refused.output
    assert warned.exit_code == 0, warned.output
    assert "warning: condition: no event named 'Pricing Viewed' has been recorded yet" in warned.output
    assert "Created segment Typo (id 1): 0 members." in warned.output
    assert funnelwise("segment", "count", "Nope").exit_code == 2


def test_a_segment_exports_to_a_file_plain_or_hashed_for_meta(
    funnelwise: Funnelwise, session: Session, ctx: Context, tmp_path: Path
) -> None:
    make_contact(session, ctx, email="ada@example.org", phone="010-1234-5678", lifecycle_stage="mql")
    funnelwise("segment", "create", write(tmp_path / "mqls.yaml", MQLS))

    plain = funnelwise("segment", "export", "MQLs", "-o", "plain.csv", "--columns", "email,phone")
    hashed = funnelwise("segment", "export", "MQLs", "-o", "meta.csv", "--hashed", "meta")

    assert plain.exit_code == 0, plain.output
    assert hashed.exit_code == 0, hashed.output
    assert _read(tmp_path / "plain.csv") == [["email", "phone"], ["ada@example.org", "+821012345678"]]
    assert _read(tmp_path / "meta.csv") == [
        ["email", "phone"],
        [hashlib.sha256(b"ada@example.org").hexdigest(), hashlib.sha256(b"821012345678").hexdigest()],
    ]


def test_a_list_is_filled_from_a_csv_and_bad_rows_are_named_by_line(
    funnelwise: Funnelwise, session: Session, ctx: Context, tmp_path: Path
) -> None:
    ada = make_contact(session, ctx, email="ada@example.org")
    funnelwise("list", "create", "VIP")
    members_csv = write(tmp_path / "vip.csv", f"contact_id,note\n{ada.id},gold\n424242,lost\n")

    added = funnelwise("list", "add", "VIP", "--file", members_csv)

    assert added.exit_code == 0, added.output
    assert "line 3: contact_id: no contact with contact_id '424242'" in added.output
    assert "2 rows: 1 added, 0 unchanged, 1 failed" in added.output
    assert funnelwise("list", "members", "VIP").stdout == f"{ada.id}\tada@example.org\t\t\t\n"


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))
