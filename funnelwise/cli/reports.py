"""What every import command shows: a progress bar by bytes, and an error report of bad rows."""

import csv
from pathlib import Path
from typing import IO, Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from funnelwise.cli.runtime import console
from funnelwise.csvfile import RowError


class ErrorReport:
    """Writes bad rows, with their line numbers and reasons, to a CSV opened on the first one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] | None = None
        self._writer: Any = None

    def add(self, error: RowError) -> None:
        if self._file is None:
            self._file = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "reason", *error.headers])
        self._writer.writerow([error.line, error.reason, *error.cells])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class ProgressTask:
    """A progress bar over the bytes of the file, on standard error."""

    def __init__(self, total: int) -> None:
        self.progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.total = total

    def __enter__(self) -> tuple[Progress, int]:
        self.progress.start()
        return self.progress, self.progress.add_task("import", total=self.total)

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()
