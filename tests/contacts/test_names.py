"""Splitting the full name someone typed into first and last name, Korean or Western."""

import pytest

from funnelwise.contacts.names import split_full_name


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("김민수", ("민수", "김")),
        ("이영", ("영", "이")),
        ("남궁민수", ("민수", "남궁")),
        ("제갈공명", ("공명", "제갈")),
        ("선우진", ("진", "선우")),
        (" 김민수 ", ("민수", "김")),
    ],
)
def test_a_korean_name_is_split_after_the_surname(full: str, expected: tuple[str, str]) -> None:
    assert split_full_name(full) == expected


@pytest.mark.parametrize(
    ("full", "expected"),
    [("김 민수", ("민수", "김")), ("남궁 민수", ("민수", "남궁")), ("황보 영", ("영", "황보"))],
)
def test_a_korean_name_written_with_a_space_keeps_the_surname_first(
    full: str, expected: tuple[str, str]
) -> None:
    assert split_full_name(full) == expected


def test_a_two_syllable_name_that_looks_like_a_compound_surname_keeps_a_one_syllable_surname() -> None:
    """남궁 alone is the surname 남 and the given name 궁: a compound surname needs a given name after it."""
    assert split_full_name("남궁") == ("궁", "남")


def test_a_single_hangul_syllable_is_a_first_name() -> None:
    assert split_full_name("민") == ("민", None)


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Jane Doe", ("Jane", "Doe")),
        ("  Jane   Doe  ", ("Jane", "Doe")),
        ("Mary Ann van Dyke", ("Mary Ann van", "Dyke")),
        ("Kim Minsu", ("Kim", "Minsu")),
    ],
)
def test_a_western_name_is_split_at_the_last_space(full: str, expected: tuple[str, str]) -> None:
    assert split_full_name(full) == expected


@pytest.mark.parametrize("full", ["Cher", "Madonna"])
def test_a_single_word_is_a_first_name(full: str) -> None:
    assert split_full_name(full) == (full, None)


@pytest.mark.parametrize("full", ["", "   "])
def test_a_blank_name_has_neither_part(full: str) -> None:
    assert split_full_name(full) == (None, None)
