"""`funnelwise email …`: bounce mail read from files."""

import mailbox
from pathlib import Path

import typer

from funnelwise.cli.runtime import console, fail, runtime
from funnelwise.messaging.bounces import dsn_reports, record_reports

email = typer.Typer(help="Email delivery: bounces from DSN mail.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(email, name="email")


@email.command("dsn")
def email_dsn(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help=".eml files or mbox mailboxes"
    ),
) -> None:
    """Read bounce (DSN) and complaint mail: hard bounces and complaints suppress their address."""
    run = runtime()
    recorded = suppressed = unmatched = reports = 0
    for path in files:
        for raw in _messages(path):
            found = dsn_reports(raw)
            reports += len(found)
            with run.sessions.begin() as session:
                outcome = record_reports(session, run.context, found, "dsn")
            recorded += outcome.recorded
            suppressed += outcome.suppressed
            unmatched += outcome.unmatched
    if not reports:
        fail("no delivery status notification or feedback report found in the files", code=1)
    console.print(
        f"{reports} reports: {recorded} recorded on their messages, {suppressed} addresses newly "
        f"suppressed, {unmatched} naming no message of ours",
        highlight=False,
    )


def _messages(path: Path) -> list[bytes]:
    """One message from an .eml file, every message from an mbox (a file starting with "From ")."""
    data = path.read_bytes()
    if not data.startswith(b"From "):
        return [data]
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()
