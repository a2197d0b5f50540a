"""Running the `funnelwise` command in-process on the test database, as an operator would."""

from pathlib import Path

from typer.testing import CliRunner, Result

from funnelwise.cli import app
from tests.conftest import TEST_SECRET


class Funnelwise:
    """The `funnelwise` command, run in-process on the test database."""

    def __init__(self, database_url: str, **settings: str) -> None:
        self.runner = CliRunner()
        # A wide COLUMNS keeps rich from wrapping the messages the tests read.
        self.env = {
            "FUNNELWISE_DATABASE_URL": database_url,
            "FUNNELWISE_SECRET_KEY": TEST_SECRET,
            "COLUMNS": "400",
            **{f"FUNNELWISE_{name.upper()}": value for name, value in settings.items()},
        }

    def __call__(self, *args: str | Path) -> Result:
        result = self.runner.invoke(app, [str(a) for a in args], env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
