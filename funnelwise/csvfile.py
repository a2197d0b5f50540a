"""Reading the CSV files people export from Excel and Korean shop systems, streamed.

UTF-8 with or without a byte-order mark, or CP949 (what Korean Excel writes), detected from the
first 64 KB; commas or tabs; bytes read counted for progress bars. Every import reads this way.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from funnelwise.errors import FieldError, InvalidInput

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class RowError:
    line: int
    errors: list[FieldError]
    cells: list[str]
    headers: Sequence[str] = ()

    @property
    def reason(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)


@dataclass
class CsvRows:
    headers: list[str]
    # (line number in the file, cells) of every row that is not blank
    rows: Iterator[tuple[int, list[str]]]
    bytes_read: Callable[[], int]


def open_csv(stream: IO[bytes], encoding: str | None = None) -> CsvRows:
    """The header row and a stream of the rows after it; InvalidInput for an empty or undecodable file."""
    head = stream.read(SNIFF_BYTES)
    chosen = _chosen_encoding(encoding, head)
    counter = _CountingReader(stream, head)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding=chosen, newline="")
    reader = csv.reader(text, dialect=_dialect(head))
    headers = next(_decoded(reader, chosen), None)
    if not headers:
        raise InvalidInput.single("file", "the file is empty; expected a header row first")

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        for cells in _decoded(reader, chosen):
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1

    return CsvRows(headers, rows(), lambda: counter.count)


class _CountingReader(io.RawIOBase):
    """Passes bytes through and counts them, so progress can be told in bytes of the file."""

    def __init__(self, stream: IO[bytes], prefix: bytes) -> None:
        self.stream = stream
        self.pending = prefix
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.pending or self.stream.read(len(buffer))
        self.pending = self.pending[len(buffer) :]
        data = data[: len(buffer)]
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def _decoded(reader: Any, encoding: str) -> Iterator[list[str]]:
    """The rows of the file; bytes that are not text in `encoding` stop the import, saying so."""
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise InvalidInput.single(
            "file",
            f"the file is not {encoding} text ({exc.reason}); name its encoding, such as cp949 or "
            "utf-8 (rows before this point may have been stored; importing the file again is safe)",
        ) from None


def _chosen_encoding(explicit: str | None, head: bytes) -> str:
    """The encoding asked for, else the detected one; a UTF-8 file's byte-order mark is skipped."""
    if not explicit:
        return _detected_encoding(head)
    try:
        name = codecs.lookup(explicit).name
    except LookupError:
        raise InvalidInput.single("encoding", f"unknown encoding {explicit!r}; try utf-8 or cp949") from None
    return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else explicit


def _detected_encoding(head: bytes) -> str:
    """UTF-8 (with or without a BOM), else CP949, which Korean Excel writes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp949"
    return "utf-8"


def _dialect(head: bytes) -> type[csv.Dialect]:
    first_line = head.split(b"\n", 1)[0]
    if first_line.count(b"\t") > first_line.count(b","):
        return csv.excel_tab
    return csv.excel
