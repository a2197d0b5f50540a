"""Shop exports as rows: the contact import's CSV reading, and columns matched by English or Korean header."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from funnelwise.errors import FieldError, InvalidInput


@dataclass
class Columns:
    """For each column of the file, the field it fills, or None when it is ignored."""

    targets: list[str | None]
    ignored: list[str]

    def row(self, cells: Sequence[str]) -> dict[str, str]:
        """The row's non-empty cells by field, stripped."""
        return {
            target: cell.strip()
            for target, cell in zip(self.targets, cells, strict=False)
            if target is not None and cell.strip()
        }


def match_columns(
    headers: Sequence[str], aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> Columns:
    """Matches headers by name, ignoring case, spaces, `_`, `-`, `.`; InvalidInput before any row is read."""
    by_alias = {alias: name for name, names in aliases.items() for alias in names}
    targets = [by_alias.get(_key(header)) for header in headers]
    errors: list[FieldError] = []
    seen: dict[str, str] = {}
    for header, target in zip(headers, targets, strict=True):
        if target is not None and target in seen:
            errors.append(
                FieldError(f"columns.{header}", f"fills {target!r}, as column {seen[target]!r} does")
            )
        seen.setdefault(target or "", header)
    for name in required:
        if name not in seen:
            known = ", ".join(aliases[name][:3])
            errors.append(FieldError("columns", f"no column holds {name} (a header such as {known})"))
    if errors:
        raise InvalidInput(errors)
    return Columns(targets, [h for h, t in zip(headers, targets, strict=True) if t is None])


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.()]", "", header.strip().lower())
