"""A streamed CSV download, with the byte-order mark Excel needs to read UTF-8."""

from collections.abc import Iterator

from fastapi.responses import StreamingResponse


def csv_download(rows: Iterator[str], filename: str) -> StreamingResponse:
    def with_bom() -> Iterator[str]:
        yield "\ufeff"
        yield from rows

    return StreamingResponse(
        with_bom(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
