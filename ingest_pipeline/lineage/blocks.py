"""`;`-terminated scripts and their procedural blocks, for every dialect but T-SQL.

Covers PL/SQL (`IS|AS ... BEGIN ... EXCEPTION ... END;`, packages, cursors, `FORALL`), PL/pgSQL
(`$$ ... $$` bodies, `DO` blocks, `PERFORM`, `RETURN QUERY`), BigQuery and Snowflake scripting
(`DECLARE`, `IF ... END IF`, `LOOP`, `WHILE ... DO`, `FOR ... IN (query) DO`, `REPEAT ... UNTIL`,
`EXECUTE IMMEDIATE`), MySQL and Databricks compound statements.

Control flow is structure, not statements: every statement inside IF / ELSE branches, loops and
exception handlers is emitted, each with its own line; a condition becomes a statement only
when it reads a table. Statements outside any block take the fast path: tokens to the next `;`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from ingest_pipeline.lineage.pieces import L_PAREN, R_PAREN, SEMICOLON, STRINGS, Piece
from ingest_pipeline.lineage.routines import RoutineBodies
from ingest_pipeline.lineage.walker import MAX_BLOCK_DEPTH, Walker

_TRANSACTION = frozenset({"TRANSACTION", "TRAN", "WORK", "ISOLATION", "READ", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "DISTRIBUTED", "NAME"})
_END_CLOSERS = frozenset({"IF", "LOOP", "WHILE", "FOR", "REPEAT", "CASE"})
_LOOP_STARTS = frozenset({"BEGIN", "LOOP", "WHILE", "REPEAT", "FOR"})
# Procedural statements recorded under their own keyword (their query, if any, is read).
_LEAVES = frozenset(
    {"NULL", "RAISE", "EXIT", "CONTINUE", "LEAVE", "ITERATE", "BREAK", "FETCH", "CLOSE", "GET", "GOTO", "PIPE",
     "SIGNAL", "RESIGNAL", "ASSERT", "RETURN", "OPEN", "LET", "PERFORM"}
)
_ASSIGN = TokenType.COLON_EQ


@dataclass(frozen=True)
class Profile:
    """How a dialect's procedural language differs from the others."""

    # DECLARE opens a declaration section closed by BEGIN (not a statement of its own) ...
    declare_section: bool = False
    # ... also outside a routine body (anonymous blocks).
    top_level_declare_section: bool = False
    # `IS|AS` starts a routine body with a declaration section (PL/SQL).
    is_body: bool = False
    # `pkg.proc(args);` alone is a procedure call (PL/SQL).
    bare_calls: bool = False
    # `EXECUTE <expr>` inside a body is dynamic SQL (PL/pgSQL).
    execute_dynamic: bool = False
    # `x = expr;` inside a body is an assignment (PL/pgSQL).
    equals_assigns: bool = False
    # Language of a string routine body that names none.
    default_language: str | None = None


_PROFILES = {
    "Oracle": Profile(declare_section=True, top_level_declare_section=True, is_body=True, bare_calls=True),
    "Postgres": Profile(declare_section=True, execute_dynamic=True, equals_assigns=True),
    "Snowflake": Profile(declare_section=True, top_level_declare_section=True, default_language="SQL"),
}


def profile_of(dialect: Dialect) -> Profile:
    for cls in type(dialect).__mro__:
        profile = _PROFILES.get(cls.__name__)
        if profile is not None:
            return profile
    return Profile()


