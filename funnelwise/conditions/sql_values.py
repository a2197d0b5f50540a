"""Reading one value in SQL, the same way on SQLite and PostgreSQL: a column, or a key of a JSON document.

JSON values are read by type, so a number is compared as a number, text as text and a boolean as a
boolean; a value of another type is simply not what the comparison asks for. Keys and values are
always bound parameters.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Numeric, String, and_, bindparam, case, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

_SQLITE_TYPES = {"text": ("text",), "number": ("integer", "real"), "array": ("array",)}
_POSTGRES_TYPES = {"text": ("string",), "number": ("number",), "array": ("array",)}


def fold(text: Any, dialect: str) -> ColumnElement[str]:
    """SQL text with A-Z in lower case and nothing else changed, as `predicates.fold` does."""
    if dialect == "postgresql":
        # lower() folds every script by the collation's locale, except under "C", where it folds A-Z
        # alone, as SQLite's does. translate() gave the same at three times the cost.
        return func.lower(text.collate("C"))
    return func.lower(text)


def ordered(text: Any, dialect: str) -> Any:
    """Text that sorts by code point on both databases (PostgreSQL's locale may sort otherwise)."""
    return text.collate("C") if dialect == "postgresql" else text


def contains(text: Any, needle: str, dialect: str) -> ColumnElement[bool]:
    position = func.strpos(text, needle) if dialect == "postgresql" else func.instr(text, needle)
    return position > 0


@dataclass(frozen=True)
class JsonValue:
    """One key of a JSON document column."""

    document: ColumnElement[Any]
    key: str
    dialect: str

    @property
    def _postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _path(self) -> str:
        # SQLite compares a quoted label with the key as escaped in the JSON text, so a backslash is
        # doubled; a double quote would end the label, so keys with one are refused by the tree.
        escaped = self.key.replace("\\", "\\\\")
        return f'$."{escaped}"'

    def json_type(self) -> ColumnElement[str]:
        if self._postgres:
            return func.jsonb_typeof(self.document.op("->")(literal(self.key, String)))
        return func.json_type(self.document, self._path())

    def is_type(self, kind: str) -> ColumnElement[bool]:
        names = (_POSTGRES_TYPES if self._postgres else _SQLITE_TYPES)[kind]
        return self.json_type() == names[0] if len(names) == 1 else self.json_type().in_(names)

    def is_set(self) -> ColumnElement[bool]:
        """Present and not null (absent keys have no type at all, so this is NULL for them)."""
        return self.json_type() != "null"

    def text(self) -> ColumnElement[str]:
        """The value as text; meaningful where `is_type("text")` holds."""
        if self._postgres:
            return self.document.op("->>", return_type=String)(literal(self.key, String))
        return func.json_extract(self.document, self._path(), type_=String)

    def number(self) -> ColumnElement[Any]:
        """The value as a number, NULL unless it is one (PostgreSQL's cast would fail on other text)."""
        if self._postgres:
            return case((self.is_type("number"), cast(self.text(), Numeric)), else_=None)
        return case((self.is_type("number"), func.json_extract(self.document, self._path())), else_=None)

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        word = "true" if value else "false"
        if self._postgres:
            return and_(self.json_type() == "boolean", self.text() == word)
        return self.json_type() == word

    def may_hold_a_list(self) -> ColumnElement[bool]:
        """False where the key cannot hold a list: a guard cheaper than `is_type("array")`, not a test."""
        if self._postgres:
            # Containment walks the document in place; -> copies the value out first.
            return self.document.op("@>")(bindparam(None, {self.key: []}, type_=JSONB))
        # A document whose text has no "[" has no list anywhere; instr() reads no JSON.
        return func.instr(self.document, "[") > 0

    def any_text_element(self, test: Any) -> ColumnElement[bool]:
        """Some text element of a JSON list passes `test` (a function of SQL text)."""
        if self._postgres:
            return self._any_postgres_text_element(test)
        elements = func.json_each(self.document, self._path()).table_valued("type", "value").alias("element")
        return exists(
            select(1).select_from(elements).where(elements.c.type == "text", test(elements.c.value))
        )

    def _any_postgres_text_element(self, test: Any) -> ColumnElement[bool]:
        array = self.document.op("->")(literal(self.key, String))
        # The CASE keeps scalars out (they would raise); jsonb_array_elements is estimated at 100 rows
        # where generate_series over a computed length is estimated at 1,000, which made the planner
        # test this costlier than an event subquery and run it last.
        elements = (
            func.jsonb_array_elements(case((self.is_type("array"), array), else_=None))
            .table_valued("value", with_ordinality="number")
            .render_derived(name="element")
        )
        position = cast(elements.c.number - 1, Integer)
        element = array.op("->>", return_type=String)(position)
        return exists(
            select(1)
            .select_from(elements)
            .where(func.jsonb_typeof(elements.c.value) == "string", test(element))
        )
