"""The `funnelwise` command."""

import typer

from funnelwise.cli import (
    access,
    broadcasts,
    commerce,
    data,
    email,
    forms,
    sales,
    scoring,
    segments,
    server,
    templates,
    tracking,
    workflows,
)

app = typer.Typer(help="Funnelwise: self-hosted marketing automation.", no_args_is_help=True)
server.register(app)
access.register(app)
data.register(app)
commerce.register(app)
tracking.register(app)
forms.register(app)
segments.register(app)
sales.register(app)
scoring.register(app)
workflows.register(app)
broadcasts.register(app)
email.register(app)
templates.register(app)


def main() -> None:
    app()
