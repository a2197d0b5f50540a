"""An operator creates a broadcast from YAML, sends it with a progress bar, reads its status, cancels it."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.cli.support import Funnelwise, write
from tests.messaging.broadcasts.support import customers, email_template, outbox

WINTER = """
name: Winter sale
template: winter
segment: Customers
throttle_per_minute: 600
conversion_event: Order Completed
"""


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url, broadcast_chunk_size="2")


def test_a_broadcast_from_yaml_is_sent_and_its_status_shows_the_figures(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context, tmp_path: Path
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 5)
        email_template(session, ctx, "winter")

    created = funnelwise("broadcast", "create", write(tmp_path / "winter.yaml", WINTER))
    assert created.exit_code == 0, created.output
    assert "Created broadcast Winter sale (id " in created.output
    assert ") as a draft." in created.output

    sent = funnelwise("broadcast", "send", "Winter sale")
    assert sent.exit_code == 0, sent.output
    assert "Winter sale is sent: 5 recipients queued." in sent.output
    broadcast_id = int(created.output.split("(id ")[1].split(")")[0])
    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == members

    status = funnelwise("broadcast", "status", "Winter sale")
    assert status.exit_code == 0, status.output
    lines = [line.split("│") for line in status.output.splitlines() if "│" in line]
    table = {cells[1].strip(): cells[2].strip() for cells in lines}
    assert (table["audience"], table["messages"], table["queued"], table["sent"], table["opened"]) == (
        "5",
        "5",
        "5",
        "0",
        "0",
    )

    cancelled = funnelwise("broadcast", "cancel", "Winter sale")
    assert "Cancelled Winter sale: 5 messages held back, 0 already sent." in cancelled.output
    assert funnelwise("broadcast", "list").stdout.split("\t")[1:3] == ["Winter sale", "cancelled"]


def test_a_bad_definition_names_its_field(funnelwise: Funnelwise, tmp_path: Path) -> None:
    result = funnelwise(
        "broadcast", "create", write(tmp_path / "bad.yaml", "name: x\ntemplate: t\nsegment: s\nab: {}\n")
    )

    assert result.exit_code == 2
    assert "error: ab.variants: Field required" in result.output