class BlockWalker(RoutineBodies, Walker):
    """Pieces of one `;`-terminated batch, descending into procedural blocks and routine bodies."""

    profile: Profile = Profile()

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> type[BlockWalker]:
        walker = _WALKERS.get(type(dialect))
        if walker is None:
            walker = type(f"{cls.__name__}For{type(dialect).__name__}", (cls,), {"profile": profile_of(dialect)})
            _WALKERS[type(dialect)] = walker
        return walker

    def walk(self) -> list[Piece]:
        index = 0
        while index < self.size:
            index = self.statement(index, frozenset())
        return self.pieces

    def items(self, index: int, stops: frozenset[str]) -> int:
        """Statements up to (not including) a stop word at a statement start."""
        words = self.words
        while index < self.size and words[index] not in stops:
            index = self.statement(index, stops)
        return index

    def statement(self, index: int, stops: frozenset[str]) -> int:
        """Emit the statement starting at `index`; the index after it."""
        token = self.tokens[index]
        if token.token_type is SEMICOLON:
            return index + 1
        word = self.words[index]
        if self.depth >= MAX_BLOCK_DEPTH and word in _STARTERS:
            end = self.statement_end(index)
            self.error(index, f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels are not analysed")
            return end + 1
        if self.depth < MAX_BLOCK_DEPTH:
            label_end = self._label_end(index)
            if label_end is not None:
                return label_end
            starter = _STARTERS.get(word)
            if starter is not None:
                after = starter(self, index, stops)
                if after is not None:
                    return after
            if self.procedural:
                after = self._procedural(index, word)
                if after is not None:
                    return after
        return self._plain(index, stops)

    # -- plain statements ---------------------------------------------------------------------

    def _plain(self, index: int, stops: frozenset[str]) -> int:
        if stops:
            end = self._block_statement_end(index, stops)
            self.emit(index, end)
        else:
            end, deepest = self._plain_end(index)
            self.emit(index, end, deepest=deepest)
        return end + 1 if end < self.size and self.tokens[end].token_type is SEMICOLON else max(end, index + 1)

    def _plain_end(self, index: int) -> tuple[int, int]:
        """The statement's `;` (or the batch end) and its deepest nesting, in one pass (the hot path)."""
        tokens = self.tokens
        depth = deepest = 0
        for position in range(index, self.size):
            token_type = tokens[position].token_type
            if token_type is L_PAREN:
                depth += 1
                if depth > deepest:
                    deepest = depth
            elif token_type is R_PAREN:
                depth -= 1
            elif token_type is SEMICOLON:
                return position, deepest
        return self.size, deepest

    def _block_statement_end(self, index: int, stops: frozenset[str]) -> int:
        """Inside a block a missing `;` before the block's END must not swallow the END."""
        found = self.find_word(index + 1, stops)
        end = self.statement_end(index)
        return end if found is None or found > end else found

    def _procedural(self, index: int, word: str) -> int | None:
        end = self.statement_end(index)
        if word == "PERFORM":
            self.emit(index + 1, end, word, query=True, anchor=self.tokens[index])
            return end + 1
        if word in _LEAVES:
            self.recognised(index, end, "ASSIGN" if word == "LET" else word)
            return end + 1
        tokens = self.tokens
        if self._assignment(index, end) is not None:
            self.recognised(index, end, "ASSIGN")
            return end + 1
        if self.profile.bare_calls:
            call_end = self.is_bare_call(index, end)
            if call_end is not None and tokens[index].token_type is not TokenType.SELECT:
                self.emit(index, end, "CALL", call=self.routine_name(index, call_end))
                return end + 1
        return None

    def _assignment(self, index: int, end: int) -> int | None:
        """Index of `:=` (or PL/pgSQL `=`) when the statement is `target := expr`."""
        position = index
        tokens = self.tokens
        if tokens[position].token_type not in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.PARAMETER):
            return None
        depth = 0
        while position < end:
            token_type = tokens[position].token_type
            if token_type is L_PAREN:
                depth += 1
            elif token_type is R_PAREN:
                depth -= 1
            elif depth == 0 and (token_type is _ASSIGN or (token_type is TokenType.EQ and self.profile.equals_assigns)):
                return position
            elif depth == 0 and token_type not in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.DOT, TokenType.PARAMETER):
                return None
            position += 1
        return None

    def _label_end(self, index: int) -> int | None:
        """`label: BEGIN|LOOP|...` and `<<label>>` are skipped."""
        tokens = self.tokens
        if (
            index + 2 < self.size
            and tokens[index + 1].token_type is TokenType.COLON
            and tokens[index].token_type not in STRINGS
            and self.words[index + 2] in _LOOP_STARTS
        ):
            return index + 2
        if (
            index + 4 < self.size
            and tokens[index].token_type is TokenType.LT
            and tokens[index + 1].token_type is TokenType.LT
            and tokens[index + 3].token_type is TokenType.GT
            and tokens[index + 4].token_type is TokenType.GT
        ):
            return index + 5
        return None

    # -- blocks -------------------------------------------------------------------------------

    def _begin(self, index: int, stops: frozenset[str]) -> int | None:
        following = self.words[index + 1] if index + 1 < self.size else ""
        if index + 1 >= self.size or following in _TRANSACTION or self.tokens[index + 1].token_type is SEMICOLON:
            return None
        start = index + 2 if following == "ATOMIC" else index + 1
        return self._block(start)

    def _block(self, index: int) -> int:
        with self.deeper():
            index = self.items(index, frozenset({"END", "EXCEPTION"}))
            if index < self.size and self.words[index] == "EXCEPTION":
                index = self._handlers(index + 1)
        return self._end(index)

    def _handlers(self, index: int) -> int:
        while index < self.size and self.words[index] == "WHEN":
            then = self.find_word(index + 1, ("THEN",))
            if then is None:
                return self.statement_end(index) + 1
            index = self.items(then + 1, frozenset({"WHEN", "END"}))
        return index

    def _end(self, index: int) -> int:
        """Consume `END [IF|LOOP|...] [label] [;]`."""
        if index >= self.size or self.words[index] != "END":
            return index
        index += 1
        if index < self.size and self.words[index] in _END_CLOSERS:
            index += 1
        if (
            index < self.size
            and self.tokens[index].token_type is not SEMICOLON
            and (index + 1 >= self.size or self.tokens[index + 1].token_type is SEMICOLON)
        ):
            index += 1  # END <label>;
        if index < self.size and self.tokens[index].token_type is SEMICOLON:
            index += 1
        return index

    def _declare(self, index: int, stops: frozenset[str]) -> int | None:
        if index + 1 < self.size and self.words[index + 1] == "GLOBAL":
            return None  # DECLARE GLOBAL TEMPORARY TABLE: a statement, parsed as such
        profile = self.profile
        if profile.declare_section and (self.procedural or profile.top_level_declare_section):
            after = self.declarations(index + 1, frozenset({"BEGIN"}))
            if after < self.size and self.words[after] == "BEGIN":
                return self._block(after + 1)
            return after
        end = self.statement_end(index)
        self.recognised(index, end, "DECLARE")
        return end + 1

    # -- control flow -------------------------------------------------------------------------

    def _if(self, index: int, stops: frozenset[str]) -> int | None:
        then = self.find_word(index + 1, ("THEN",))
        if then is None:
            return None
        self.condition(index + 1, then, "IF")
        return self._branches(then, ("ELSIF", "ELSEIF"), "THEN", "IF")

    def _branches(self, first: int, keys: tuple[str, ...], separator: str, kind: str) -> int:
        """IF / CASE bodies: `<key> <condition> <separator> statements`, repeated, then ELSE, then END."""
        stops = frozenset({*keys, "ELSE", "END"})
        with self.deeper():
            position = self.items(first + 1, stops)
            while position < self.size and self.words[position] in keys:
                then = self.find_word(position + 1, (separator,))
                if then is None:
                    break
                self.condition(position + 1, then, kind)
                position = self.items(then + 1, stops)
            if position < self.size and self.words[position] == "ELSE":
                position = self.items(position + 1, frozenset({"END"}))
        return self._end(position)

    def _case(self, index: int, stops: frozenset[str]) -> int | None:
        when = self.find_word(index + 1, ("WHEN",))
        if when is None:
            return None
        self.condition(index + 1, when, "CASE")
        return self._branches(when - 1, ("WHEN",), "THEN", "CASE")

    def _loop(self, index: int, stops: frozenset[str]) -> int | None:
        return self._loop_body(index + 1)

    def _loop_body(self, index: int) -> int:
        with self.deeper():
            index = self.items(index, frozenset({"END"}))
        return self._end(index)

    def _while(self, index: int, stops: frozenset[str]) -> int | None:
        body = self.find_word(index + 1, ("LOOP", "DO"))
        if body is None:
            return None
        self.condition(index + 1, body, "WHILE", anchor=index)
        return self._loop_body(body + 1)

    def _for(self, index: int, stops: frozenset[str]) -> int | None:
        body = self.find_word(index + 1, ("LOOP", "DO"))
        if body is None:
            return None
        source = self.find_word(index + 1, ("IN",), body)
        if source is not None:
            self.condition(source + 1, body, "FOR", anchor=index)
        return self._loop_body(body + 1)

    def _forall(self, index: int, stops: frozenset[str]) -> int | None:
        dml = self.find_word(index + 1, ("INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE"))
        return None if dml is None else self.statement(dml, stops)

    def _repeat(self, index: int, stops: frozenset[str]) -> int | None:
        with self.deeper():
            position = self.items(index + 1, frozenset({"UNTIL", "END"}))
        if position < self.size and self.words[position] == "UNTIL":
            end = self.find_word(position + 1, ("END",))
            end = self.statement_end(position) if end is None else end
            self.condition(position + 1, end, "REPEAT")
            position = end
        return self._end(position)

    # -- dynamic SQL and calls ----------------------------------------------------------------

    def _execute(self, index: int, stops: frozenset[str]) -> int | None:
        end = self.statement_end(index)
        following = self.words[index + 1] if index + 1 < self.size else ""
        if following == "IMMEDIATE" or (self.profile.execute_dynamic and self.procedural):
            argument = index + 2 if following == "IMMEDIATE" else index + 1
            stop = self.find_word(argument, ("INTO", "USING"), end)
            self.dynamic(index, argument, end if stop is None else stop)
            return end + 1
        if self.profile.bare_calls:
            call_end = self.is_bare_call(index + 1, end)
            if call_end is not None:
                self.emit(index, end, "CALL", call=self.routine_name(index + 1, call_end))
                return end + 1
        return None

_WALKERS: dict[type, type[BlockWalker]] = {}
_STARTERS = {
    "BEGIN": BlockWalker._begin,
    "DECLARE": BlockWalker._declare,
    "IF": BlockWalker._if,
    "CASE": BlockWalker._case,
    "LOOP": BlockWalker._loop,
    "WHILE": BlockWalker._while,
    "FOR": BlockWalker._for,
    "FORALL": BlockWalker._forall,
    "REPEAT": BlockWalker._repeat,
    "EXECUTE": BlockWalker._execute,
    "EXEC": BlockWalker._execute,
    "CREATE": BlockWalker._create,
    "ALTER": BlockWalker._create,
    "DO": BlockWalker._do,
}
