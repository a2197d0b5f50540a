"""`python -m funnelwise` runs the CLI."""

from funnelwise.cli import main

main()
