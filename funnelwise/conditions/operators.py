"""The words of the condition language: comparison operators, event counts and aggregations."""

from enum import StrEnum


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    WITHIN_LAST_DAYS = "within_last_days"
    MORE_THAN_DAYS_AGO = "more_than_days_ago"
    DAYS_AGO = "days_ago"
    ANNIVERSARY_TODAY = "anniversary_today"


# A negative operator is exactly NOT of its positive twin, so a missing value matches it.
NEGATIONS: dict[Operator, Operator] = {
    Operator.NOT_EQUALS: Operator.EQUALS,
    Operator.NOT_IN: Operator.IN,
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.IS_NOT_SET: Operator.IS_SET,
}
TEXT_ONLY = frozenset({Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.STARTS_WITH})
ORDERING = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE, Operator.BETWEEN})
RELATIVE_DAYS = frozenset({Operator.WITHIN_LAST_DAYS, Operator.MORE_THAN_DAYS_AGO, Operator.DAYS_AGO})
WITHOUT_VALUE = frozenset({Operator.IS_SET, Operator.IS_NOT_SET, Operator.ANNIVERSARY_TODAY})
# What a moment (an event's first or last time) can be asked.
TIME_OPERATORS = frozenset({Operator.EQUALS, Operator.NOT_EQUALS, *ORDERING, *RELATIVE_DAYS})
# What a number computed from events (an aggregate) can be asked.
NUMBER_OPERATORS = frozenset({Operator.EQUALS, Operator.NOT_EQUALS, *ORDERING})


class Performed(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    EXACTLY = "exactly"
    NEVER = "never"


class Aggregation(StrEnum):
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"
