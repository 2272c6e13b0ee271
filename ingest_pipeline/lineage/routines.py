"""Routine definitions in `;`-terminated dialects: where a body starts and how it is walked.

A CREATE [OR REPLACE] PROCEDURE | FUNCTION | TRIGGER | PACKAGE [BODY] | TYPE BODY statement is a
header (a statement that defines the routine) followed by a body whose statements belong to it:

* an inline block (`BEGIN ... END`, `DECLARE ... BEGIN ... END`: BigQuery, MySQL, Databricks,
  Snowflake, Oracle triggers);
* a PL/SQL body after `IS|AS`: a declaration section (cursors, nested procedures and functions,
  which in a package are named `package.member`) then `BEGIN ... END`;
* a body in a string (`AS $$ ... $$`, `AS '...'`: PostgreSQL, Redshift, Snowflake), walked when
  its LANGUAGE is SQL, PL/pgSQL or (Snowflake's default) unnamed; JavaScript, Python and the like
  are not SQL and are left alone;
* a SQL-function body after `RETURN` (Databricks, PostgreSQL);
* none (`AS (expr)`, `AS 'java.class'`): then the whole statement is parsed as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest_pipeline.lineage.model import TableRef
from ingest_pipeline.lineage.pieces import L_PAREN, SEMICOLON, STRINGS

if TYPE_CHECKING:
    from ingest_pipeline.lineage.blocks import BlockWalker

_ROUTINE_KINDS = {"PROCEDURE": "PROCEDURE", "PROC": "PROCEDURE", "FUNCTION": "FUNCTION", "TRIGGER": "TRIGGER", "PACKAGE": "PACKAGE", "TYPE": "TYPE"}
_MODIFIERS = frozenset({"EDITIONABLE", "NONEDITIONABLE", "TEMP", "TEMPORARY", "SECURE", "AGGREGATE", "CONSTRAINT", "EXTERNAL"})
_SQL_LANGUAGES = frozenset({"SQL", "PLPGSQL", "PLSQL"})
# Words before PROCEDURE / FUNCTION in an Oracle object type body.
_MEMBER_PREFIXES = frozenset({"MEMBER", "STATIC", "CONSTRUCTOR", "MAP", "ORDER", "OVERRIDING", "FINAL", "INSTANTIABLE", "NOT"})


class RoutineBodies:
    """The routine part of BlockWalker (a mixin: it walks with the block walker's own methods)."""

    def declarations(self, index: int, stops: frozenset[str]) -> int:
        """A declaration section: cursors and initialised variables with queries are read, nested
        subprograms (PL/SQL) are walked, everything else is skipped."""
        words = self.words
        while index < self.size and words[index] not in stops:
            while index + 1 < self.size and words[index] in _MEMBER_PREFIXES:
                index += 1
            if words[index] in ("PROCEDURE", "FUNCTION"):
                index = self._subprogram(index)
                continue
            end = self.statement_end(index)
            if words[index] not in ("PRAGMA", "TYPE", "SUBTYPE"):
                self.query(index, end, "DECLARE")
            index = end + 1
        return index

    def _subprogram(self, index: int) -> int:
        """A PL/SQL procedure or function inside a package body or declaration section."""
        name_end = self.name_end(index + 1)
        body = self.find_word(name_end, ("IS", "AS"))
        end = self.statement_end(index)
        if body is None or body > end or (body + 1 < self.size and self.words[body + 1] in ("LANGUAGE", "EXTERNAL")):
            return end + 1
        name = self.routine_name(index + 1, name_end)
        return self._with_routine(_member(self.routine, name), lambda: self._is_body(body + 1))

    def _is_body(self, index: int) -> int:
        after = self.declarations(index, frozenset({"BEGIN", "END"}))
        if after < self.size and self.words[after] == "BEGIN":
            return self._block(after + 1)
        return self._end(after)

    def _with_routine(self: BlockWalker, routine: TableRef | None, body: Callable[[], int]) -> int:
        saved = (self.routine, self.procedural)
        self.routine, self.procedural = routine, True
        try:
            return body()
        finally:
            self.routine, self.procedural = saved

    def _do(self, index: int, stops: frozenset[str]) -> int | None:
        """PostgreSQL `DO [LANGUAGE x] $$ ... $$`: an anonymous PL/pgSQL block."""
        end = self.statement_end(index)
        body = next((i for i in range(index + 1, end) if self.tokens[i].token_type in STRINGS), None)
        if body is None:
            return None
        if self._language(index, end) in (None, "PLPGSQL"):
            text, offset = self.body_text(self.tokens[body])
            self.nested_walk(text, offset, type(self), self.routine, body)
        return end + 1

    def _create(self, index: int, stops: frozenset[str]) -> int | None:
        header = _routine_header(self.words, index)
        if header is None:
            return None
        kind, name_start = header
        name_end = self.name_end(name_start)
        routine = self.routine_name(name_start, name_end)
        body = self._body_start(name_end)
        if body is None:
            return None
        start, form = body
        self.emit(index, start, f"{self.words[index]}_{kind}", defines=routine)
        if form == "string":
            return self._string_body(index, start, routine)
        if form == "return":
            end = self.statement_end(start)
            self._with_routine(routine, lambda: self.condition(start + 1, end, "RETURN"))
            return end + 1
        if form == "is":
            if start + 1 < self.size and self.words[start + 1] in ("LANGUAGE", "EXTERNAL"):
                return self.statement_end(start) + 1
            return self._with_routine(routine, lambda: self._is_body(start + 1))
        return self._with_routine(routine, lambda: self.statement(start, frozenset()))

    def _body_start(self, index: int) -> tuple[int, str] | None:
        """Where a routine's body starts and its form: 'block' (BEGIN / DECLARE), 'is' (PL/SQL),
        'string' (a quoted body), 'return' (a SQL-function body); None for no body."""
        tokens, words = self.tokens, self.words
        for position in self.top_level(index):
            if tokens[position].token_type is SEMICOLON:
                return None
            word = words[position]
            if word in ("BEGIN", "DECLARE"):
                return position, "block"
            if word == "RETURN" and not self.profile.is_body:
                return position, "return"
            if word in ("IS", "AS"):
                following = tokens[position + 1] if position + 1 < self.size else None
                if following is not None and following.token_type in STRINGS:
                    return position + 1, "string"
                if self.profile.is_body:
                    return position, "is"
                if following is not None and following.token_type is L_PAREN:
                    return None
        return None

    def _string_body(self, statement: int, index: int, routine: TableRef | None) -> int:
        """A body in a string (`AS $$ ... $$`, `AS '...'`): walked when its language is SQL."""
        end = self.statement_end(index)
        text, offset = self.body_text(self.tokens[index])
        language = self._language(statement, end) or self.profile.default_language
        if language is None and _first_word(text) in ("BEGIN", "DECLARE"):
            language = "PLPGSQL"
        if language in _SQL_LANGUAGES:
            self.nested_walk(text, offset, type(self), routine, index)
        return end + 1

    def _language(self, start: int, end: int) -> str | None:
        """The LANGUAGE a routine statement [start, end) names, before or after its body."""
        for position in range(start, end - 1):
            if self.words[position] == "LANGUAGE":
                return self.tokens[position + 1].text.upper()
        return None


def _routine_header(words: list[str], index: int) -> tuple[str, int] | None:
    """(routine kind, index of its name) for CREATE [OR REPLACE|ALTER] [modifiers] KIND [BODY] name."""
    position = index + 1
    size = len(words)
    if position + 1 < size and words[position] == "OR":
        position += 2
    while position < size and (words[position] in _MODIFIERS or words[position] == "DEFINER"):
        if words[position] == "DEFINER":
            position = next((p for p in range(position, min(size, position + 8)) if words[p] in _ROUTINE_KINDS), size)
            continue
        position += 1
    kind = _ROUTINE_KINDS.get(words[position]) if position < size else None
    if kind is None:
        return None
    position += 1
    if position < size and words[position] == "BODY":
        position += 1
    elif kind == "TYPE":
        return None
    if position + 2 < size and words[position] == "IF" and words[position + 1] == "NOT":
        position += 3
    return (kind, position) if position < size else None


def _first_word(text: str) -> str:
    words = text.split(None, 1)
    return words[0].upper() if words else ""


def _member(owner: TableRef | None, name: TableRef | None) -> TableRef | None:
    """`pkg.proc` for a procedure declared inside package `pkg` (schema.pkg.proc when qualified)."""
    if name is None or owner is None or name.db:
        return name
    return TableRef(owner.db, owner.name, name.name)
