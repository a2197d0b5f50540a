"""Job levels, and how to read one from a Korean or English job title."""

import re
from enum import StrEnum


class JobLevel(StrEnum):
    STAFF = "staff"
    MANAGER = "manager"
    HEAD = "head"
    EXECUTIVE = "executive"


# Checked from the most senior down, so "본부장" is not read as "부장" and "부사장" not as "사장"
# (both pairs land on the same level anyway, but "Head of Sales Manager" must be head).
_KOREAN = (
    (JobLevel.EXECUTIVE, ("대표", "회장", "부사장", "사장", "전무", "상무", "이사", "CEO")),
    (JobLevel.HEAD, ("본부장", "실장", "부장", "팀장", "센터장", "그룹장", "국장", "소장", "지점장")),
    (JobLevel.MANAGER, ("차장", "과장", "매니저", "파트장")),
    (JobLevel.STAFF, ("대리", "주임", "사원", "연구원", "인턴", "담당")),
)
_ENGLISH = (
    (
        JobLevel.EXECUTIVE,
        r"\b(?:c[etfomipsrd]o|chief|president|vp|svp|evp|vice[- ]president|founder|co-?founder|"
        r"(?<!product )owner|managing director|partner|chair(?:man|woman|person)?)\b",
    ),
    (JobLevel.HEAD, r"\b(?:head|director|general manager|gm)\b"),
    (JobLevel.MANAGER, r"\b(?:manager|lead|supervisor|team leader|product owner)\b"),
)
_ENGLISH_COMPILED = tuple((level, re.compile(pattern, re.IGNORECASE)) for level, pattern in _ENGLISH)


def job_level_from_title(title: str | None) -> JobLevel | None:
    """The level a title implies; any other non-empty title is staff."""
    if not title or not title.strip():
        return None
    for level, words in _KOREAN:
        if any(word in title for word in words):
            return level
    for level, pattern in _ENGLISH_COMPILED:
        if pattern.search(title):
            return level
    return JobLevel.STAFF
