"""`funnelwise apikey …` and `funnelwise user …`."""

import typer

from funnelwise.auth.api_keys import DOMAINS, create_api_key, list_api_keys, revoke_api_key
from funnelwise.auth.users import Role, create_user, list_users
from funnelwise.cli.runtime import console, fail_on, runtime
from funnelwise.errors import DomainError

apikey = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)
user = typer.Typer(help="Team members: marketers, salespeople, admins.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(apikey, name="apikey")
    app.add_typer(user, name="user")


@apikey.command("create")
def apikey_create(
    name: str = typer.Option(..., help="Who or what uses the key, e.g. 'website backend'"),
    scopes: list[str] = typer.Option(
        ...,
        "--scopes",
        "--scope",
        help=f"Comma-separated or repeated: '*' or DOMAIN:read|write, DOMAIN in {', '.join(DOMAINS)}",
    ),
) -> None:
    """Create a key and print it once; only its hash is kept."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            key, token = create_api_key(session, run.context, name, scopes)
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Created API key {key.id} '{key.name}' with scopes {', '.join(key.scopes)}.")
    console.print("Store it now: it is shown only this once.")
    typer.echo(token)


@apikey.command("list")
def apikey_list() -> None:
    """List keys (never the secrets)."""
    run = runtime()
    with run.sessions() as session:
        for key in list_api_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            typer.echo(f"{key.id}\tfw_{key.prefix}_…\t{key.name}\t{','.join(key.scopes)}\t{state}")


@apikey.command("revoke")
def apikey_revoke(key: str = typer.Argument(..., help="The key's id or prefix")) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            revoked = revoke_api_key(session, run.context, key)
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Revoked API key {revoked.id} '{revoked.name}'.")


@user.command("create")
def user_create(
    email: str = typer.Option(...),
    name: str = typer.Option("", help="Display name [default: the email]"),
    role: Role = typer.Option(Role.MARKETER),
) -> None:
    """Add a team member (salespeople can own contacts)."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            created = create_user(session, run.context, email, name, role.value)
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Created user {created.id} {created.email} ({created.role}).")


@user.command("list")
def user_list() -> None:
    """List team members."""
    run = runtime()
    with run.sessions() as session:
        for member in list_users(session):
            typer.echo(f"{member.id}\t{member.email}\t{member.name}\t{member.role}")
