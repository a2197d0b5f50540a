"""`funnelwise segment …` and `funnelwise list …`: dynamic segments and static lists."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy.orm import Session

from funnelwise.cli.runtime import console, fail_on, read_yaml_mapping, runtime
from funnelwise.contacts.exporter import check_columns
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.segments.export import Audience, HashFormat, export_audience, export_hashed
from funnelwise.segments.lists import (
    add_members,
    contact_ids_of,
    create_list,
    import_members,
    list_id_named,
    list_members,
    remove_members,
)
from funnelwise.segments.schemas import ListChangeOut, ListIn, MemberOut, MembersIn, SegmentIn
from funnelwise.segments.service import create_segment, get_segment, segment_id_named, segment_members
from funnelwise.segments.upkeep import refresh_all, refresh_segment

segment = typer.Typer(
    help="Dynamic segments: contacts who match a condition, kept up to date.", no_args_is_help=True
)
static_list = typer.Typer(help="Static lists: contacts added and removed by hand.", no_args_is_help=True)
NameArgument = typer.Argument(..., help="The name (or id) of the segment")
ListArgument = typer.Argument(..., help="The name (or id) of the list")


def register(app: typer.Typer) -> None:
    app.add_typer(segment, name="segment")
    app.add_typer(static_list, name="list")


@segment.command("create")
def segment_create(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="YAML: name, description, condition"
    ),
) -> None:
    """Create a segment from a YAML file and find its members; unknown names are warnings."""
    data = read_yaml_mapping(file, "a mapping with name, description and condition")
    run = runtime()
    try:
        with run.sessions.begin() as session:
            saved = create_segment(session, run.context, _segment_in(data))
    except DomainError as exc:
        fail_on(exc)
    for warning in saved.warnings:
        console.print(
            f"[yellow]warning:[/yellow] {escape(f'{warning.path}: {warning.message}')}", highlight=False
        )
    created = saved.segment
    console.print(
        f"Created segment {escape(created.name)} (id {created.id}): {created.member_count} members.",
        highlight=False,
    )


@segment.command("count")
def segment_count(name: str = NameArgument) -> None:
    """Print how many contacts are in the segment now."""
    run = runtime()
    with run.sessions() as session:
        try:
            typer.echo(get_segment(session, segment_id_named(session, name)).member_count)
        except DomainError as exc:
            fail_on(exc)


@segment.command("members")
def segment_members_command(name: str = NameArgument) -> None:
    """Print the segment's members, one a line: id, email, phone, user id, name (tab-separated)."""
    run = runtime()
    with run.sessions() as session:
        try:
            segment_id = segment_id_named(session, name)
        except DomainError as exc:
            fail_on(exc)
        _print_members(lambda cursor: segment_members(session, segment_id, cursor=cursor, limit=1000))


@segment.command("export")
def segment_export(
    name: str = NameArgument,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write [default: standard output]"
    ),
    columns: str | None = typer.Option(None, help="Comma-separated fields, extras or properties"),
    hashed: HashFormat | None = typer.Option(
        None, help="SHA-256 of email and phone, as google or meta wants them"
    ),
    korean_headers: bool = typer.Option(False, help="Korean column headers (이메일, 휴대폰, …)"),
) -> None:
    """Export the segment's members to CSV (UTF-8 with a byte-order mark), plain or hashed."""
    run = runtime()
    try:
        with run.sessions() as session:
            audience = Audience("segment", segment_id_named(session, name))
            chosen = check_columns(
                session,
                run.context,
                [c.strip() for c in columns.split(",") if c.strip()] if columns else None,
            )
    except DomainError as exc:
        fail_on(exc)
    if hashed is not None:
        rows = export_hashed(run.engine, audience, hashed)
    else:
        rows = export_audience(run.engine, audience, chosen, korean_headers=korean_headers)
    _write(rows, output)


@segment.command("refresh")
def segment_refresh(
    name: str | None = typer.Argument(None, help="One segment's name (or id) [default: every segment]"),
) -> None:
    """Re-decide segments for every contact now: the periodic refresh, for conditions time alone changes."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            if name is None:
                results = refresh_all(session, run.context)
            else:
                results = [refresh_segment(session, run.context, segment_id_named(session, name))]
    except DomainError as exc:
        fail_on(exc)
    for result in results:
        console.print(
            f"{escape(result.segment_name)}: {result.entered} entered, {result.exited} exited, "
            f"{result.members} members",
            highlight=False,
        )


@static_list.command("create")
def list_create(
    name: str = typer.Argument(..., help="The list's name"),
    description: str = typer.Option("", help="What it is for"),
) -> None:
    """Create an empty static list."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            created = create_list(session, run.context, ListIn(name=name, description=description))
    except DomainError as exc:
        fail_on(exc)
    except ValidationError as exc:
        fail_on(_invalid(exc))
    console.print(f"Created list {escape(created.name)} (id {created.id}).", highlight=False)


