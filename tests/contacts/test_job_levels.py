"""Reading a job level from the title people put on their business card, in Korean or in English."""

import pytest

from funnelwise.contacts.job_levels import JobLevel, job_level_from_title


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("사원", JobLevel.STAFF),
        ("대리", JobLevel.STAFF),
        ("과장", JobLevel.MANAGER),
        ("차장", JobLevel.MANAGER),
        ("부장", JobLevel.HEAD),
        ("팀장", JobLevel.HEAD),
        ("실장", JobLevel.HEAD),
        ("본부장", JobLevel.HEAD),
        ("연구소장", JobLevel.HEAD),
        ("강남지점장", JobLevel.HEAD),
        ("이사", JobLevel.EXECUTIVE),
        ("상무", JobLevel.EXECUTIVE),
        ("전무", JobLevel.EXECUTIVE),
        ("부사장", JobLevel.EXECUTIVE),
        ("사장", JobLevel.EXECUTIVE),
        ("대표", JobLevel.EXECUTIVE),
        ("CEO", JobLevel.EXECUTIVE),
    ],
)
def test_each_korean_rank_has_its_level(title: str, level: JobLevel) -> None:
    assert job_level_from_title(title) is level


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Head of Marketing", JobLevel.HEAD),
        ("VP Sales", JobLevel.EXECUTIVE),
        ("Director of Engineering", JobLevel.HEAD),
        ("Marketing Manager", JobLevel.MANAGER),
        ("Software Engineer", JobLevel.STAFF),
        ("Product Owner", JobLevel.MANAGER),
        ("Owner", JobLevel.EXECUTIVE),
        ("Chief Marketing Officer", JobLevel.EXECUTIVE),
        ("cto", JobLevel.EXECUTIVE),
        ("Vice-President, Partnerships", JobLevel.EXECUTIVE),
        ("Managing Director", JobLevel.EXECUTIVE),
        ("Team Leader, Support", JobLevel.MANAGER),
        ("Head of Sales Manager", JobLevel.HEAD),
    ],
)
def test_english_titles_are_read_by_their_keywords(title: str, level: JobLevel) -> None:
    assert job_level_from_title(title) is level


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("마케팅팀 과장", JobLevel.MANAGER),
        ("영업본부장", JobLevel.HEAD),
        ("마케팅팀장", JobLevel.HEAD),
        ("개발팀 대리", JobLevel.STAFF),
        ("인사팀 사원", JobLevel.STAFF),
        ("대표이사", JobLevel.EXECUTIVE),
        ("영업부사장", JobLevel.EXECUTIVE),
        ("Founder & CEO", JobLevel.EXECUTIVE),
    ],
)
def test_a_rank_inside_a_longer_title_is_found(title: str, level: JobLevel) -> None:
    assert job_level_from_title(title) is level


@pytest.mark.parametrize("title", [None, "", "   ", "\t\n"])
def test_a_blank_title_has_no_level(title: str | None) -> None:
    assert job_level_from_title(title) is None


def test_any_other_title_is_staff() -> None:
    assert job_level_from_title("Data Analyst") is JobLevel.STAFF
    assert job_level_from_title("디자이너") is JobLevel.STAFF


def test_levels_are_stored_as_their_lower_case_names() -> None:
    assert [level.value for level in JobLevel] == ["staff", "manager", "head", "executive"]
