"""What both script walkers share: emitting pieces, finding words at nesting depth 0, dynamic SQL.

A walker reads one batch's tokens front to back and never raises on malformed input: when the
structure it expects is missing it falls back to treating tokens as a plain statement.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from contextlib import contextmanager

from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage.model import TableRef
from ingest_pipeline.lineage.pieces import L_PAREN, R_PAREN, SEMICOLON, STRINGS, Batch, Piece, start_line

# Deeper block nesting than this is read as plain statements (protects the Python stack).
MAX_BLOCK_DEPTH = 64
QUERY_WORDS = frozenset({"SELECT", "WITH"})
_CONCAT = frozenset({TokenType.DPIPE, TokenType.PLUS})
_DOLLAR_TAG = re.compile(r"^\$(\w*)\$(.*)\$\1\$$", re.DOTALL)
_NAME_TYPES = frozenset({TokenType.VAR, TokenType.IDENTIFIER})


class Walker:
    """Base of the T-SQL and the `;`-terminated walkers: one batch in, pieces out."""

    def __init__(self, batch: Batch, routine: TableRef | None = None, procedural: bool = False, depth: int = 0) -> None:
        self.batch = batch
        self.tokens = batch.tokens
        self.words = batch.words
        self.size = len(batch.tokens)
        self.routine = routine
        self.procedural = procedural
        self.depth = depth
        self.trigger_table: TableRef | None = None
        self.pieces: list[Piece] = []

    # -- emitting -----------------------------------------------------------------------------

    def emit(self, start: int, end: int, kind: str | None = None, query: bool = False, **extra: object) -> None:
        if start >= end:
            return
        self.pieces.append(
            Piece(
                self.tokens[start:end],
                self.batch.sql,
                self.batch.line_offset,
                routine=self.routine,
                kind=kind,
                query=query,
                procedural=self.procedural,
                trigger_table=self.trigger_table,
                **extra,  # type: ignore[arg-type]
            )
        )

    def recognised(self, start: int, end: int, kind: str) -> None:
        """A procedural statement [start, end): the queries in it (if any) are read, otherwise it
        is recorded as is. Several queries (`DECLARE @a INT = (SELECT ...), @b INT = (SELECT ...)`)
        are read as one `SELECT (q1), (q2)`."""
        spans = []
        position = start
        while (span := self.query_span(position, end)) is not None:
            spans.append(span)
            position = span[1]
        if not spans:
            self.emit(start, end, kind)
        elif len(spans) == 1:
            self.emit(spans[0][0], spans[0][1], kind, query=True, anchor=self.tokens[start])
        else:
            self.pieces.append(
                Piece(
                    _parenthesised(self.tokens, spans), self.batch.sql, self.batch.line_offset, routine=self.routine,
                    kind=kind, query=True, procedural=self.procedural, anchor=self.tokens[start],
                    trigger_table=self.trigger_table,
                )  # fmt: skip
            )

    def query(self, start: int, end: int, kind: str) -> None:
        """A declaration [start, end) whose value is a query (a cursor, an initialised variable)."""
        span = self.query_span(start, end)
        if span is not None:
            self.emit(span[0], span[1], kind, query=True, anchor=self.tokens[start])

    def condition(self, start: int, end: int, kind: str, anchor: int | None = None) -> None:
        """A control-flow condition becomes a statement only when it reads tables (has a query)."""
        span = self.query_span(start, end)
        if span is not None:
            at = self.tokens[start - 1 if anchor is None else anchor]
            self.emit(start, end, kind, query=True, anchor=at)

    def error(self, start: int, message: str) -> None:
        token = self.tokens[min(start, self.size - 1)] if self.size else None
        self.pieces.append(
            Piece([token] if token else [], self.batch.sql, self.batch.line_offset, routine=self.routine, error=message)
        )

    def nested_walk(self, text: str, line_offset: int, walker: type[Walker], routine: TableRef | None, at: int) -> None:
        """Walk text found inside this batch (a routine body in a string) with its own tokens."""
        try:
            batch = self.batch.nested(text, line_offset)
        except Exception as error:  # noqa: BLE001 - a body that does not tokenize is recorded, not raised
            self.error(at, f"routine body could not be tokenized: {str(error).splitlines()[0][:300]}")
            return
        inner = walker(batch, routine=routine, procedural=True, depth=self.depth + 1)
        self.pieces.extend(inner.walk())

    def walk(self) -> list[Piece]:  # pragma: no cover - implemented by the walkers
        raise NotImplementedError

    # -- scanning -----------------------------------------------------------------------------

    def statement_end(self, start: int) -> int:
        """Index of the `;` ending the statement that starts at `start` (or the batch end). A `;`
        always ends a statement, also inside an unclosed parenthesis."""
        tokens = self.tokens
        for index in range(start, self.size):
            if tokens[index].token_type is SEMICOLON:
                return index
        return self.size

    def top_level(self, start: int, end: int | None = None) -> Iterator[int]:
        """Positions of the tokens at parenthesis depth 0 and outside CASE ... END, from `start` up
        to `end` or to the first `;` (which is yielded last)."""
        tokens, words = self.tokens, self.words
        depth = cases = 0
        for position in range(start, self.size if end is None else end):
            token_type = tokens[position].token_type
            if token_type is SEMICOLON:
                yield position
                return
            if token_type is L_PAREN:
                depth += 1
            elif token_type is R_PAREN:
                depth -= 1
            elif depth <= 0 and not self.is_qualified(position):
                word = words[position]
                if word == "CASE":
                    cases += 1
                elif word == "END" and cases:
                    cases -= 1
                elif not cases:
                    yield position

    def is_qualified(self, position: int) -> bool:
        """Whether the token is part of a dotted name (`ds.end`, `loop.x`): then it is no keyword."""
        tokens = self.tokens
        return (position > 0 and tokens[position - 1].token_type is TokenType.DOT) or (
            position + 1 < self.size and tokens[position + 1].token_type is TokenType.DOT
        )

    def find_word(self, start: int, targets: Container[str], end: int | None = None) -> int | None:
        """First index of a target word at depth 0 outside CASE ... END, before `;` (or `end`)."""
        for position in self.top_level(start, end):
            if self.tokens[position].token_type is SEMICOLON:
                return None
            if self.words[position] in targets:
                return position
        return None

    @contextmanager
    def deeper(self) -> Iterator[None]:
        """One block level further in (see MAX_BLOCK_DEPTH); inside a block the code is procedural."""
        saved = self.procedural
        self.depth += 1
        self.procedural = True
        try:
            yield
        finally:
            self.depth -= 1
            self.procedural = saved

    def query_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The query inside tokens [start, end): from its first SELECT / WITH to where its
        parenthesis closes (or `end`); None when there is none."""
        first = next((i for i in range(start, end) if self.starts_query(i)), None)
        if first is None:
            return None
        outer = 0
        for index in range(start, first):
            token_type = self.tokens[index].token_type
            outer += 1 if token_type is L_PAREN else -1 if token_type is R_PAREN else 0
        if outer <= 0:
            return first, end
        depth = 0
        for index in range(first, end):
            token_type = self.tokens[index].token_type
            if token_type is L_PAREN:
                depth += 1
            elif token_type is R_PAREN:
                depth -= 1
                if depth < 0:
                    return first, index
        return first, end

    def starts_query(self, index: int) -> bool:
        """SELECT, or a WITH that opens a CTE list (`WITH name AS (`, `WITH name (`, `WITH RECURSIVE`)."""
        word = self.words[index]
        if word == "SELECT":
            return True
        if word != "WITH" or index + 2 >= self.size:
            return False
        name, after = self.tokens[index + 1], self.words[index + 2]
        return self.words[index + 1] == "RECURSIVE" or (
            name.token_type in _NAME_TYPES and (after == "AS" or self.tokens[index + 2].token_type is L_PAREN)
        )

    def name_end(self, start: int) -> int:
        """End of a dotted name starting at `start` (`a`, `a.b`, `[a].[b].c`)."""
        index = start + 1
        while index + 1 < self.size and self.tokens[index].token_type is TokenType.DOT:
            index += 2
        return min(index, self.size)

    def routine_name(self, start: int, end: int) -> TableRef | None:
        return self.batch.routine_ref(self.tokens[start:end]) if start < end else None

    def is_bare_call(self, start: int, end: int) -> int | None:
        """End of the name when tokens [start, end) are `name[.name]* [( ... )]` (a procedure call)."""
        if start >= end or self.tokens[start].token_type not in _NAME_TYPES:
            return None
        name_end = self.name_end(start)
        if name_end > end:
            return None
        if name_end == end:
            return name_end
        if self.tokens[name_end].token_type is L_PAREN and self.tokens[end - 1].token_type is R_PAREN:
            return name_end
        return None

    # -- dynamic SQL --------------------------------------------------------------------------

    def literal_text(self, start: int, end: int) -> str | None:
        """The text of `'a' || 'b'` / `N'a' + 'b'` / `$$a$$` when tokens [start, end) are only string
        literals joined by concatenation, else None."""
        parts: list[str] = []
        expect_literal = True
        for index in range(start, end):
            token = self.tokens[index]
            if expect_literal and token.token_type in STRINGS:
                parts.append(_undollar(token.text))
            elif not expect_literal and token.token_type in _CONCAT:
                pass
            else:
                return None
            expect_literal = not expect_literal
        return "".join(parts) if parts and not expect_literal else None

    def dynamic(self, start: int, argument: int, end: int) -> None:
        """Dynamic SQL: its literal text is analysed later; a text built at run time is recorded."""
        text = self.literal_text(argument, end)
        if text is None:
            self.emit(start, end if end > start else start + 1, "DYNAMIC_SQL")
            return
        offset = start_line(self.tokens[argument]) + self.batch.line_offset - 1
        self.emit(start, end, "EXECUTE_IMMEDIATE", dynamic=text, dynamic_offset=offset)

    def body_text(self, token: Token) -> tuple[str, int]:
        """A string token's content and the number of file lines before the line it starts on."""
        return _undollar(token.text), start_line(token) + self.batch.line_offset - 1


def _parenthesised(tokens: list[Token], spans: list[tuple[int, int]]) -> list[Token]:
    """`(q1), (q2), ...` from the tokens of several query spans (synthetic parentheses and commas)."""
    joined: list[Token] = []
    for first, end in spans:
        anchor = tokens[first]
        if joined:
            joined.append(Token(TokenType.COMMA, ",", anchor.line, anchor.col, anchor.start, anchor.start))
        joined.append(Token(TokenType.L_PAREN, "(", anchor.line, anchor.col, anchor.start, anchor.start))
        joined.extend(tokens[first:end])
        last = tokens[end - 1]
        joined.append(Token(TokenType.R_PAREN, ")", last.line, last.col, last.end, last.end))
    return joined


def _undollar(text: str) -> str:
    """`$tag$ body $tag$` as some tokenizers leave it -> ` body `."""
    if text.startswith("$"):
        match = _DOLLAR_TAG.match(text)
        if match:
            return match.group(2)
    return text
