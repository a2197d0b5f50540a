"""The `funnelwise` command."""

import typer

from funnelwise.cli import access, data, server, tracking

app = typer.Typer(help="Funnelwise: self-hosted marketing automation.", no_args_is_help=True)
server.register(app)
access.register(app)
data.register(app)
tracking.register(app)


def main() -> None:
    app()