@static_list.command("add")
def list_add(
    name: str = ListArgument,
    email: list[str] = typer.Option([], help="A contact's email (repeatable)"),
    contact_id: list[int] = typer.Option([], help="A contact's id (repeatable)"),
    user_id: list[str] = typer.Option([], help="A contact's user id (repeatable)"),
    file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="CSV with a contact_id, email or user_id column"
    ),
) -> None:
    """Add contacts to a list, named by option or by a CSV file; logs `List Added` for each."""
    _change(name, MembersIn(contact_ids=contact_id, emails=email, user_ids=user_id), file, remove=False)


@static_list.command("remove")
def list_remove(
    name: str = ListArgument,
    email: list[str] = typer.Option([], help="A contact's email (repeatable)"),
    contact_id: list[int] = typer.Option([], help="A contact's id (repeatable)"),
    user_id: list[str] = typer.Option([], help="A contact's user id (repeatable)"),
    file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="CSV with a contact_id, email or user_id column"
    ),
) -> None:
    """Remove contacts from a list, named by option or by a CSV file; logs `List Removed` for each."""
    _change(name, MembersIn(contact_ids=contact_id, emails=email, user_ids=user_id), file, remove=True)


@static_list.command("members")
def list_members_command(name: str = ListArgument) -> None:
    """Print the list's members, one a line: id, email, phone, user id, name (tab-separated)."""
    run = runtime()
    with run.sessions() as session:
        try:
            list_id = list_id_named(session, name)
        except DomainError as exc:
            fail_on(exc)
        _print_members(lambda cursor: list_members(session, list_id, cursor=cursor, limit=1000))


def _change(name: str, named: MembersIn, file: Path | None, *, remove: bool) -> None:
    run = runtime()
    verb = "removed" if remove else "added"
    try:
        with run.sessions.begin() as session:
            list_id = list_id_named(session, name)
            if file is not None:
                with file.open("rb") as stream:
                    imported = import_members(session, run.context, list_id, stream, remove=remove)
                for error in imported.errors:
                    console.print(
                        f"[yellow]line {error.line}:[/yellow] {escape(error.reason)}", highlight=False
                    )
                console.print(f"{imported.rows} rows: {imported.added} {verb}, {imported.unchanged} unchanged, "
                              f"{imported.failed} failed")  # fmt: skip
            if named.contact_ids or named.emails or named.user_ids:
                _report(_apply(session, run.context, list_id, named, remove), verb)
    except DomainError as exc:
        fail_on(exc)


def _apply(session: Session, ctx: Context, list_id: int, named: MembersIn, remove: bool) -> ListChangeOut:
    ids, missing = contact_ids_of(session, named)
    change = (remove_members if remove else add_members)(session, ctx, list_id, ids)
    return change.model_copy(update={"not_found": missing})


def _report(change: ListChangeOut, verb: str) -> None:
    console.print(f"{change.changed} {verb}, {change.unchanged} unchanged.")
    if change.not_found:
        console.print(f"[yellow]not found:[/yellow] {escape(', '.join(change.not_found))}", highlight=False)


def _print_members(page_at: Callable[[str | None], Page[MemberOut]]) -> None:
    cursor = None
    while True:
        page = page_at(cursor)
        for member in page.results:
            typer.echo(_line(member))
        cursor = page.next_cursor
        if cursor is None:
            return


def _line(member: MemberOut) -> str:
    name = " ".join(part for part in (member.last_name, member.first_name) if part)
    return "\t".join(
        str(value or "") for value in (member.id, member.email, member.phone, member.user_id, name)
    )


def _write(rows: Iterator[str], output: Path | None) -> None:
    target = output.open("w", newline="", encoding="utf-8-sig") if output else sys.stdout
    try:
        for chunk in rows:
            target.write(chunk)
    finally:
        if output:
            target.close()


def _segment_in(data: dict[str, Any]) -> SegmentIn:
    try:
        return SegmentIn.model_validate(data)
    except ValidationError as exc:
        fail_on(_invalid(exc))


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        [
            FieldError(".".join(str(part) for part in error["loc"]) or "file", error["msg"])
            for error in exc.errors()
        ]
    )
