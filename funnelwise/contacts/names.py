"""Splitting a full name into first and last, the Korean way or the Western way."""

import re

# Two-syllable Korean surnames; every other Korean surname is one syllable.
_COMPOUND_SURNAMES = frozenset(
    {"남궁", "제갈", "선우", "황보", "독고", "사공", "서문", "동방", "어금", "망절"}
)
_HANGUL = re.compile(r"[가-힣]+")


def split_full_name(full: str) -> tuple[str | None, str | None]:
    """(first, last): `김민수` and `김 민수` -> (민수, 김), `남궁민수` -> (민수, 남궁), `Jane Doe` -> (Jane, Doe)."""
    name = " ".join(full.split())
    if not name:
        return None, None
    if " " in name and all(_HANGUL.fullmatch(word) for word in name.split(" ")):
        surname, given = name.split(" ", 1)
        return given, surname
    if _HANGUL.fullmatch(name):
        if len(name) == 1:
            return name, None
        surname_length = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[surname_length:], name[:surname_length]
    if " " not in name:
        return name, None
    first, last = name.rsplit(" ", 1)
    return first, last
