"""Reading one value in SQL, the same way on SQLite and PostgreSQL: a column, or a key of a JSON document.

JSON values are read by type, so a number is compared as a number, text as text and a boolean as a
boolean; a value of another type is simply not what the comparison asks for. Keys and values are
always bound parameters.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Numeric, String, and_, case, cast, exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SQLITE_TYPES = {"text": ("text",), "number": ("integer", "real"), "array": ("array",)}
_POSTGRES_TYPES = {"text": ("string",), "number": ("number",), "array": ("array",)}


def fold(text: Any, dialect: str) -> ColumnElement[str]:
    """SQL text with A-Z in lower case and nothing else changed, as `predicates.fold` does."""
    if dialect == "postgresql":
        # lower() on PostgreSQL folds every script by the database's locale; SQLite's only A-Z.
        return func.translate(text, _UPPER, _UPPER.lower())
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

    def any_text_element(self, test: Any) -> ColumnElement[bool]:
        """Some text element of a JSON list passes `test` (a function of SQL text)."""
        if self._postgres:
            array = self.document.op("->")(literal(self.key, String))
            length = case((self.is_type("array"), func.jsonb_array_length(array)), else_=0)
            index = (
                func.generate_series(0, length - 1).table_valued("value").render_derived(name="element_index")
            )
            position = cast(index.c.value, Integer)
            element_type = func.jsonb_typeof(array.op("->")(position))
            element = array.op("->>", return_type=String)(position)
            return exists(select(1).select_from(index).where(element_type == "string", test(element)))
        elements = func.json_each(self.document, self._path()).table_valued("type", "value").alias("element")
        return exists(
            select(1).select_from(elements).where(elements.c.type == "text", test(elements.c.value))
        )
